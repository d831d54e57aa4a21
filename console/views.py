"""The requester console: server-rendered pages over the same selectors, services and
flows as the API (console/actions.py names every call that changes something). Every
page is scoped to the signed-in requester's organization: another organization's
project, endpoint or delivery is a 404; a worker account gets a 403 page."""
import json
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.enums import Role
from config.errors import ApiError
from marketplace import selectors as marketplace_selectors
from marketplace.enums import ProjectStatus, RejectionReason
from marketplace.webhooks import selectors as webhook_selectors
from payments import selectors as payments_selectors
from qa import exports

from . import actions, builder, charts, selectors
from .reviewing import assignment_views

ERROR_MESSAGE_LIMIT = 20


def requester_required(view):
    """Signed in as a requester with an organization; a worker (or staff without one) is
    told this console is not theirs. Http404 from any lookup renders the 404 page."""
    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        organization = None
        if request.user.role == Role.REQUESTER:
            organization = marketplace_selectors.organization_of(user=request.user)
        if organization is None:
            return render(request, "console/not_a_requester.html", status=403)
        request.organization = organization
        try:
            return view(request, *args, **kwargs)
        except Http404:
            return render(request, "console/404.html", status=404)
    return wrapped


def _project(request, project_id):
    return marketplace_selectors.project_get(organization=request.organization,
                                             project_id=project_id)


def _error_text(exc: ApiError) -> str:
    details = [f"{field}: {' '.join(problems)}" for field, problems in
               list((exc.fields or {}).items())[:ERROR_MESSAGE_LIMIT]]
    return str(exc.detail) + (" " + "; ".join(details) if details and len(details) > 1 else "")


# --- Projects -----------------------------------------------------------------------------

@requester_required
@require_GET
def projects(request):
    rows = [selectors.project_summary(project=project) for project in
            marketplace_selectors.project_list(organization=request.organization)
            .order_by("-created_at", "-id")[:50]]
    return render(request, "console/projects.html", {"rows": rows})


@requester_required
@require_GET
def overview(request, project_id):
    project = _project(request, project_id)
    summary = selectors.project_summary(project=project)
    progress = summary["progress"]
    finalized = selectors.items_finalized_series(project=project, progress=progress)
    series = [{"name": "Items final", "points": finalized["points"]}]
    if finalized["eta"]:
        series.append({"name": "ETA", "points": finalized["eta"], "dashed": True})
    accuracy = selectors.worker_accuracy(project=project)
    hourly = selectors.worker_hourly_pay(project=project)
    chart_list = [
        charts.line_chart(key="finalized", title="Items finalised over time", series=series,
                          y_format=charts.whole, value_header="Items",
                          guides=[("All items", finalized["total"] or None)]),
        charts.bar_chart(key="throughput", title="Throughput per hour (submissions)",
                         bars=[(charts.time_label(bucket), count) for bucket, count in
                               selectors.throughput_series(project=project)],
                         y_format=charts.whole, label_header="Hour",
                         value_header="Submissions"),
        charts.line_chart(key="spend", title="Spend over time against budget and escrow",
                          series=[{"name": "Spent",
                                   "points": selectors.spend_series(project=project)}],
                          y_format=charts.cents, value_header="Amount",
                          guides=[("Budget", project.budget_cents),
                                  ("Escrow now", progress["escrow_cents"] or None)]),
        charts.bar_chart(key="confidence", title="Distribution of item confidence",
                         bars=[(row["label"], row["value"]) for row in
                               selectors.confidence_histogram(project=project)],
                         y_format=charts.whole, label_header="Confidence",
                         value_header="Items"),
        charts.line_chart(key="agreement", title="Agreement (Krippendorff's alpha) over time",
                          series=[{"name": "Alpha", "points":
                                   selectors.agreement_series(project=project)}],
                          y_format=charts.ratio, value_header="Alpha"),
        charts.bar_chart(key="accuracy", title="Workers' gold accuracy",
                         bars=[(row["label"], row["value"]) for row in accuracy["histogram"]],
                         y_format=charts.whole, label_header="Accuracy",
                         value_header="Workers"),
        charts.bar_chart(key="hourly", title="Effective hourly pay per worker against the floor",
                         bars=[(row["worker"], row["hourly_cents"]) for row in hourly["workers"]],
                         y_format=charts.cents, label_header="Worker",
                         value_header="Per hour",
                         guides=[("Floor", hourly["floor_cents"] or None)]),
    ]
    return render(request, "console/overview.html", {
        "project": project, "summary": summary, "progress": progress, "charts": chart_list,
        "worker_accuracy": accuracy["workers"], "hourly": hourly,
        "can_upload": project.status in (ProjectStatus.DRAFT, ProjectStatus.ACTIVE,
                                         ProjectStatus.PAUSED),
        "import_report": request.session.pop(f"console:import:{project.pk}", None),
        "balance": payments_selectors.organization_balance(organization=request.organization),
    })


