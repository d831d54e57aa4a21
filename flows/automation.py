"""Automated labelling: predictions in, auto-accept with spot checks, the gate that stops
it, and the built-in model.

    store_predictions   automation stores the predictions (all or nothing); in auto-accept
                        mode the auto-accept job runs after commit. Then, in a transaction
                        of its own (Task comes before Prediction in the lock order), the
                        tasks of those items get their routing score: the active mode's
                        order (least certain first) follows at the next claim.
    update_settings     automation stores the mode and thresholds; choosing auto-accept
                        runs the job after commit.
    auto_accept         per task: marketplace locks the task and its waiting items and
                        records the predictions as their results (``items_record_results``:
                        revision and item.finalized as for the crowd's); automation marks
                        the predictions auto-accepted or, for the random spot-check sample,
                        leaves them to the crowd; payments gives back the escrow of tasks
                        that no worker will ever claim. Then the project completes if done.
    check_gate          after the crowd finalised items (flows.results.aggregate_tasks): the
                        Wilson lower bound of each model version's accuracy on its spot
                        checks; under the target, ``pause_auto_accept``.
    pause_auto_accept   automation records the pause; marketplace reopens that version's
                        auto-accepted items for the crowd; payments reserves their slots
                        again; the requester gets ``project.automation_paused``.
    train_builtin_model the built-in TF-IDF + logistic regression learns from the
                        crowd's final results and predicts every waiting item.

Lock order (config/lock_order.py): AutomationSettings -> Task -> Item -> Prediction ->
ledger accounts -> webhook outbox.
"""
from collections import defaultdict

from celery import shared_task
from django.db import transaction

from automation import selectors as automation_selectors
from automation import services as automation
from automation.enums import AutomationMode, PredictionState
from automation.models import BuiltinModelRun
from marketplace import services as marketplace
from marketplace.enums import ProjectStatus, TaskType
from marketplace.models import Project
from marketplace.webhooks.services import webhook_emit
from payments import services as payments
from qa import services as qa

PAUSED_EVENT = "project.automation_paused"
# Retrain the built-in model once the crowd finalised this many more items than it saw.
RETRAIN_EVERY = 20


def store_predictions(*, project: Project, predictions: list, by_item_id: bool = False
                      ) -> int:
    with transaction.atomic():
        updated = automation.predictions_store(project=project, predictions=predictions,
                                               by_item_id=by_item_id)
        auto_accept_after_commit(project)
    rescore_tasks(project=project, by_item_id=by_item_id, item_keys=[
        entry.get("item_id" if by_item_id else "external_id") for entry in predictions])
    return updated


def rescore_tasks(*, project: Project, item_keys: list, by_item_id: bool) -> int:
    """Give the tasks holding these items their routing score from the predictions now
    stored (every project keeps it, so switching to active mode needs no rebuild).
    Maintained after the predictions commit: a crash in between leaves an order one
    upload old, which the next upload of those items repairs."""
    keys = [key for key in item_keys if isinstance(key, int if by_item_id else str)
            and not isinstance(key, bool)]
    with transaction.atomic():
        scores = automation_selectors.task_certainties(project=project, item_keys=keys,
                                                       by_item_id=by_item_id)
        return marketplace.tasks_set_routing_scores(scores=scores)


def rescore_unscored(*, project_id: int) -> int:
    """Score the tasks that have predictions but no routing score yet (tasks created by
    an upload that carried predictions)."""
    project = Project.objects.get(pk=project_id)
    with transaction.atomic():
        scores = automation_selectors.unscored_task_certainties(project=project)
        return marketplace.tasks_set_routing_scores(scores=scores)


@shared_task(acks_late=True)
def rescore_unscored_job(project_id: int) -> int:
    return rescore_unscored(project_id=project_id)


def update_settings(*, project: Project, fields: dict):
    with transaction.atomic():
        settings = automation.settings_update(project=project, fields=fields)
        auto_accept_after_commit(project)
        if settings.builtin_model and fields.get("builtin_model"):
            transaction.on_commit(lambda: train_builtin_model_job.delay(project.pk),
                                  robust=True)
    return settings


def auto_accept_after_commit(project: Project) -> None:
    """In auto-accept mode, run the auto-accept job once the caller's transaction commits
    (new predictions or settings may make items final)."""
    if automation.settings_for(project=project).mode == AutomationMode.AUTO_ACCEPT:
        transaction.on_commit(lambda: auto_accept_job.delay(project.pk), robust=True)


