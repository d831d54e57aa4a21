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

Inside ``quality_settings_memo()`` (one submit: flows/work.py) the entry is read from the
cache once per project instead of at each of the submit's three readers (review sampling,
gold tolerances and rules, the accuracy rule): the settings cannot change under a unit of
work that does not write them, and a save inside the block drops the memo entry anyway.
"""
import copy
import uuid
from contextlib import contextmanager
from contextvars import ContextVar

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


# project id -> the cached row (or _NO_ROW), while a quality_settings_memo() is open.
_memo: ContextVar[dict | None] = ContextVar("quality_settings_memo", default=None)


@contextmanager
def quality_settings_memo():
    """Read each project's settings from the cache at most once inside the block."""
    reset_token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(reset_token)


def quality_settings_cached(*, project) -> QualitySettings:
    memo = _memo.get()
    row = memo.get(project.pk) if memo is not None else None
    if row is None:
        row = _cached_row(project_id=project.pk)
        if memo is not None:
            memo[project.pk] = row
    if row == _NO_ROW:
        return QualitySettings(project=project)
    row = copy.copy(row)  # each caller its own instance, as an unpickled entry was
    row.project = project  # the caller's copy, not a second query
    return row


def _cached_row(*, project_id: int):
    """The settings row or _NO_ROW, from the cache (filled from the database if stale)."""
    keys = [_token_key(project_id), _entry_key(project_id)]
    found = cache.get_many(keys)
    token = found.get(keys[0])
    if token is None:
        cache.add(keys[0], uuid.uuid4().hex, timeout=None)
        token = cache.get(keys[0])
    entry = found.get(keys[1])
    if entry is None or entry["token"] != token:
        row = QualitySettings.objects.filter(project_id=project_id).first()
        entry = {"token": token, "row": row if row is not None else _NO_ROW}
        cache.set(keys[1], entry, timeout=settings.QUALITY_SETTINGS_CACHE_SECONDS)
    return entry["row"]


def _bump(project_id: int) -> None:
    cache.set(_token_key(project_id), uuid.uuid4().hex, timeout=None)


def _settings_changed(sender, instance, **_kwargs) -> None:
    project_id = instance.project_id
    memo = _memo.get()
    if memo is not None:
        memo.pop(project_id, None)
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
