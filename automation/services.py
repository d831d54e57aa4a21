"""Writes of the automation app: predictions, settings, what auto-accept did, the
prediction endpoint and its runs. Every function joins the caller's transaction (a
flow's, or the view's for a single write) and writes only this app's rows; the
marketplace stores the item results themselves.

One way in for predictions: the bulk endpoint, item imports (marketplace.services.imports),
the prediction endpoint and the built-in model all store through ``_checked_predictions``
and ``_write_predictions``.

Lock order (config/lock_order.py): AutomationSettings sits after Project and before Task;
Prediction after Item. A flow that pauses auto-accept locks the settings row, then the
tasks and items it reopens, then the predictions.
"""
import math
import random
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from accounts.models import User
from config.errors import InvalidInput
from marketplace import task_types
from marketplace.models import Item, Project
from marketplace.webhooks.services import validated_url
from marketplace.webhooks.signing import derive_secret, new_secret_nonce

from .enums import (
    LIVE_RUN_STATUSES,
    AutomationMode,
    PredictionRunStatus,
    PredictionState,
)
from .models import (
    MODEL_VERSION_MAX,
    AutomationSettings,
    BuiltinModelRun,
    Prediction,
    PredictionEndpoint,
    PredictionRun,
)

MAX_PREDICTIONS_PER_REQUEST = 10_000
SETTINGS_FIELDS = ("mode", "auto_accept_threshold", "spot_check_rate", "accuracy_target",
                   "min_spot_checks", "builtin_model")


def prediction_problems(*, project: Project, value: Any, score: Any, model_version: Any,
                        data: dict) -> dict[str, list[str]]:
    """Problems of one prediction, by field: the value is checked exactly like a worker's
    answer to that item, the score is a number in 0..1."""
    problems: dict[str, list[str]] = {}
    value_problems = task_types.answer_problems(project.task_type, project.label_config,
                                                value, data)
    if value_problems:
        problems["value"] = value_problems
    if (isinstance(score, bool) or not isinstance(score, (int, float))
            or not math.isfinite(score) or not 0 <= score <= 1):
        problems["score"] = ["Must be a number from 0 to 1."]
    if (not isinstance(model_version, str) or not model_version.strip()
            or len(model_version) > MODEL_VERSION_MAX):
        problems["model_version"] = [
            f"Must be a non-empty string of at most {MODEL_VERSION_MAX} characters."]
    return problems


PROBABILITY_SUM_TOLERANCE = 0.01


def probabilities_problems(*, project: Project, probabilities: Any) -> list[str]:
    """Optional class probabilities: {choice: p} over the project's choices, each in 0..1,
    summing to 1 (within 0.01). Only choice projects have classes."""
    if probabilities is None:
        return []
    choices = (project.label_config or {}).get("choices") if isinstance(
        project.label_config, dict) else None
    if not isinstance(choices, list):
        return ["Only projects with choices take class probabilities."]
    if not isinstance(probabilities, dict) or len(probabilities) < 2:
        return ["Must be an object of at least two {choice: probability} entries."]
    unknown = sorted(str(label) for label in probabilities if label not in choices)
    if unknown:
        return [f"Not choices of this project: {', '.join(unknown)}."]
    numbers = list(probabilities.values())
    if any(isinstance(p, bool) or not isinstance(p, (int, float)) or not math.isfinite(p)
           or not 0 <= p <= 1 for p in numbers):
        return ["Each probability must be a number from 0 to 1."]
    if abs(sum(numbers) - 1) > PROBABILITY_SUM_TOLERANCE:
        return ["Probabilities must sum to 1."]
    return []


def predictions_store(*, project: Project, predictions: list[dict],
                      by_item_id: bool = False) -> int:
    """Store predictions ``[{external_id, value, score, model_version}]`` (or ``item_id``
    instead of ``external_id`` when ``by_item_id``, for the built-in model and imports),
    replacing each item's earlier one. All or nothing: any bad entry is a 400 naming
    ``predictions.<index>.<field>`` and nothing is stored.

    A prediction that auto-accept already turned into the item's result is kept (its
    item's result came from it); the replacement is reported as not updated.
    Returns how many predictions were stored."""
    rows, errors = _checked_predictions(project, predictions, by_item_id=by_item_id)
    if errors:
        raise InvalidInput("Some predictions are invalid; nothing was stored.", fields=errors)
    return _write_predictions(rows)


