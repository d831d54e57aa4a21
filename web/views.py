"""The worker web app: server-rendered pages over the same services and selectors as the
API. Forms post back to their page; the labeling page talks JSON to the small endpoints
below (same error shape as the API). Calls into the core loop go through web.actions."""
import json
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.enums import Role
from flows.accounts import register as user_register
from automation.selectors import prelabels_for
from privacy.selectors import items_for_worker
from config.errors import ApiError, error_body
from marketplace import selectors as marketplace_selectors
from marketplace.enums import AssignmentStatus
from payments import selectors as payments_selectors
from payments import services as payments_services
from qa import selectors as qa_selectors
from workers import selectors as workers_selectors
from workers import services as workers_services
from workers.enums import ApplicationStatus, ExamAttemptStatus, WorkerStatus

from . import actions, forms, selectors, widgets


def worker_required(view):
    """Signed in as a worker; anyone else is sent to sign in (or told this app is not
    theirs)."""
    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.user.role != Role.WORKER:
            return render(request, "web/not_a_worker.html", status=403)
        try:
            request.worker = workers_selectors.worker_profile_of(user=request.user)
        except Http404:
            return render(request, "web/not_a_worker.html", status=403)
        try:
            return view(request, *args, **kwargs)
        except Http404:
            return render(request, "web/404.html", status=404)
    return wrapped


def _json_error(exc: ApiError) -> JsonResponse:
    return JsonResponse(error_body(exc.error_code, str(exc.detail), exc.fields),
                        status=exc.status_code)


def _json_body(request) -> dict:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ApiError("The body must be JSON.", code="invalid_json")
    if not isinstance(body, dict):
        raise ApiError("The body must be a JSON object.", code="invalid_json")
    return body


# --- Accounts -------------------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
def login_view(request):
    form = forms.LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = authenticate(request, username=form.cleaned_data["email"].lower(),
                            password=form.cleaned_data["password"])
        if user is not None:
            login(request, user)
            # Requesters work in the console; workers (and staff) on the worker home.
            default = "console:projects" if user.role == Role.REQUESTER else "web:home"
            return redirect(_safe_next(request) or default)
        form.add_error(None, "Wrong email or password.")
    return render(request, "web/login.html", {"form": form})


def _safe_next(request) -> str | None:
    target = request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return None


@require_POST
def logout_view(request):
    logout(request)
    messages.info(request, "You are signed out.")
    return redirect("web:login")


@require_http_methods(["GET", "POST"])
def signup(request):
    form = forms.SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user, _token = user_register(email=form.cleaned_data["email"],
                                         password=form.cleaned_data["password"],
                                         role=Role.WORKER)
        except ApiError as exc:
            forms.add_service_errors(form, exc)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, "Welcome to Quorum. Tell us about your expertise to "
                                      "apply.")
            return redirect("web:apply")
    return render(request, "web/signup.html", {"form": form})


@worker_required
@require_http_methods(["GET", "POST"])
def apply(request):
    worker = request.worker
    applications = list(workers_selectors.application_list().filter(worker=worker))
    can_apply = worker.status == WorkerStatus.APPLICANT
    form = forms.ApplicationForm(request.POST or None, worker=worker)
    if request.method == "POST" and can_apply and form.is_valid():
        data = form.cleaned_data
        try:
            # Profile claims and the application stand or fall together.
            with transaction.atomic():
                if data["accept_terms"]:
                    workers_services.worker_terms_accept(
                        worker=worker, version=settings.CONFIDENTIALITY_TERMS_VERSION)
                workers_services.worker_profile_update(worker=worker, changes={
                    "full_name": data["full_name"], "domains": data["domains"],
                    "skills": data["skills"]})
                workers_services.application_submit(worker=worker,
                                                    statement=data["statement"],
                                                    credentials=data["credentials"])
        except ApiError as exc:
            forms.add_service_errors(form, exc)
        else:
            messages.success(request, "Application sent. We will review it shortly.")
            return redirect("web:apply")
    return render(request, "web/apply.html", {
        "form": form, "can_apply": can_apply, "applications": applications,
        "terms_version": settings.CONFIDENTIALITY_TERMS_VERSION,
        "pending": any(a.status == ApplicationStatus.PENDING for a in applications)})


# --- Home -------------------------------------------------------------------------------------