def auto_accept(*, project_id: int) -> int:
    """Finalise waiting items from predictions at or above the threshold, except the
    spot-check sample. Returns the number of items auto-accepted. Idempotent: a prediction
    is decided once (its state), an item finalised once."""
    project = Project.objects.get(pk=project_id)
    settings = automation.settings_for(project=project)
    if (settings.mode != AutomationMode.AUTO_ACCEPT or settings.paused_at is not None
            or project.status != ProjectStatus.ACTIVE):
        return 0
    by_task: dict[int, list] = defaultdict(list)
    spot_checks = []
    sampled = automation.spot_check_counts(project=project)
    for prediction in automation.auto_accept_candidates(project=project, settings=settings):
        version = prediction.model_version
        # The gate judges a version only after min_spot_checks crowd checks: a version's
        # first confident predictions are all checked, the random sample comes after.
        if (sampled.get(version, 0) < settings.min_spot_checks
                or automation.is_spot_check(prediction, settings.spot_check_rate)):
            sampled[version] = sampled.get(version, 0) + 1
            spot_checks.append(prediction.pk)
        else:
            by_task[prediction.item.task_id].append(prediction)
    accepted = 0
    for task_id, predictions in sorted(by_task.items()):
        # One transaction per task keeps locks short on a large project.
        with transaction.atomic():
            task, project, items = marketplace.task_lock_pending_items(
                task_id=task_id, item_ids=[p.item_id for p in predictions])
            waiting = {item.pk for item in items}
            chosen = [p for p in predictions if p.item_id in waiting]
            marketplace.items_record_results(
                project=project, task=task, items=items,
                results={p.item_id: (p.value, p.score) for p in chosen})
            automation.predictions_set_state(prediction_ids=[p.pk for p in chosen],
                                             state=PredictionState.AUTO_ACCEPTED)
            if task.filled == 0 and not marketplace.project_items_unfinished_in_task(
                    task_id=task.pk):
                payments.escrow_release_slots(
                    project=project, memo="Task auto-accepted: its slots are not needed",
                    amount_cents=task.overlap * payments.assignment_cost_cents(project=project))
            accepted += len(chosen)
    # After the tasks (Task comes before Prediction in the lock order); a crash before
    # this line draws the same sample again on the next run.
    with transaction.atomic():
        automation.predictions_set_state(prediction_ids=spot_checks,
                                         state=PredictionState.SPOT_CHECK)
    if accepted:
        from .results import complete_project_if_done
        complete_project_if_done(project_id=project_id)
    return accepted


def check_gate(*, project_id: int) -> str | None:
    """Stop auto-accept when a model version's spot-checked accuracy (Wilson lower bound)
    falls under the project's target. Returns the version stopped, if any."""
    project = Project.objects.get(pk=project_id)
    settings = automation.settings_for(project=project)
    if settings.mode != AutomationMode.AUTO_ACCEPT or settings.paused_at is not None:
        return None
    judge = qa.gold_judge(project=project)
    for version in automation_selectors.gated_model_versions(project=project):
        correct, judged = automation_selectors.spot_check_accuracy(
            project=project, model_version=version, judge=judge)
        if judged < settings.min_spot_checks:
            continue
        bound = qa_lower_bound(correct, judged)
        if bound < settings.accuracy_target:
            pause_auto_accept(project_id=project_id, model_version=version,
                              reason=f"Model {version}: {correct}/{judged} spot checks agreed "
                              f"with the crowd; accuracy lower bound {bound:.3f} is under the "
                              f"target {settings.accuracy_target:.3f}.",
                              accuracy=correct / judged, lower_bound=bound)
            return version
    return None


def qa_lower_bound(correct: int, judged: int) -> float:
    from qa.stats import wilson_lower_bound
    return wilson_lower_bound(correct, judged) or 0.0


