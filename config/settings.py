"""Quorum settings: everything that differs between machines comes from the environment."""
from datetime import timedelta
from pathlib import Path

import dj_database_url

from .env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "")
# Keys that are public (in this repository or its docs) and so sign nothing.
KNOWN_INSECURE_SECRET_KEYS = {"", "insecure-local-development-key-change-me",
                              "change-me-in-production", "change-me", "build", "secret"}
# A configured broker means a real deployment (docker-compose, production); without one
# Quorum runs in the zero-setup mode of `make run` and the tests, where the local key is
# fine. DJANGO_REQUIRE_SECRET_KEY forces the check anywhere.
if not DEBUG and (env_str("CELERY_BROKER_URL", "") or env_bool("DJANGO_REQUIRE_SECRET_KEY", False)):
    if SECRET_KEY in KNOWN_INSECURE_SECRET_KEYS or len(SECRET_KEY) < 32:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set to a private value of at least 32 characters in a "
            "deployment (DJANGO_DEBUG is false and a Celery broker is configured); e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))'.")
if not SECRET_KEY:
    # Only for the zero-setup local default; docker-compose and production set their own.
    SECRET_KEY = "insecure-local-development-key-change-me"
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "axes",
    "drf_spectacular_sidecar",
    "csp",
    "accounts",
    "marketplace",
    "workers",
    "qa",
    "payments",
    "flows",
    "privacy",
    "web",
    "console",
    "simulation",
    "automation",
]