@requester_required
@require_POST
def upload(request, project_id):
    project = _project(request, project_id)
    is_gold = request.POST.get("kind") == "gold"
    report = actions.upload(project=project, actor=request.user, is_gold=is_gold,
                            upload=request.FILES.get("file"))
    # Shown once on the overview (post/redirect/get).
    request.session[f"console:import:{project.pk}"] = report
    return redirect("console:overview", project_id=project.pk)


@requester_required
@require_POST
def transition(request, project_id):
    project = _project(request, project_id)
    action = request.POST.get("action", "")
    try:
        actions.transition(project=project, actor=request.user, action=action)
    except ApiError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, {"launch": "Launched: workers can take tasks now.",
                                   "pause": "Paused.", "resume": "Resumed.",
                                   "cancel": "Cancelled."}.get(action, "Done."))
    return redirect("console:overview", project_id=project.pk)


# --- New project --------------------------------------------------------------------------

def _builder_context(data=None, problems=None) -> dict:
    data = data or {}
    task_type = data.get("task_type") or "single_choice"
    config, sample = builder.STARTERS.get(task_type, builder.STARTERS["single_choice"])
    return {
        "fields": builder.form_fields(), "skills": builder.skill_choices(),
        "data": data, "problems": problems or {},
        "starters": json.dumps({key: {"label_config": value[0], "sample": value[1]}
                                for key, value in builder.STARTERS.items()}),
        "initial_config": data.get("label_config") or json.dumps(config),
        "initial_sample": data.get("sample_item") or json.dumps(sample),
        "chosen_skills": data.getlist("skills") if hasattr(data, "getlist") else [],
    }


@requester_required
@require_http_methods(["GET", "POST"])
def project_new(request):
    if request.method == "POST":
        project, problems = builder.create(organization=request.organization,
                                           actor=request.user,
                                           body=builder.payload_from_form(request.POST))
        if project is not None:
            messages.success(request, "Project created as a draft. Upload items and gold, "
                                      "then launch.")
            return redirect("console:overview", project_id=project.pk)
        return render(request, "console/project_new.html",
                      _builder_context(request.POST, problems), status=400)
    return render(request, "console/project_new.html", _builder_context())


@requester_required
@require_POST
def project_preview(request):
    """The builder's live check: {html, problems, estimate} for the form as it stands."""
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        return JsonResponse({"error": {"code": "invalid_json",
                                       "message": "The body must be a JSON object.",
                                       "fields": {}}}, status=400)
    body = builder.payload_from_form(data)
    try:
        sample = json.loads(data.get("sample_item") or "{}")
    except (ValueError, TypeError):
        sample = None
    html, preview_problems = builder.preview_html(
        task_type=body.get("task_type", ""), label_config=body.get("label_config"),
        sample=sample, instructions=body.get("instructions", ""), request=request)
    fields, problems = builder.validate(organization=request.organization,
                                        actor=request.user, body=body)
    try:
        items = max(0, min(int(data.get("estimate_items") or 0), 10_000_000))
    except (TypeError, ValueError):
        items = 0
    estimate = builder.estimate(fields=fields, items=items) if fields else None
    return JsonResponse({"html": html, "preview_problems": preview_problems,
                         "problems": problems, "estimate": estimate})


# --- Quality ------------------------------------------------------------------------------

@requester_required
@require_GET
def quality(request, project_id):
    project = _project(request, project_id)
    return render(request, "console/quality.html", {
        "project": project,
        "low_confidence": selectors.lowest_confidence_items(project=project),
        "gold": selectors.gold_by_miss_rate(project=project),
        "rules": selectors.quality_actions(project=project),
    })


@requester_required
@require_POST
def item_review(request, project_id, item_id):
    project = _project(request, project_id)
    try:
        requested = actions.item_review(project=project, item_id=item_id, actor=request.user)
    except ApiError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, f"Item {item_id}: {requested} submission(s) sent to review."
                         if requested else f"Item {item_id}: no undecided submission to "
                         "send to review.")
    return redirect("console:quality", project_id=project.pk)


@requester_required
@require_POST
def gold_edit(request, project_id, item_id):
    project = _project(request, project_id)
    try:
        if request.POST.get("action") == "retire":
            actions.gold_retire(project=project, item_id=item_id, actor=request.user)
            messages.success(request, f"Gold item {item_id} retired: it is no longer served.")
        else:
            actions.gold_update(project=project, item_id=item_id, actor=request.user,
                                answer_text=request.POST.get("answer", ""))
            messages.success(request, f"Gold item {item_id}: answer saved.")
    except ApiError as exc:
        messages.error(request, _error_text(exc))
    return redirect("console:quality", project_id=project.pk)


# --- Review -------------------------------------------------------------------------------

def _review_filters(request) -> dict:
    missed = request.GET.get("missed_gold", "")
    return {"worker": request.GET.get("worker", "").strip()[:32],
            "missed_gold": missed if missed in ("yes", "no") else ""}


@requester_required
@require_GET
def review(request, project_id):
    project = _project(request, project_id)
    filters = _review_filters(request)
    queue, total = selectors.review_queue(project=project, **filters)
    return render(request, "console/review.html", {
        "project": project, "filters": filters, "total": total,
        "assignments": assignment_views(project=project, assignments=queue),
        "reason_codes": RejectionReason.choices,
        "disputes": selectors.project_disputes(project=project),
    })