def predictions_store_valid(*, project: Project, predictions: list[dict]
                            ) -> tuple[int, dict[str, list[str]]]:
    """Store the valid entries of ``[{item_id, value, score, model_version}]`` and return
    ``(stored, problems by "predictions.<index>.<field>")``: a model server's answer is
    taken item by item, a bad item does not cost the others (the prediction endpoint)."""
    rows, errors = _checked_predictions(project, predictions, by_item_id=True)
    return _write_predictions(rows), errors


def _checked_predictions(project: Project, predictions: list[dict], *, by_item_id: bool
                         ) -> tuple[list[Prediction], dict[str, list[str]]]:
    """The one check of incoming predictions: (rows to store, problems by field)."""
    if not isinstance(predictions, list) or not predictions:
        raise InvalidInput("Send a non-empty list of predictions.",
                           fields={"predictions": ["A non-empty list is required."]})
    if len(predictions) > MAX_PREDICTIONS_PER_REQUEST:
        raise InvalidInput(f"At most {MAX_PREDICTIONS_PER_REQUEST} predictions per request.",
                           fields={"predictions": ["Too many entries."]})
    key = "item_id" if by_item_id else "external_id"
    keys = [entry.get(key) if isinstance(entry, dict) else None for entry in predictions]
    lookup = Q(pk__in=[k for k in keys if isinstance(k, int) and not isinstance(k, bool)]) \
        if by_item_id else Q(external_id__in=[k for k in keys if isinstance(k, str)])
    items = {(item.pk if by_item_id else item.external_id): item
             for item in Item.objects.filter(lookup, project=project, is_gold=False,
                                             erased_at__isnull=True)
             .only("pk", "external_id", "data")}
    errors: dict[str, list[str]] = {}
    seen: set = set()
    rows: list[Prediction] = []
    for index, entry in enumerate(predictions):
        where = f"predictions.{index}"
        if not isinstance(entry, dict):
            errors[where] = ["Must be an object."]
            continue
        unknown = set(entry) - {key, "value", "score", "model_version", "probabilities"}
        if unknown:
            errors[where] = [f"Unknown field(s): {', '.join(sorted(map(str, unknown)))}."]
            continue
        item = items.get(entry.get(key)) if isinstance(entry.get(key), (str, int)) else None
        if item is None:
            errors[f"{where}.{key}"] = ["No item of this project (gold excluded) has it."]
            continue
        if item.pk in seen:
            errors[f"{where}.{key}"] = ["Given twice in this request."]
            continue
        seen.add(item.pk)
        problems = prediction_problems(project=project, value=entry.get("value"),
                                       score=entry.get("score"),
                                       model_version=entry.get("model_version"),
                                       data=item.data)
        probability_problems = probabilities_problems(
            project=project, probabilities=entry.get("probabilities"))
        if probability_problems:
            problems["probabilities"] = probability_problems
        for field, messages in problems.items():
            errors[f"{where}.{field}"] = messages
        if not problems:
            rows.append(Prediction(project=project, item=item, value=entry["value"],
                                   score=float(entry["score"]),
                                   probabilities=entry.get("probabilities"),
                                   model_version=entry["model_version"].strip(),
                                   state=PredictionState.NONE))
    return rows, errors


def _write_predictions(rows: list[Prediction]) -> int:
    kept = set(Prediction.objects.filter(item__in=[row.item for row in rows],
                                         state=PredictionState.AUTO_ACCEPTED)
               .values_list("item_id", flat=True))
    rows = [row for row in rows if row.item.pk not in kept]
    Prediction.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["item"],
        update_fields=["value", "score", "probabilities", "model_version", "state",
                       "updated_at"])
    return len(rows)


def settings_for(*, project: Project) -> AutomationSettings:
    """The project's settings row (unsaved defaults when it has none)."""
    try:
        return AutomationSettings.objects.get(project=project)
    except AutomationSettings.DoesNotExist:
        return AutomationSettings(project=project)


def settings_for_update(*, project: Project) -> AutomationSettings:
    settings, _ = AutomationSettings.objects.get_or_create(project=project)
    return AutomationSettings.objects.select_for_update(no_key=True).get(pk=settings.pk)


