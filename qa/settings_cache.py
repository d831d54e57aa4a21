"""A project's quality settings, cached between submissions.

Every submit reads them (the spot-check rate, the gold tolerances and the rules' limits)
and they change only when a requester edits them. The entry is the row (or "no row":
the defaults apply) in the Django cache (Redis in production), tagged with the project's
version token, which a save or delete of the row bumps: no entry outlives a committed
change (config/versioned_cache.py). Entries also expire after
QUALITY_SETTINGS_CACHE_SECONDS, a bound on a change no signal saw (a queryset
``update()``: keep writes to single-row saves).

Inside ``quality_settings_memo()`` (one submit: flows/work.py) the entry is read from the
cache once per project instead of at each of the submit's three readers (review sampling,
gold tolerances and rules, the accuracy rule): the settings cannot change under a unit of
work that does not write them, and a save inside the block drops the memo entry anyway.
"""
import copy
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db.models.signals import post_delete, post_save

from config.versioned_cache import bump_now_and_after_commit, cached

from .models import QualitySettings

ENTRY_VERSION = 2
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


def cache_keys(project_id: int) -> list[str]:
    """The keys a read of the project's settings takes, for a request to fetch ahead."""
    return [_token_key(project_id), _entry_key(project_id)]


def _cached_row(*, project_id: int):
    """The settings row or _NO_ROW, from the cache (filled from the database if stale)."""
    def compute():
        row = QualitySettings.objects.filter(project_id=project_id).first()
        return row if row is not None else _NO_ROW

    token, entry = cache_keys(project_id)
    return cached(tokens=[token], entry=entry, compute=compute,
                  timeout=settings.QUALITY_SETTINGS_CACHE_SECONDS)


def _settings_changed(sender, instance, **_kwargs) -> None:
    project_id = instance.project_id
    memo = _memo.get()
    if memo is not None:
        memo.pop(project_id, None)
    bump_now_and_after_commit(_token_key(project_id))


def connect_signals() -> None:
    """Called once from QaConfig.ready()."""
    post_save.connect(_settings_changed, sender=QualitySettings,
                      dispatch_uid="quality_cache:save")
    post_delete.connect(_settings_changed, sender=QualitySettings,
                        dispatch_uid="quality_cache:delete")