@worker_required
@require_GET
def home(request):
    worker = request.worker
    availability = marketplace_selectors.worker_availability(worker=worker)
    live = marketplace_selectors.worker_assignment_list(
        worker=worker, status=AssignmentStatus.ASSIGNED).select_related("project").first()
    if live is not None and live.expires_at <= timezone.now():
        live = None
    return render(request, "web/home.html", {
        "availability": availability, "live": live,
        "cards": selectors.project_cards(worker=worker) if availability["can_work"] else [],
    })


# --- Labeling ----------------------------------------------------------------------------------

@worker_required
@require_POST
def work_start(request):
    project_id = request.POST.get("project_id") or None
    try:
        project_id = int(project_id) if project_id is not None else None
        assignment = actions.claim(worker=request.worker, project_id=project_id)
    except ValueError:
        messages.error(request, "Unknown project.")
        return redirect("web:home")
    except ApiError as exc:
        messages.error(request, str(exc.detail))
        return redirect("web:home")
    if assignment is None:
        messages.info(request, "No task is open for you in this project right now.")
        return redirect("web:home")
    return redirect("web:work", assignment_id=assignment.pk)


def _task_context(assignment) -> dict:
    project = assignment.project
    return {"assignment": assignment, "project": project,
            "config": widgets.config_for(project),
            # Pre-labelled (prelabel mode) and masked (when the project hides personal
            # data) as in the API payload.
            "items": widgets.items_for(project=project, served=items_for_worker(
                project=project, items=prelabels_for(
                    project=project,
                    items=marketplace_selectors.served_items(assignment=assignment)))),
            "submit_url": reverse("web:work-submit", args=[assignment.pk]),
            "heartbeat_url": reverse("web:work-heartbeat", args=[assignment.pk]),
            "return_url": reverse("web:work-return", args=[assignment.pk])}


@worker_required
@require_GET
def work(request, assignment_id):
    assignment = marketplace_selectors.worker_assignment_get(worker=request.worker,
                                                             assignment_id=assignment_id)
    if assignment.status != AssignmentStatus.ASSIGNED or assignment.expires_at <= timezone.now():
        return render(request, "web/work_closed.html", {"assignment": assignment})
    return render(request, "web/work.html", _task_context(assignment))


@worker_required
@require_POST
def work_heartbeat(request, assignment_id):
    try:
        assignment = actions.heartbeat(worker=request.worker, assignment_id=assignment_id)
    except ApiError as exc:
        return _json_error(exc)
    return JsonResponse({"expires_at": assignment.expires_at.isoformat(),
                         "active_seconds": assignment.active_seconds})


@worker_required
@require_POST
def work_submit(request, assignment_id):
    try:
        body = _json_body(request)
        submitted = actions.submit(worker=request.worker, assignment_id=assignment_id,
                                   answers=body.get("answers"))
    except ApiError as exc:
        return _json_error(exc)
    answer = {"status": submitted.status, "assignment_id": submitted.pk, "next": None}
    try:
        following = actions.claim(worker=request.worker, project_id=submitted.project_id)
    except ApiError:
        # The work is submitted either way; the worker picks the next task from home.
        following = None
    if following is None:
        answer["message"] = ("Submitted. There are no more tasks for you in this project "
                             "right now.")
        answer["home_url"] = reverse("web:home")
        return JsonResponse(answer)
    following = marketplace_selectors.worker_assignment_get(worker=request.worker,
                                                            assignment_id=following.pk)
    context = _task_context(following)
    answer["next"] = {"assignment_id": following.pk,
                      "url": reverse("web:work", args=[following.pk]),
                      "html": render_to_string("web/_task.html", context, request=request)}
    return JsonResponse(answer)


@worker_required
@require_POST
def work_return(request, assignment_id):
    try:
        actions.give_back(worker=request.worker, assignment_id=assignment_id)
    except ApiError as exc:
        messages.error(request, str(exc.detail))
    else:
        messages.success(request, "Task returned. It will not be offered to you again.")
    return redirect("web:home")


# --- Exams -------------------------------------------------------------------------------------

@worker_required
@require_GET
def exams(request):
    return render(request, "web/exams.html",
                  {"exams": workers_selectors.exams_for_worker(worker=request.worker)})


