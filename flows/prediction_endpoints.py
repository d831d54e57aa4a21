"""A requester's model server labels the items first: Quorum sends it batches of items
waiting for a prediction and stores what it answers.

    request_run      automation queues a run (or returns the live one: one per endpoint);
                     the job starts after commit. Called after imports (flows.imports) and
                     by POST /projects/{id}/prediction-endpoint/run.
    resume_stale_runs   periodic: replaces a run whose job stopped reporting.
    run              the job: claims the run, then per batch of ``batch_size`` items
                     - reads the next items waiting for a prediction (no transaction),
                     - POSTs them signed, through the SSRF guard, with bounded retries
                       (automation.endpoint_client; no transaction is open during HTTP),
                     - stores the valid answers with the same writer as the bulk endpoint
                       (automation.predictions_store_valid) and records the bad ones as
                       the run's errors, in one short transaction.
                     A batch that still fails after its retries stops the run (the server
                     is down: the next batches would fail too). In auto-accept mode the
                     auto-accept job runs after each stored batch.

Request body: ``{run_id, project_id, task_type, label_config, items: [{item_id,
external_id, data}]}``. Answer: ``{predictions: [{item_id, value, score,
model_version}]}``; items left out stay unpredicted.
"""
import json

from celery import shared_task
from django.db import transaction

from automation import endpoint_client
from automation import selectors as automation_selectors
from automation import services as automation
from automation.models import PredictionRun
from marketplace.models import Project

from .automation import auto_accept_after_commit, rescore_tasks


def request_run(*, project: Project, trigger: str) -> PredictionRun | None:
    """Queue a run of the project's endpoint; None when it has none."""
    endpoint = automation_selectors.prediction_endpoint_get(project=project)
    if endpoint is None:
        return None
    with transaction.atomic():
        run, created = automation.prediction_run_request(endpoint=endpoint, trigger=trigger)
        if created:
            transaction.on_commit(lambda: prediction_endpoint_job.delay(run.pk), robust=True)
    return run


def _problems_of(entries: list, errors: dict[str, list[str]]) -> list[dict]:
    """Errors keyed ``predictions.<index>.<field>`` as the run records them: by item."""
    problems = []
    for key, messages in errors.items():
        parts = key.split(".", 2)
        index = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        entry = entries[index] if index is not None and index < len(entries) else None
        item_id = entry.get("item_id") if isinstance(entry, dict) else None
        problems.append({"item_id": item_id if isinstance(item_id, int) else None,
                         "field": parts[2] if len(parts) > 2 else None,
                         "message": " ".join(messages)})
    return problems


def _answered(payload, sent_ids: set[int]) -> tuple[list, list[dict]]:
    """The answer's entries about items of this batch, and problems with the rest."""
    if not isinstance(payload, dict) or not isinstance(payload.get("predictions"), list):
        return [], [{"item_id": None, "field": None,
                     "message": 'The answer must be {"predictions": [...]}.'}]
    entries, problems, answered = [], [], set()
    for entry in payload["predictions"]:
        item_id = entry.get("item_id") if isinstance(entry, dict) else None
        if (not isinstance(item_id, int) or isinstance(item_id, bool)
                or item_id not in sent_ids):
            problem = "Not an item of the batch that was sent."
        elif item_id in answered:
            problem = "Answered twice; the first answer counts."
        else:
            answered.add(item_id)
            entries.append(entry)
            continue
        problems.append({"item_id": item_id if isinstance(item_id, int) else None,
                         "field": "item_id", "message": problem})
    return entries, problems


def run(*, run_id: int) -> PredictionRun | None:
    if not automation.prediction_run_claim(run_id=run_id):
        return None  # done already, or another job runs it
    prediction_run = (PredictionRun.objects.select_related("endpoint__project")
                      .filter(pk=run_id).first())
    if prediction_run is None:
        return None  # its endpoint was deleted a moment ago
    endpoint = prediction_run.endpoint
    project = endpoint.project
    secret = automation.prediction_endpoint_secret(endpoint)
    after_id = 0
    while batch := automation_selectors.items_awaiting_prediction(
            project=project, after_id=after_id, limit=endpoint.batch_size):
        after_id = batch[-1]["id"]
        body = json.dumps({
            "run_id": prediction_run.pk, "project_id": project.pk,
            "task_type": project.task_type, "label_config": project.label_config,
            "items": [{"item_id": item["id"], "external_id": item["external_id"],
                       "data": item["data"]} for item in batch]},
            separators=(",", ":"), ensure_ascii=False).encode()
        answer = endpoint_client.request_predictions(url=endpoint.url, secret=secret,
                                                     body=body)
        if not answer.ok:
            automation.prediction_run_progress(run=prediction_run, items_sent=len(batch),
                                               stored=0, requests=answer.attempts, errors=[])
            automation.prediction_run_finish(run=prediction_run, failed_with=answer.error)
            break
        entries, problems = _answered(answer.payload, {item["id"] for item in batch})
        with transaction.atomic():
            stored, errors = (automation.predictions_store_valid(project=project,
                                                                 predictions=entries)
                              if entries else (0, {}))
            going = automation.prediction_run_progress(
                run=prediction_run, items_sent=len(batch), stored=stored,
                requests=answer.attempts, errors=problems + _problems_of(entries, errors))
            if stored:
                auto_accept_after_commit(project)
        if stored:  # after the commit: Task comes before Prediction in the lock order
            rescore_tasks(project=project, by_item_id=True,
                          item_keys=[entry.get("item_id") for entry in entries])
        if not going:
            break  # the endpoint was deleted or replaced meanwhile
    else:
        automation.prediction_run_finish(run=prediction_run)
    return PredictionRun.objects.filter(pk=run_id).first()  # None if its endpoint went


def resume_stale_runs() -> int:
    """Periodic: a run whose job died (a lost worker) is replaced by a fresh one, so the
    items still waiting do not wait for the next import. Returns the runs started."""
    started = 0
    for project in automation.projects_with_stale_runs():
        if request_run(project=project, trigger="resume") is not None:
            started += 1
    return started


@shared_task
def resume_stale_prediction_runs() -> int:
    return resume_stale_runs()


@shared_task(acks_late=True)
def prediction_endpoint_job(run_id: int) -> str | None:
    finished = run(run_id=run_id)
    return finished.status if finished else None
