"""A project's quality settings, cached between submissions.

Every submit reads them (the spot-check rate, the gold tolerances and the rules' limits)
and they change only when a requester edits them. The entry is the row (or "no row":
the defaults apply) in the Django cache (Redis in production), tagged with the project's
version token read *before* the database is. A save or delete of the row bumps the token
when saved and again after its transaction commits, the same guarantee as the routing
cache (marketplace/routing_cache.py): a reader that read the old row before the commit
tagged its entry with a token that the after-commit bump outdates, so no entry outlives a
committed change. Entries also expire after QUALITY_SETTINGS_CACHE_SECONDS, a bound on a
change no signal saw (a queryset ``update()``: keep writes to single-row saves).
"""
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from .models import QualitySettings

ENTRY_VERSION = 1
_NO_ROW = "none"


def _token_key(project_id: int) -> str:
    return f"quality:v:{project_id}"


def _entry_key(project_id: int) -> str:
    return f"quality:e{ENTRY_VERSION}:{project_id}"


def quality_settings_cached(*, project) -> QualitySettings:
    keys = [_token_key(project.pk), _entry_key(project.pk)]
    found = cache.get_many(keys)
    token = found.get(keys[0])
    if token is None:
        cache.add(keys[0], uuid.uuid4().hex, timeout=None)
        token = cache.get(keys[0])
    entry = found.get(keys[1])
    if entry is None or entry["token"] != token:
        row = QualitySettings.objects.filter(project_id=project.pk).first()
        entry = {"token": token, "row": row if row is not None else _NO_ROW}
        cache.set(keys[1], entry, timeout=settings.QUALITY_SETTINGS_CACHE_SECONDS)
    row = entry["row"]
    if row == _NO_ROW:
        return QualitySettings(project=project)
    row.project = project  # the caller's copy, not a second query
    return row


def _bump(project_id: int) -> None:
    cache.set(_token_key(project_id), uuid.uuid4().hex, timeout=None)


def _settings_changed(sender, instance, **_kwargs) -> None:
    project_id = instance.project_id
    _bump(project_id)
    # robust: the change is committed whatever the cache does; the entry's expiry bounds
    # what a failed bump leaves behind.
    transaction.on_commit(lambda: _bump(project_id), robust=True)


def connect_signals() -> None:
    """Called once from QaConfig.ready()."""
    post_save.connect(_settings_changed, sender=QualitySettings,
                      dispatch_uid="quality_cache:save")
    post_delete.connect(_settings_changed, sender=QualitySettings,
                        dispatch_uid="quality_cache:delete")