@worker_required
@require_POST
def exam_start(request, exam_id):
    exam = workers_selectors.exam_get(exam_id=exam_id)
    try:
        attempt = workers_services.exam_attempt_start(exam=exam, worker=request.worker)
    except ApiError as exc:
        messages.error(request, str(exc.detail))
        return redirect("web:exams")
    return redirect("web:exam-attempt", attempt_id=attempt.pk)


@worker_required
@require_GET
def exam_attempt(request, attempt_id):
    attempt = workers_selectors.exam_attempt_get(worker=request.worker, attempt_id=attempt_id)
    exam = attempt.exam
    context = {"attempt": attempt, "exam": exam, "project": exam.project}
    if attempt.status == ExamAttemptStatus.STARTED and attempt.expires_at > timezone.now():
        context.update({
            "config": widgets.config_for(exam.project),
            "items": widgets.items_for(project=exam.project,
                                       served=workers_selectors.exam_attempt_items(
                                           attempt=attempt)),
            "submit_url": reverse("web:exam-submit", args=[attempt.pk])})
        return render(request, "web/exam_attempt.html", context)
    standing = next((row for row in workers_selectors.exams_for_worker(worker=request.worker)
                     if row["exam"].pk == exam.pk), None)
    context["standing"] = standing
    return render(request, "web/exam_result.html", context)


@worker_required
@require_POST
def exam_submit(request, attempt_id):
    attempt = workers_selectors.exam_attempt_get(worker=request.worker, attempt_id=attempt_id)
    try:
        body = _json_body(request)
        workers_services.exam_attempt_submit(attempt=attempt, worker=request.worker,
                                             answers=body.get("answers"))
    except ApiError as exc:
        return _json_error(exc)
    return JsonResponse({"status": "submitted", "next": None,
                         "result_url": reverse("web:exam-attempt", args=[attempt.pk])})


# --- My work -----------------------------------------------------------------------------------

@worker_required
@require_GET
def my_work(request):
    worker = request.worker
    assignments = list(marketplace_selectors.worker_assignment_list(worker=worker)
                       .select_related("project")[:50])
    disputes = {d.assignment_id: d for d in qa_selectors.worker_dispute_list(worker=worker)}
    earnings = payments_selectors.worker_earnings(worker=worker)
    names = selectors.project_names(ids=[e["project_id"] for e in earnings["entries"]
                                         if e["project_id"]])
    for entry in earnings["entries"]:
        entry["project_name"] = names.get(entry["project_id"], "")
    return render(request, "web/my_work.html", {
        "stats": qa_selectors.worker_quality_stats(worker=worker),
        "earnings": earnings,
        "payout_account": payments_selectors.payout_account_status(worker=worker),
        "assignments": [{"assignment": a, "dispute": disputes.get(a.pk)} for a in assignments],
        "disputes": list(disputes.values()),
    })


@worker_required
@require_POST
def payout_account(request):
    try:
        account, onboarding_url = payments_services.payout_account_setup(worker=request.worker)
    except ApiError as exc:
        messages.error(request, str(exc.detail))
        return redirect("web:my-work")
    if onboarding_url:
        return redirect(onboarding_url)
    messages.success(request, f"Payout account: {account.status}.")
    return redirect("web:my-work")


@worker_required
@require_POST
def dispute_open(request):
    form = forms.DisputeForm(request.POST)
    if not form.is_valid():
        for problems in form.errors.values():
            for problem in problems:
                messages.error(request, problem)
        return redirect("web:my-work")
    try:
        actions.dispute_open(worker=request.worker, **form.cleaned_data)
    except ApiError as exc:
        messages.error(request, str(exc.detail))
    else:
        messages.success(request, "Dispute opened. An admin will review it.")
    return redirect("web:my-work")


@worker_required
@require_GET
def data_export(request):
    body = json.dumps(workers_selectors.worker_data_export(worker=request.worker),
                      cls=DjangoJSONEncoder, indent=2)
    response = HttpResponse(body, content_type="application/json")
    response["Content-Disposition"] = 'attachment; filename="quorum-my-data.json"'
    return response


@worker_required
@require_http_methods(["GET", "POST"])
def erase(request):
    form = forms.EraseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        workers_services.worker_erase(worker=request.worker, actor=request.user)
        logout(request)
        messages.info(request, "Your personal data was erased and you are signed out.")
        return redirect("web:login")
    return render(request, "web/erase.html", {"form": form})
