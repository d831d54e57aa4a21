from celery import shared_task

from .services import item_import_run


@shared_task(acks_late=True)
def run_item_import(import_id: int) -> None:
    item_import_run(import_id=import_id)