def settings_update(*, project: Project, fields: dict) -> AutomationSettings:
    """Change the settings. Choosing auto-accept again (or a new threshold) clears a pause
    the gate set: the requester decided to trust the model again."""
    settings = settings_for_update(project=project)
    if (project.task_type not in ("single_choice", "multi_choice")
            and fields.get("builtin_model")):
        raise InvalidInput("The built-in model labels single and multi-choice text "
                           "projects only.", fields={"builtin_model": ["Not for this "
                                                                       "task type."]})
    for field in SETTINGS_FIELDS:
        if field in fields:
            setattr(settings, field, fields[field])
    if "mode" in fields and fields["mode"] == AutomationMode.AUTO_ACCEPT:
        settings.paused_model_version, settings.paused_reason = "", ""
        settings.paused_at = None
    settings.save()
    return settings


def auto_accept_candidates(*, project: Project, settings: AutomationSettings
                           ) -> list[Prediction]:
    """Undecided predictions at or above the threshold on items that wait for a result,
    of model versions the gate has not stopped."""
    candidates = (Prediction.objects
                  .filter(project=project, state=PredictionState.NONE,
                          score__gte=settings.auto_accept_threshold,
                          item__finalized_at__isnull=True, item__task__isnull=False)
                  .select_related("item").order_by("item_id"))
    if settings.paused_model_version:
        candidates = candidates.exclude(model_version=settings.paused_model_version)
    return list(candidates)


def spot_check_counts(*, project) -> dict[str, int]:
    """Predictions sampled for the crowd so far, per model version."""
    rows = (Prediction.objects.filter(project=project, state=PredictionState.SPOT_CHECK)
            .values("model_version").annotate(count=Count("pk")))
    return {row["model_version"]: row["count"] for row in rows}


def is_spot_check(prediction: Prediction, rate: float) -> bool:
    """The random sample, drawn once per item and model version and reproducible: the
    same prediction is always in or out of the sample, whichever job looks at it."""
    draw = random.Random(f"{prediction.item_id}:{prediction.model_version}").random()
    return draw < rate


def predictions_set_state(*, prediction_ids: Iterable[int], state: str) -> int:
    return Prediction.objects.filter(pk__in=list(prediction_ids)).update(
        state=state, updated_at=timezone.now())


def settings_pause(*, settings: AutomationSettings, model_version: str, reason: str) -> None:
    settings.paused_model_version = model_version
    settings.paused_reason = reason[:300]
    settings.paused_at = timezone.now()
    settings.save(update_fields=["paused_model_version", "paused_reason", "paused_at",
                                 "updated_at"])


def builtin_run_record(*, project: Project, model_version: str, trained_on: int,
                       holdout_accuracy: float | None, predicted: int) -> BuiltinModelRun:
    return BuiltinModelRun.objects.create(project=project, model_version=model_version,
                                          trained_on=trained_on,
                                          holdout_accuracy=holdout_accuracy,
                                          predicted=predicted)


# --- prediction endpoint: the requester's model server ------------------------------------

MAX_ENDPOINT_BATCH_SIZE = 500
MAX_RUN_ERRORS = 100
# A live run whose job has not reported for this long is taken to be dead (the worker
# died): a new request replaces it instead of waiting for ever.
STALE_RUN_AFTER = timedelta(minutes=15)


def prediction_endpoint_secret(endpoint: PredictionEndpoint) -> str:
    """The signing secret, derived as a webhook's is (never stored)."""
    return derive_secret(endpoint.secret_nonce)