@requester_required
@require_POST
def decide(request, project_id, assignment_id):
    project = _project(request, project_id)
    assignment = marketplace_selectors.assignment_for_organization(
        organization=request.organization, assignment_id=assignment_id)
    if assignment.project_id != project.pk:
        raise Http404
    try:
        outcome = actions.decide(assignment_id=assignment.pk, actor=request.user,
                                 decision=request.POST.get("decision", ""),
                                 reason=request.POST.get("reason", ""),
                                 reason_code=request.POST.get("reason_code", ""))
    except ApiError as exc:
        messages.error(request, f"Assignment {assignment.pk}: {_error_text(exc)}")
    else:
        messages.success(request, f"Assignment {assignment.pk}: {outcome}.")
    return redirect(reverse("console:review", args=[project.pk]) + _query(request))


def _query(request) -> str:
    kept = {key: request.POST.get(key) for key in ("worker", "missed_gold")
            if request.POST.get(key)}
    return ("?" + urlencode(kept)) if kept else ""


@requester_required
@require_POST
def bulk_approve(request, project_id):
    project = _project(request, project_id)
    ids = []
    for raw in request.POST.getlist("assignment_ids"):
        try:
            ids.append(int(raw))
        except ValueError:
            continue
    approved, refused = actions.bulk_approve(project=project, actor=request.user,
                                             assignment_ids=ids)
    messages.success(request, f"Approved {approved} submission(s)."
                     + (f" {refused} could not be approved (decided meanwhile)."
                        if refused else ""))
    return redirect(reverse("console:review", args=[project.pk]) + _query(request))


# --- Results ------------------------------------------------------------------------------

def _results_filters(request) -> tuple[dict, dict]:
    """(selector arguments, problems): bad filter values are named, not ignored."""
    problems, args = {}, {}
    raw = request.GET.get("max_confidence", "")
    if raw:
        try:
            args["max_confidence"] = float(raw)
            if not 0 <= args["max_confidence"] <= 1:
                raise ValueError
        except ValueError:
            args.pop("max_confidence", None)
            problems["max_confidence"] = "A number from 0 to 1."
    raw = request.GET.get("min_revision", "")
    if raw:
        try:
            args["min_revision"] = int(raw)
            if args["min_revision"] < 0:
                raise ValueError
        except ValueError:
            args.pop("min_revision", None)
            problems["min_revision"] = "A whole number, 0 or more."
    source = request.GET.get("source", "")
    if source in ("crowd", "model", "model_checked"):
        args["source"] = source
    elif source:
        problems["source"] = "Choose crowd, model or model_checked."
    return args, problems


@requester_required
@require_GET
def results(request, project_id):
    project = _project(request, project_id)
    args, problems = _results_filters(request)
    endpoints = list(webhook_selectors.webhook_endpoint_list(organization=request.organization)
                     [:20])
    return render(request, "console/results.html", {
        "project": project, "filters": request.GET, "problems": problems,
        "rows": selectors.results_preview(project=project, **args),
        "formats": list(exports.FORMATS), "sources": ["crowd", "model", "model_checked"],
        "endpoints": [{"endpoint": endpoint,
                       "deliveries": list(webhook_selectors.webhook_delivery_list(
                           endpoint=endpoint)[:20])} for endpoint in endpoints],
    }, status=400 if problems else 200)


@requester_required
@require_GET
def results_download(request, project_id, file_format):
    project = _project(request, project_id)
    if file_format not in exports.FORMATS:
        raise Http404
    content_type, stream = exports.FORMATS[file_format]
    response = StreamingHttpResponse(stream(exports.result_rows(project)),
                                     content_type=content_type)
    response["Content-Disposition"] = (
        f'attachment; filename="project-{project.pk}-results.{file_format}"')
    return response


@requester_required
@require_POST
def resend(request, endpoint_id, delivery_id):
    endpoint = webhook_selectors.webhook_endpoint_get(organization=request.organization,
                                                      endpoint_id=endpoint_id)
    try:
        actions.resend(endpoint=endpoint, delivery_id=delivery_id, actor=request.user)
    except ApiError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, "Delivery queued again.")
    back = request.POST.get("project_id", "")
    if back.isdigit():
        return redirect("console:results", project_id=int(back))
    return redirect("console:projects")


# --- Billing ------------------------------------------------------------------------------

@requester_required
@require_http_methods(["GET", "POST"])
def billing(request):
    organization = request.organization
    if request.method == "POST":
        try:
            topup = actions.top_up(organization=organization, actor=request.user,
                                   amount_text=request.POST.get("amount", ""))
        except ApiError as exc:
            messages.error(request, _error_text(exc))
        else:
            if topup.status == "succeeded":
                messages.success(request, "Top-up credited.")
            else:
                messages.info(request, f"Top-up {topup.pk} is {topup.status}: the balance "
                                       "is credited once Stripe confirms the payment.")
        return redirect("console:billing")
    return render(request, "console/billing.html", {
        "balance": payments_selectors.organization_balance(organization=organization),
        "statement": payments_selectors.organization_statement(organization=organization),
    })
