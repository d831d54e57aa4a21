"""A large upload: the import row and its payload commit first, then the Celery job
parses and stores the rows (marketplace.tasks.run_item_import); a job lost between
the two is picked up again by the stale-import sweep."""
from django.db import transaction

from accounts.models import User
from marketplace import services as marketplace
from marketplace.models import ItemImport, Project
from marketplace.tasks import run_item_import


def import_in_background(*, project: Project, actor: User, payload: bytes,
                         file_format: str, rows_total: int, is_gold: bool) -> ItemImport:
    with transaction.atomic():
        item_import = marketplace.item_import_enqueue(
            project=project, actor=actor, payload=payload, file_format=file_format,
            rows_total=rows_total, is_gold=is_gold)
        # robust: the import row is committed whatever happens to the enqueue.
        transaction.on_commit(lambda: run_item_import.delay(item_import.pk), robust=True)
    return item_import
