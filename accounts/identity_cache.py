"""A worker's bearer token and the identity behind it, cached between requests.

Every API request looks its token up with the user, the user's organization membership
and worker profile joined: one query and four model instances, 11 % of a worker's next ->
submit cycle's instructions (bench/cycle_instructions.py) and a third of its statements
besides the work itself. For workers the answer is kept in the Django cache (Redis in
production), under the token's key, tagged with that key's version token.

Guarantee: an entry never outlives a committed change of what it holds
(config/versioned_cache.py): a token revoked (deleted), its user saved or deleted (an
account closed, a password set) or its worker profile saved or deleted (a status, a
clearance, terms accepted) bumps the version of every token key of that user, when
saved and again after commit. A revoked token is refused by the very next request.
Entries also expire after AUTH_IDENTITY_CACHE_SECONDS, a bound on a change no signal saw
(a queryset ``update()`` bypasses signals: the services use none on these rows; keep it
so, or bump here). Each request still checks the token's digest and expiry against the
entry, so the cache never accepts a token the database would refuse. The user's password
hash is not in the entry.

Only workers are kept: a requester's identity includes its organization, whose changes
would need signals of their own, and requesters are not the hot path. Keys with no live
token are not kept either, so made-up tokens cannot fill the cache.

Each process also remembers which user and worker profile a token key it authenticated
belongs to (``known_identity``): never a reason to accept a token, only what lets a worker
request fetch its throttle window and routing entry in the identity's round trip
(config/request_batch.py). A token's user never changes, nor a worker profile's user.
"""
from collections.abc import Callable

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from knox.models import AuthToken

from config.versioned_cache import bump_now_and_after_commit, cached

from .enums import Role

ENTRY_VERSION = 1
# Token keys remembered per process; past this the map starts again (a worker's next
# request fills it back).
KNOWN_IDENTITIES_LIMIT = 100_000

# token key -> (user id, worker profile id or None). Written only after a successful
# authentication, so made-up tokens cannot fill it; read and written by request threads
# (single dict operations, atomic under the GIL).
_known_identities: dict[str, tuple[int, int | None]] = {}


def _version_key(token_key: str) -> str:
    return f"auth:v:{token_key}"


def _entry_key(token_key: str) -> str:
    return f"auth:e{ENTRY_VERSION}:{token_key}"


def _only_workers(tokens: list) -> bool:
    return bool(tokens) and all(token.user.role == Role.WORKER for token in tokens)


def cache_keys(token_key: str) -> list[str]:
    """The keys ``live_tokens`` reads, for a request to fetch ahead."""
    return [_version_key(token_key), _entry_key(token_key)]


def remember_identity(*, token_key: str, user) -> None:
    profile = getattr(user, "worker_profile", None)  # joined in; None for a requester
    identity = (user.pk, profile.pk if profile is not None else None)
    if _known_identities.get(token_key) == identity:
        return
    if len(_known_identities) >= KNOWN_IDENTITIES_LIMIT:
        _known_identities.clear()
    # Also when it changed: a worker profile created after the key was first seen.
    _known_identities[token_key] = identity


def forget_identity(token_key: str) -> None:
    _known_identities.pop(token_key, None)


def known_identity(token_key: str) -> tuple[int, int | None] | None:
    """(user id, worker profile id or None) this process authenticated the key as, if it
    did: a hint of which keys to fetch, never proof of anything."""
    return _known_identities.get(token_key)


def live_tokens(*, token_key: str, load: Callable[[], list]) -> list:
    """The live tokens under this key, user and profile attached: from the cache, or
    ``load()`` (and kept if they are workers')."""
    if not settings.AUTH_IDENTITY_CACHE_SECONDS:
        return load()

    def load_without_password() -> list:
        tokens = load()
        for token in tokens:
            # Deferred, not blanked: read from the database if a request needs it, and
            # a save() without update_fields then leaves it alone, as for any deferred
            # field.
            token.user.__dict__.pop("password", None)
        return tokens

    version_key, entry_key = cache_keys(token_key)
    return cached(tokens=[version_key], entry=entry_key,
                  compute=load_without_password, timeout=settings.AUTH_IDENTITY_CACHE_SECONDS,
                  keep=_only_workers)


# --- invalidation ----------------------------------------------------------------------------

def _keys_changed(token_keys) -> None:
    for token_key in token_keys:
        bump_now_and_after_commit(_version_key(token_key))


def _user_changed(user_id: int) -> None:
    _keys_changed(AuthToken.objects.filter(user_id=user_id)
                  .values_list("token_key", flat=True))


def _token_row_changed(sender, instance, **_kwargs) -> None:
    _keys_changed([instance.token_key])


def _user_row_changed(sender, instance, **_kwargs) -> None:
    _user_changed(instance.pk)


def _profile_row_changed(sender, instance, **_kwargs) -> None:
    _user_changed(instance.user_id)


def connect_signals() -> None:
    """Called once from AccountsConfig.ready(). Lazy "app.Model" senders: no import of the
    workers app's models here."""
    for name, signal in (("save", post_save), ("delete", post_delete)):
        for sender, receiver in ((AuthToken, _token_row_changed),
                                 (settings.AUTH_USER_MODEL, _user_row_changed),
                                 ("workers.WorkerProfile", _profile_row_changed)):
            signal.connect(receiver, sender=sender, weak=False,
                           dispatch_uid=f"identity_cache:{name}:{sender}")