def prediction_endpoint_set(*, project: Project, actor: User | None, url, batch_size
                            ) -> tuple[PredictionEndpoint, str]:
    """Register (or replace) the project's model server. Returns the endpoint and its new
    signing secret, which the caller shows once. The URL passes the webhooks' SSRF check."""
    url = validated_url(url)
    if (isinstance(batch_size, bool) or not isinstance(batch_size, int)
            or not 1 <= batch_size <= MAX_ENDPOINT_BATCH_SIZE):
        raise InvalidInput("batch_size must be a whole number from 1 to "
                           f"{MAX_ENDPOINT_BATCH_SIZE}.", fields={"batch_size": [
                               f"From 1 to {MAX_ENDPOINT_BATCH_SIZE}."]})
    endpoint, _ = PredictionEndpoint.objects.update_or_create(project=project, defaults={
        "url": url, "batch_size": batch_size, "created_by": actor,
        "secret_nonce": new_secret_nonce()})
    # A run in flight would go on calling the old URL with the old secret: stop it (its
    # job stops at its next batch); the next import or /run starts afresh.
    PredictionRun.objects.filter(endpoint=endpoint, status__in=LIVE_RUN_STATUSES).update(
        status=PredictionRunStatus.FAILED, finished_at=timezone.now(), errors=[
            {"item_id": None, "field": None, "message": "Stopped: the endpoint was replaced."}])
    return endpoint, prediction_endpoint_secret(endpoint)


def prediction_endpoint_delete(*, endpoint: PredictionEndpoint) -> None:
    # Its runs go with it; a job in flight finds its run gone and stops (flows).
    endpoint.delete()


def _stale_runs(now):
    return PredictionRun.objects.filter(
        Q(heartbeat_at__lt=now - STALE_RUN_AFTER)
        | Q(heartbeat_at__isnull=True, created_at__lt=now - STALE_RUN_AFTER),
        status__in=LIVE_RUN_STATUSES)


def projects_with_stale_runs() -> list[Project]:
    """Projects whose endpoint run stopped reporting (its job died)."""
    return list(Project.objects.filter(pk__in=_stale_runs(timezone.now())
                                       .values("endpoint__project_id")))


def prediction_run_request(*, endpoint: PredictionEndpoint, trigger: str
                           ) -> tuple[PredictionRun, bool]:
    """A queued run of the endpoint: the live one if there is one (a second would send
    the same items twice), else a new one. Returns (run, created)."""
    now = timezone.now()
    _stale_runs(now).filter(endpoint=endpoint).update(
        status=PredictionRunStatus.FAILED, finished_at=now, errors=[
            {"item_id": None, "field": None, "message": "The run was lost (its job stopped)."}])
    live = PredictionRun.objects.filter(endpoint=endpoint, status__in=LIVE_RUN_STATUSES)
    if run := live.first():
        return run, False
    try:
        # The partial unique constraint is the guard when two requests race.
        with transaction.atomic():
            return PredictionRun.objects.create(endpoint=endpoint, trigger=trigger), True
    except IntegrityError:
        return live.get(), False


def prediction_run_claim(*, run_id: int) -> bool:
    """Compare-and-swap queued -> running: one job sends a run's batches."""
    now = timezone.now()
    return bool(PredictionRun.objects.filter(pk=run_id, status=PredictionRunStatus.QUEUED)
                .update(status=PredictionRunStatus.RUNNING, started_at=now, heartbeat_at=now))


def prediction_run_progress(*, run: PredictionRun, items_sent: int, stored: int,
                            requests: int, errors: list[dict]) -> bool:
    """Add one batch's outcome. False when the run is gone or no longer running (its
    endpoint was deleted or replaced): the job stops."""
    updated = PredictionRun.objects.filter(pk=run.pk, status=PredictionRunStatus.RUNNING).update(
        items_sent=F("items_sent") + items_sent,
        predictions_stored=F("predictions_stored") + stored,
        requests=F("requests") + requests, heartbeat_at=timezone.now())
    if updated and errors:
        run.refresh_from_db(fields=["errors"])
        room = MAX_RUN_ERRORS - len(run.errors)
        if room > 0:
            PredictionRun.objects.filter(pk=run.pk).update(errors=run.errors + errors[:room])
    return bool(updated)


def prediction_run_finish(*, run: PredictionRun, failed_with: str = "") -> None:
    fields = {"status": PredictionRunStatus.FAILED if failed_with
              else PredictionRunStatus.SUCCEEDED, "finished_at": timezone.now()}
    if failed_with:
        run.refresh_from_db(fields=["errors"])
        fields["errors"] = (run.errors + [{"item_id": None, "field": None,
                                           "message": failed_with[:1000]}])[-MAX_RUN_ERRORS:]
    PredictionRun.objects.filter(pk=run.pk, status=PredictionRunStatus.RUNNING).update(**fields)