MIDDLEWARE = [
    "config.logging.RequestLogMiddleware",
    "config.middleware.InputGuardMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files (the worker app, /admin/, Swagger UI, ReDoc) from the app itself.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.content_security.CSPMiddleware",  # django-csp, its policy built once
    # Sessions, the session's user and messages for the pages only (config/page_state.py).
    "config.page_state.PageSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "config.page_state.PageAuthenticationMiddleware",
    "config.page_state.PageMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Near the end, so that its process_exception sees a view's exception first.
    "config.middleware.DatabaseErrorMiddleware",
    # Admin login throttle (config/admin_login.py); axes wants to be last.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "config.admin_login.AdminLoginGuardBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# django-axes on the admin login only (the API login has THROTTLE_AUTH_RATE): after
# ADMIN_LOGIN_FAILURE_LIMIT failures for one username from one address, 429 for
# ADMIN_LOGIN_COOLOFF_MINUTES. Every failure is kept (AccessAttempt, AccessFailureLog).
AXES_ONLY_ADMIN_SITE = True
AXES_FAILURE_LIMIT = env_int("ADMIN_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("ADMIN_LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_HANDLER = "config.admin_login.AdminOnlyDatabaseHandler"
# The admin login form posts "username" (our USERNAME_FIELD is email).
AXES_USERNAME_FORM_FIELD = "username"

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "accounts.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'quorum.sqlite3'}"),
        # Persistent connections: the claim hot path must not pay a TCP + auth handshake.
        # Under gunicorn's gthread workers each thread keeps one, so workers x threads
        # connections per web container (bench/cycle.py measured this against the pool).
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 600, minimum=0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, its health check run at most once per interval per connection
    # (config/postgresql/base.py).
    DATABASES["default"]["ENGINE"] = "config.postgresql"
# A connection checked (or opened) this recently is used without a `SELECT 1` first.
DATABASE_HEALTH_CHECK_SECONDS = env_int("DATABASE_HEALTH_CHECK_SECONDS", 1, minimum=0)
if DATABASES["default"]["ENGINE"] == "config.postgresql":
    # The hot path's compiled reads (config/compiled_query.py: the token lookup, the
    # assignment, answer, worker and quality-record reads and locks) are prepared on their
    # fifth run on a connection, so PostgreSQL stops planning them again. Django's own queries bind
    # on the client and are never prepared. Behind a transaction-mode pooler (PgBouncer
    # before 1.21) prepared statements break: set DATABASE_PREPARE_THRESHOLD=off there.
    _prepare_threshold = env_str("DATABASE_PREPARE_THRESHOLD", "5")
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = (
        None if _prepare_threshold.lower() in ("off", "none", "") else int(_prepare_threshold))
if DATABASES["default"]["ENGINE"] == "config.postgresql" and env_bool("DATABASE_POOL", False):
    # Django 5.2's psycopg pool, shared by the threads of a process: fewer connections
    # when many threads sit idle (more web threads than the database should serve).
    # The pool replaces persistent connections, which Django then refuses.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env_int("DATABASE_POOL_MIN_SIZE", 2, minimum=0),
        "max_size": env_int("DATABASE_POOL_MAX_SIZE", 8, minimum=1),
        "timeout": env_int("DATABASE_POOL_TIMEOUT_SECONDS", 10, minimum=1),
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite has no row locks: IMMEDIATE transactions take the write lock up front, so
    # claims are serialised instead of failing on lock upgrades; the busy timeout turns
    # contention into waiting.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE"})

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Without a collectstatic step (make run, tests) whitenoise serves from the app folders;
# the Docker image runs collectstatic and may turn this off.
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", True)

# --- Worker web app (web/): sessions, CSRF, Content-Security-Policy ----------------------
LOGIN_URL = "/login/"
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", False)
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 14 * 24 * 3600, minimum=300)
# No inline scripts or styles anywhere: every page loads its ES modules from static/.
# ReDoc alone injects <style> tags; its view widens style-src for itself (config/urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # Requesters host item images themselves (https), demo images are data: URLs.
        "img-src": ["'self'", "data:", "https:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- Uploads -----------------------------------------------------------------------------
# One limit for every item upload (inline JSON or file); bigger requests answer 413.
MAX_UPLOAD_BYTES = env_int("MAX_UPLOAD_BYTES", 100 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Uploads with more rows than this run as a Celery import with a progress record.
IMPORT_SYNC_MAX_ROWS = env_int("IMPORT_SYNC_MAX_ROWS", 1000, minimum=1)

# --- Sensitive data (privacy/) -------------------------------------------------------------
# Regions whose national phone formats are recognised without a "+" prefix.
PII_PHONE_REGIONS = env_list("PII_PHONE_REGIONS", "US,GB,DE,FR,ES,IT")
# An installed spaCy model (e.g. en_core_web_lg) adds PERSON and LOCATION detection.
PII_SPACY_MODEL = env_str("PII_SPACY_MODEL", "")

# --- API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        # Bounded nesting, no NUL or lone surrogates, 64-bit integers (config/input_rules.py).
        "config.parsers.JSONParser",
        "config.parsers.MultiPartParser",
        "config.parsers.FormParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "config.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "config.schema.QuorumAutoSchema",
    "EXCEPTION_HANDLER": "config.errors.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "auth": env_str("THROTTLE_AUTH_RATE", "30/min"),
        # Per worker: asking for work and submitting it.
        "worker_next": env_str("THROTTLE_WORKER_NEXT_RATE", "120/min"),
        "worker_submit": env_str("THROTTLE_WORKER_SUBMIT_RATE", "120/min"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Throttles key on the client address. 0 trusted proxies means X-Forwarded-For is
    # ignored (gunicorn faces clients directly); set it to the number of proxies in front.
    "NUM_PROXIES": env_int("NUM_PROXIES", 0, minimum=0),
}

TOKEN_TTL_HOURS = env_int("TOKEN_TTL_HOURS", 24 * 30, minimum=1)
REST_KNOX = {
    "AUTH_HEADER_PREFIX": "Bearer",
    "TOKEN_TTL": timedelta(hours=TOKEN_TTL_HOURS),
    # Sliding refresh would make expires_at move under the client's feet.
    "AUTO_REFRESH": False,
    "TOKEN_LIMIT_PER_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Quorum API",
    "DESCRIPTION": "Crowdsourcing marketplace for data labeling: projects, items, "
    "routing to vetted workers, quality control, aggregation and payouts.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and ReDoc from drf-spectacular-sidecar's static files: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No call to the public validator service: the docs work offline.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
}

# --- Cache, Celery -----------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    # Django's Redis cache, but one redis.Redis per pool instead of one per command.
    CACHES = {"default": {"BACKEND": "config.cache.QuorumRedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Each process's own memory, for figures that are approximate for minutes by design (the
# effective hourly rate): a read costs no Redis round trip, which on the worker's next
# was one in nine of a cycle's. Never for anything a change must be seen through at once.
CACHES["process"] = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                     "LOCATION": "quorum-process"}

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "")
# No broker configured means the explicit zero-setup mode: tasks run inline (eagerly).
# This is announced at start-up (config/celery.py); it is never a fallback for a broker
# that is configured but down.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
# The flows define their jobs beside the flow they run (flows/*.py), not in a tasks module.
CELERY_IMPORTS = ("flows.automation", "flows.decisions", "flows.imports",
                  "flows.prediction_endpoints", "flows.projects", "flows.results", "flows.work")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis redelivers a job whose worker died (acks_late) once it has been unacknowledged
# this long; it must outlast the longest job (a payout batch takes seconds).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT_SECONDS", 3600, minimum=1)}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Periodic jobs. Under Celery beat in production; `manage.py run_periodic_jobs` runs the
# same schedule in-process for the zero-setup mode (no broker, no beat).
CELERY_BEAT_SCHEDULE: dict = {
    "purge-expired-tokens": {"task": "accounts.tasks.purge_expired_tokens",
                             "schedule": 3600.0},
    "expire-leases": {"task": "marketplace.tasks.expire_leases", "schedule": 30.0},
    "auto-approve": {"task": "flows.decisions.auto_approve_submissions",
                     "schedule": 60.0},
    # Webhook retries live on the delivery rows; this sweep sends what is due.
    "deliver-webhooks": {"task": "marketplace.webhooks.tasks.deliver_due_webhooks",
                         "schedule": 30.0},
    "grading-sweep": {"task": "flows.results.sweep_ungraded", "schedule": 120.0},
    # Simulations run here when there is no broker (never inside the request), and
    # otherwise when their job message was lost.
    "run-queued-simulations": {"task": "simulation.tasks.run_queued_simulations",
                               "schedule": 15.0},
    "resume-stale-prediction-runs": {
        "task": "flows.prediction_endpoints.resume_stale_prediction_runs", "schedule": 300.0},
    "resume-stale-imports": {"task": "flows.imports.resume_stale_imports",
                             "schedule": 300.0},
    # Retention: hourly is plenty for a limit counted in days; each run is idempotent.
    "apply-retention": {"task": "marketplace.tasks.apply_retention", "schedule": 3600.0},
    # Payments: each job is idempotent (journal keys, compare-and-swap statuses).
    "payments-release-held-earnings": {"task": "payments.tasks.release_held_earnings",
                                       "schedule": 600.0},
    "payments-reconcile-topups": {"task": "payments.tasks.reconcile_topups",
                                  "schedule": 600.0},
    "payments-reconcile-payouts": {"task": "payments.tasks.reconcile_payouts",
                                   "schedule": 600.0},
    "payments-release-escrow": {"task": "payments.tasks.release_closed_project_escrow",
                                "schedule": 3600.0},
    "payments-weekly-payout-run": {"task": "payments.tasks.run_payouts",
                                   "schedule": 7 * 24 * 3600.0},
}

# --- Routing and assignments ---------------------------------------------------------------
# A heartbeat gap longer than this counts as this much active time (worker stepped away).
HEARTBEAT_MAX_GAP_SECONDS = env_int("HEARTBEAT_MAX_GAP_SECONDS", 60, minimum=1)
# A worker's routable projects are cached between claims (marketplace/routing_cache.py),
# dropped on every change signals see; this bounds the life of an entry in any case.
ROUTING_CACHE_SECONDS = env_int("ROUTING_CACHE_SECONDS", 300, minimum=1)
# A project's quality settings are cached between submits (qa/settings_cache.py), dropped
# on every save; this bounds the life of an entry in any case.
QUALITY_SETTINGS_CACHE_SECONDS = env_int("QUALITY_SETTINGS_CACHE_SECONDS", 300, minimum=1)
# Longest life of a worker's cached token identity (accounts/identity_cache.py); 0: none.
AUTH_IDENTITY_CACHE_SECONDS = env_int("AUTH_IDENTITY_CACHE_SECONDS", 60, minimum=0)
# Likewise the events each organization's webhooks listen to (marketplace/webhooks/
# subscriptions.py).
WEBHOOK_SUBSCRIPTIONS_CACHE_SECONDS = env_int("WEBHOOK_SUBSCRIPTIONS_CACHE_SECONDS", 300,
                                              minimum=1)
# The aggregation job starts this long after the first request that queued it, so that it
# finds a batch of tasks rather than one (flows/results.py): a job's fixed cost (its
# statements, the Celery round trips) spread over the tasks the delay gathered.
AGGREGATION_DELAY_MS = env_int("AGGREGATION_DELAY_MS", 500, minimum=0)

# --- Workers ----------------------------------------------------------------------------
# Workers cleared for sensitive data must have accepted this version of the terms.
CONFIDENTIALITY_TERMS_VERSION = env_str("CONFIDENTIALITY_TERMS_VERSION", "2026-01")

# --- Platform money settings (used by payments) -------------------------------------------
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY", "")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET", "")
STRIPE_API_BASE = env_str("STRIPE_API_BASE", "")
PAYOUT_PROVIDER = env_str("PAYOUT_PROVIDER", "manual")
# Zero-setup mode's test money (payments/sandbox.py): top-ups succeed at once through the
# Stripe webhook's code path and PAYOUT_PROVIDER=sandbox payouts are marked paid. Off
# unless asked for (`make run` asks when no STRIPE_SECRET_KEY is set).
PAYMENTS_SANDBOX = env_bool("PAYMENTS_SANDBOX", False)
PLATFORM_FEE_PERCENT = env_int("PLATFORM_FEE_PERCENT", 20, minimum=0)
EARNINGS_HOLD_SECONDS = env_int("EARNINGS_HOLD_SECONDS", 7 * 24 * 3600, minimum=0)
MIN_PAYOUT_CENTS = env_int("MIN_PAYOUT_CENTS", 1000, minimum=0)
MIN_EFFECTIVE_HOURLY_CENTS = env_int("MIN_EFFECTIVE_HOURLY_CENTS", 1200, minimum=0)
# Stripe calls: a timeout is an unknown outcome (money stays put, reconcile asks later).
STRIPE_TIMEOUT_SECONDS = env_int("STRIPE_TIMEOUT_SECONDS", 30, minimum=1)
STRIPE_MAX_NETWORK_RETRIES = env_int("STRIPE_MAX_NETWORK_RETRIES", 2, minimum=0)
# Reconcile jobs leave payouts / top-ups alone for this long after the last attempt.
PAYOUT_RECONCILE_AFTER_SECONDS = env_int("PAYOUT_RECONCILE_AFTER_SECONDS", 600, minimum=0)
# Payout runs fan out to Celery jobs of this many workers; each job makes at most this
# many transfers at a time (the provider's latency, not our CPU, bounds a run).
PAYOUT_BATCH_SIZE = env_int("PAYOUT_BATCH_SIZE", 250, minimum=1)
PAYOUT_TRANSFER_CONCURRENCY = env_int("PAYOUT_TRANSFER_CONCURRENCY", 8, minimum=1)
TOPUP_RECONCILE_AFTER_SECONDS = env_int("TOPUP_RECONCILE_AFTER_SECONDS", 600, minimum=0)
# Where Stripe Connect onboarding sends the worker back to (the worker app).
PAYOUT_ONBOARDING_RETURN_URL = env_str("PAYOUT_ONBOARDING_RETURN_URL",
                                       "http://127.0.0.1:8000/payout-account/done")
PAYOUT_ONBOARDING_REFRESH_URL = env_str("PAYOUT_ONBOARDING_REFRESH_URL",
                                        "http://127.0.0.1:8000/payout-account/retry")
WEBHOOK_ALLOW_PRIVATE_URLS = env_bool("WEBHOOK_ALLOW_PRIVATE_URLS", False)
# Attempts per webhook delivery before giving up (backoff 30 s, 1 min, 2 min ... 1 h).
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 8, minimum=1)
# Prediction endpoints (a requester's model server, automation app): attempts per batch on
# network errors, 429 and 5xx, waiting BACKOFF x 1, 2, 4 ... seconds in between. Behind the
# same SSRF guard as webhooks (WEBHOOK_ALLOW_PRIVATE_URLS).
PREDICTION_ENDPOINT_MAX_ATTEMPTS = env_int("PREDICTION_ENDPOINT_MAX_ATTEMPTS", 3, minimum=1)
PREDICTION_ENDPOINT_BACKOFF_SECONDS = env_int("PREDICTION_ENDPOINT_BACKOFF_SECONDS", 2,
                                              minimum=0)

# --- Logging: one JSON line per request (config/logging.py) ------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "config.logging.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "loggers": {
        "quorum": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO"),
                   "propagate": False},
        "django": {"handlers": ["console"], "level": "WARNING"},
    },
}
