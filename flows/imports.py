"""Item uploads, and what follows them.

    import_items          small uploads: marketplace stores the rows (with their
                          predictions, through the automation app's writer) in one
                          transaction; after commit, ``after_items_added``.
    import_in_background  large uploads: the import row and its payload commit first, then
                          the Celery job (``import_job``) parses and stores the rows and
                          runs ``after_items_added``; a job lost between the two is picked
                          up again by the stale-import sweep (``resume_stale_imports``).
    after_items_added     the new items' automation: auto-accept the imported predictions
                          (auto-accept mode) and send the items to the project's
                          prediction endpoint, if it has one; after a large upload, fresh
                          planner statistics for the item and task tables.
"""
from celery import shared_task
from django.db import transaction

from accounts.models import User
from marketplace import services as marketplace
from marketplace.enums import ImportStatus
from marketplace.models import ItemImport, Project
from marketplace.services.imports import PLANNER_STATISTICS_AFTER_ROWS, ImportResult
from marketplace.tasks import refresh_planner_statistics
from marketplace.uploads import UploadRow

from . import prediction_endpoints
from .automation import auto_accept_after_commit, rescore_unscored_job


def import_items(*, project: Project, actor: User, rows: list[UploadRow],
                 is_gold: bool) -> ImportResult:
    with transaction.atomic():
        result = marketplace.items_import(project=project, actor=actor, rows=rows,
                                          is_gold=is_gold)
        if not is_gold:
            after_items_added(project=project, predictions=result.predictions,
                              created=result.created)
    return result


def after_items_added(*, project: Project, predictions: int, created: int) -> None:
    """Runs in the import's transaction; the jobs start after its commit."""
    if created >= PLANNER_STATISTICS_AFTER_ROWS:
        transaction.on_commit(refresh_planner_statistics.delay, robust=True)
    if predictions:
        auto_accept_after_commit(project)
        # The new tasks' routing scores (active mode), after the commit: Task comes
        # before Prediction in the lock order.
        transaction.on_commit(lambda: rescore_unscored_job.delay(project.pk), robust=True)
    prediction_endpoints.request_run(project=project, trigger="import")


def import_in_background(*, project: Project, actor: User, payload: bytes,
                         file_format: str, rows_total: int, is_gold: bool) -> ItemImport:
    with transaction.atomic():
        item_import = marketplace.item_import_enqueue(
            project=project, actor=actor, payload=payload, file_format=file_format,
            rows_total=rows_total, is_gold=is_gold)
        # robust: the import row is committed whatever happens to the enqueue.
        transaction.on_commit(lambda: import_job.delay(item_import.pk), robust=True)
    return item_import


def run_import(*, import_id: int) -> None:
    result = marketplace.item_import_run(import_id=import_id)
    item_import = ItemImport.objects.select_related("project").defer("payload").get(
        pk=import_id)
    if item_import.status == ImportStatus.SUCCEEDED and not item_import.is_gold:
        with transaction.atomic():
            # A redelivery after the commit has no result, and the import row does not
            # count predictions: the automation then looks for them itself (and finds
            # none to do when the upload carried none).
            after_items_added(project=item_import.project,
                              predictions=1 if result is None else result.predictions,
                              created=item_import.rows_total)


@shared_task(acks_late=True)
def import_job(import_id: int) -> None:
    run_import(import_id=import_id)


@shared_task(acks_late=True)
def resume_stale_imports() -> int:
    """Beat: imports whose job was lost run again, followed by their automation."""
    stale = marketplace.imports_resume_stale()
    for import_id in stale:
        import_job.delay(import_id)
    return len(stale)