def pause_auto_accept(*, project_id: int, model_version: str, reason: str,
                      accuracy: float, lower_bound: float) -> int:
    """Stop auto-accept and send the version's auto-accepted items back to the crowd.
    Returns the number of items sent back."""
    reopened_tasks: list[int] = []
    with transaction.atomic():
        project = Project.objects.get(pk=project_id)
        settings = automation.settings_for_update(project=project)
        if settings.paused_at is not None:
            return 0
        automation.settings_pause(settings=settings, model_version=model_version,
                                  reason=reason)
        returned = 0
        slots_to_reserve = 0
        for task_id, rows in sorted(automation_selectors.auto_accepted_items(
                project=project, model_version=model_version).items()):
            task = marketplace.items_reopen(task_id=task_id,
                                            item_ids=[item_id for _, item_id in rows])
            automation.predictions_set_state(prediction_ids=[pk for pk, _ in rows],
                                             state=PredictionState.RETURNED)
            if task.filled == 0:
                slots_to_reserve += task.overlap
            reopened_tasks.append(task_id)
            returned += len(rows)
        funded = payments.escrow_reserve_more(
            project=project,
            amount_cents=slots_to_reserve * payments.assignment_cost_cents(project=project))
        webhook_emit(organization_id=project.organization_id, event=PAUSED_EVENT, payload={
            "project_id": project.pk, "model_version": model_version, "reason": reason,
            "accuracy": round(accuracy, 4), "accuracy_lower_bound": round(lower_bound, 4),
            "items_returned": returned})
    if not funded:
        with transaction.atomic():
            marketplace.project_pause_for_funds(project=project)
    # Tasks the crowd had filled already hold labels for these items: aggregate them now.
    from .results import aggregate_tasks
    aggregate_tasks(task_ids=reopened_tasks)
    return returned


def after_results(*, project: Project) -> None:
    """What automation does once the crowd finalised items: judge the gate, and retrain
    the built-in model when enough new results came in."""
    project_id = project.pk
    settings = automation.settings_for(project=project)
    # Read once for both steps: a pause by the gate changes neither the mode nor the
    # built-in model switch.
    if settings.mode == AutomationMode.AUTO_ACCEPT and settings.paused_at is None:
        check_gate(project_id=project_id)
    if settings.builtin_model and settings.mode != AutomationMode.OFF:
        last = BuiltinModelRun.objects.filter(project=project).first()
        finalised = len(automation_selectors.training_set(project=project))
        if finalised >= (last.trained_on if last else 0) + RETRAIN_EVERY:
            transaction.on_commit(lambda: train_builtin_model_job.delay(project_id),
                                  robust=True)


def train_builtin_model(*, project_id: int) -> BuiltinModelRun | None:
    """Train the built-in model on the crowd's final results and predict every item still
    waiting. None when the project is not a choice project or has too few results."""
    project = Project.objects.get(pk=project_id)
    if project.task_type not in (TaskType.SINGLE_CHOICE, TaskType.MULTI_CHOICE):
        return None
    # Imported here, in the training job: scikit-learn costs every process that loads the
    # URL routes (this module is among their imports) 2 s at start-up and ~150 MiB.
    from automation import builtin

    multi = project.task_type == TaskType.MULTI_CHOICE
    labelled = automation_selectors.training_set(project=project)
    texts, labels = [text for text, _ in labelled], [label for _, label in labelled]
    if not builtin.trainable(labels, multi=multi):
        return None
    accuracy = builtin.holdout_accuracy(texts, labels, multi=multi)
    targets = automation_selectors.items_to_predict(project=project)
    predicted = builtin.train_and_predict(texts, labels, [text for _, text in targets],
                                          multi=multi)
    version = f"builtin-{len(labelled)}"
    with transaction.atomic():
        if targets:
            automation.predictions_store(project=project, by_item_id=True, predictions=[
                {"item_id": item_id, "value": p.value, "score": p.score,
                 "model_version": version} for (item_id, _), p in zip(targets, predicted)])
        run = automation.builtin_run_record(project=project, model_version=version,
                                            trained_on=len(labelled),
                                            holdout_accuracy=accuracy, predicted=len(targets))
        auto_accept_after_commit(project)
    rescore_tasks(project=project, by_item_id=True,
                  item_keys=[item_id for item_id, _ in targets])
    return run


@shared_task(acks_late=True)
def auto_accept_job(project_id: int) -> int:
    return auto_accept(project_id=project_id)


@shared_task(acks_late=True)
def train_builtin_model_job(project_id: int) -> str | None:
    run = train_builtin_model(project_id=project_id)
    return run.model_version if run else None
