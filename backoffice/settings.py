"""Settings, read from the environment.

SQLite is the default (no set-up); ``DATABASE_URL`` selects PostgreSQL, e.g.
``postgres://user@/backoffice?host=/tmp/pgsock``. Business numbers from DOMAIN.md are
plain settings so operators can change them; code reads them through ``django.conf.settings``.
"""

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def env_header_pair(name: str) -> tuple[str, str] | None:
    """``"HTTP_X_FORWARDED_PROTO,https"`` as Django's (header, value) pair; unset is None."""
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    header, _comma, expected = (part.strip() for part in value.partition(","))
    if not header or not expected:
        raise ImproperlyConfigured(
            f"{name} must be '<header>,<value>', e.g. HTTP_X_FORWARDED_PROTO,https."
        )
    return header, expected


DEBUG = env_bool("DJANGO_DEBUG", False)

# --- Production settings (docs/operations.md "Production settings"). ---
# No secret lives in the code: without DEBUG the process refuses to start without
# DJANGO_SECRET_KEY (a key of its own per process would break sessions, CSRF and password-reset
# links across workers and restarts). DEBUG uses a fixed development key.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "").strip()
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. With DEBUG off every process needs the same secret "
            "key: set DJANGO_SECRET_KEY (at least 50 random characters, e.g. from "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`), or set "
            "DJANGO_DEBUG=1 for development. See docs/operations.md."
        )
    SECRET_KEY = "dev-only-insecure-key-never-use-in-production"

ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

# HTTPS, cookies and headers: production-safe unless DEBUG is on, each overridable, so that
# `manage.py check --deploy` is clean with the documented production environment.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("DJANGO_SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("DJANGO_CSRF_COOKIE_SECURE", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = os.environ.get("DJANGO_SECURE_REFERRER_POLICY", "same-origin")
X_FRAME_OPTIONS = os.environ.get("DJANGO_X_FRAME_OPTIONS", "DENY")
# Behind a TLS-terminating proxy: "HTTP_X_FORWARDED_PROTO,https" trusts that header to say
# the request came over HTTPS. Only set it when the proxy always sets (or strips) the header.
SECURE_PROXY_SSL_HEADER = env_header_pair("DJANGO_SECURE_PROXY_SSL_HEADER")

INSTALLED_APPS = [
    # The composition root (backoffice/composition/: root schema, urls, imports, seed_demo...),
    # first: its
    # export_schema command wins over strawberry_django's.
    "backoffice.composition",
    "backoffice",  # the kernel every app may use (README "Layout")
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "strawberry_django",
    "import_export",  # admin exports (backoffice/exports.py): its templates
    "accounts",
    "orders",
    "payouts",
    "disputes",
    "axes",  # failed sign-ins and lockouts (see "Brute-force protection" below)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After sessions, before common: the language of the request (cookie, else Accept-Language).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After auth: a bearer token replaces the session user. It runs before any view
    # middleware, so CSRF is skipped only for token requests (no cookies involved).
    "accounts.auth.BearerTokenMiddleware",
    # After both: a signed-in user's saved language wins over the cookie and the browser.
    "backoffice.i18n.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into its lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "backoffice.composition.urls"
WSGI_APPLICATION = "backoffice.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # backoffice/templates is found as the first app's: listing it in DIRS too made every
        # template that extends its namesake (admin/index.html) render twice.
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
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        # Kept between requests (a PostgreSQL connection is a new server process), checked
        # before reuse; 0 opens one per request.
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Serialise writers instead of failing with "database is locked"; write-ahead logging, so
    # that readers never hold a writer back (nor the writer the readers) under load.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL",
        }
    )

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# English and Simplified Chinese (docs/glossary.md, README "Translations"): the request's
# language is the user's saved one, else the language cookie (the admin's switcher), else the
# browser's Accept-Language, else LANGUAGE_CODE. Notices follow the recipient's language.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The sign-in page for every user (sellers too); the admin keeps its own, staff-only login.
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/graphql/"
LOGOUT_REDIRECT_URL = "login"
# A request to /graphql/ refused by CSRF gets a JSON error with a code, not an HTML page.
CSRF_FAILURE_VIEW = "backoffice.composition.views.csrf_failure"

# --- Brute-force protection (django-axes): failed sign-ins are counted per username *and*
# client address; at AXES_FAILURE_LIMIT that pair is locked out for AXES_COOLOFF_MINUTES
# (0: until staff unlock it in the admin, "Access attempts"). The axes backend must come first.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15)) or None
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = env_bool("AXES_RESET_ON_SUCCESS", True)
# The admin pages of the attempts are registered by accounts/admin.py (with an Unlock action).
AXES_ENABLE_ADMIN = False
# The admin login and the sign-in page show this page (HTTP 429); the GraphQL login answers
# with OperationInfo instead (accounts.auth.lockout_response).
AXES_LOCKOUT_CALLABLE = "accounts.auth.lockout_response"
# The client address is REMOTE_ADDR: behind a reverse proxy it must be the client's own (or
# set AXES_CLIENT_IP_CALLABLE), else every client shares the proxy's address.

# Personal API tokens: how many live (not revoked) tokens one user may hold.
API_TOKENS_MAX_LIVE = env_int("API_TOKENS_MAX_LIVE", 10)

EMAIL_BACKEND = os.environ.get(
    "DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)

STRAWBERRY_DJANGO = {
    "MUTATIONS_DEFAULT_HANDLE_ERRORS": True,
    "MUTATIONS_DEFAULT_ARGUMENT_NAME": "input",
    "MAP_AUTO_ID_AS_GLOBAL_ID": True,
    "GENERATE_ENUMS_FROM_CHOICES": True,
    "PAGINATION_DEFAULT_LIMIT": 100,
    "PAGINATION_MAX_LIMIT": 100,
}

# GraphQL cost limits (see backoffice/composition/schema.py).
GRAPHQL_MAX_DEPTH = env_int("GRAPHQL_MAX_DEPTH", 10)
GRAPHQL_MAX_ALIASES = env_int("GRAPHQL_MAX_ALIASES", 15)
GRAPHQL_MAX_TOKENS = env_int("GRAPHQL_MAX_TOKENS", 2000)
# Who may introspect the schema: always | authenticated | never
# (backoffice/graphql/introspection.py).
GRAPHQL_INTROSPECTION = os.environ.get(
    "GRAPHQL_INTROSPECTION", "always" if DEBUG else "authenticated"
).strip()
if GRAPHQL_INTROSPECTION not in {"always", "authenticated", "never"}:
    raise ImproperlyConfigured("GRAPHQL_INTROSPECTION must be always, authenticated or never.")

# GraphiQL on GET /graphql/ (from backoffice/static/graphiql/, no CDN): on with DEBUG.
GRAPHIQL_ENABLED = env_bool("GRAPHIQL_ENABLED", DEBUG)

# --- Hostile requests (backoffice/composition/views.py): bounds on what one request may carry. ---
# JSON nested deeper than this in `variables` or `extensions` is refused before GraphQL reads it.
GRAPHQL_MAX_VARIABLE_DEPTH = env_int("GRAPHQL_MAX_VARIABLE_DEPTH", 32)
# A request body (outside file uploads) larger than this is refused (413 on /graphql/).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DJANGO_DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)

# --- The business numbers of DOMAIN.md (defaults; operators may override). ---
UNPAID_CANCEL_DAYS = env_int("UNPAID_CANCEL_DAYS", 20)
AUTO_CONFIRM_DAYS = env_int("AUTO_CONFIRM_DAYS", 60)
DISPUTE_WINDOW_DAYS = env_int("DISPUTE_WINDOW_DAYS", 15)
PAYMENT_REMINDER_INTERVAL_HOURS = env_int("PAYMENT_REMINDER_INTERVAL_HOURS", 24)
PAYMENT_REMINDER_TEXT = os.environ.get(
    "PAYMENT_REMINDER_TEXT",
    "Hello {buyer_name}, thank you for your order {order_number}. Your parcel is packed and "
    "will ship as soon as your payment arrives. If you need any help, just reply to this "
    "message.",
)
RESPONSE_DAYS = env_int("RESPONSE_DAYS", 5)
ESCALATE_AFTER_DAYS = env_int("ESCALATE_AFTER_DAYS", 15)
# A return the seller never confirms is refunded to the buyer this long after it began; staff
# owe arbitration a decision this long after escalation (a due date, not an automatic outcome).
RETURN_DAYS = env_int("RETURN_DAYS", 15)
ARBITRATION_SLA_DAYS = env_int("ARBITRATION_SLA_DAYS", 7)
# Service points (store health): a store starts with SERVICE_POINTS_START and loses
# SERVICE_POINTS_PER_PROTECTION_CLAIM for each refund the protection fund paid in the window.
SERVICE_POINTS_START = env_int("SERVICE_POINTS_START", 100)
SERVICE_POINTS_PER_PROTECTION_CLAIM = env_int("SERVICE_POINTS_PER_PROTECTION_CLAIM", 2)
HEALTH_WINDOW_DAYS = env_int("HEALTH_WINDOW_DAYS", 90)
EARLY_PAYOUT_DELAY_DAYS = env_int("EARLY_PAYOUT_DELAY_DAYS", 3)
# Promotion wallet arrears (CNY): freeze after the grace period, close when too large or old.
ARREARS_GRACE_DAYS = env_int("ARREARS_GRACE_DAYS", 3)
ARREARS_CLOSE_AMOUNT = Decimal(os.environ.get("ARREARS_CLOSE_AMOUNT", "10000"))
ARREARS_CLOSE_DAYS = env_int("ARREARS_CLOSE_DAYS", 90)
# The daily early-payout evaluation: a store is eligible when every threshold is met over
# the trailing HEALTH_WINDOW_DAYS; the reserve rate depends on how well it does.
EARLY_PAYOUT_MIN_OPERATING_DAYS = env_int("EARLY_PAYOUT_MIN_OPERATING_DAYS", 90)
EARLY_PAYOUT_MIN_ORDERS = env_int("EARLY_PAYOUT_MIN_ORDERS", 10)
EARLY_PAYOUT_MAX_DISPUTE_RATE = Decimal(os.environ.get("EARLY_PAYOUT_MAX_DISPUTE_RATE", "0.05"))
EARLY_PAYOUT_MAX_REFUND_RATE = Decimal(os.environ.get("EARLY_PAYOUT_MAX_REFUND_RATE", "0.10"))
EARLY_PAYOUT_MIN_POSITIVE_RATE = Decimal(os.environ.get("EARLY_PAYOUT_MIN_POSITIVE_RATE", "0.90"))
EARLY_PAYOUT_MIN_SERVICE_POINTS = env_int("EARLY_PAYOUT_MIN_SERVICE_POINTS", 90)
# The monthly statement PDF's font for Chinese text: a TrueType file (.ttf/.ttc). Empty: the
# first usual Debian path found (fonts-wqy-microhei, which make and the image install).
STATEMENT_PDF_FONT = os.environ.get("STATEMENT_PDF_FONT", "")
# Platform commission taken when escrow is released to a store (a store's own rate wins).
COMMISSION_RATE = Decimal(os.environ.get("COMMISSION_RATE", "0.05"))
RESERVE_RATE = Decimal(os.environ.get("RESERVE_RATE", "0.10"))
# Stores at least this good hold the lower reserve.
RESERVE_RATE_EXCELLENT = Decimal(os.environ.get("RESERVE_RATE_EXCELLENT", "0.05"))
EXCELLENT_MAX_DISPUTE_RATE = Decimal(os.environ.get("EXCELLENT_MAX_DISPUTE_RATE", "0.01"))
EXCELLENT_MIN_POSITIVE_RATE = Decimal(os.environ.get("EXCELLENT_MIN_POSITIVE_RATE", "0.97"))
# A staff override stands this long before the daily evaluation decides again.
EARLY_PAYOUT_OVERRIDE_DAYS = env_int("EARLY_PAYOUT_OVERRIDE_DAYS", 30)
RESERVE_RELEASE_ON_INELIGIBLE_DAYS = env_int("RESERVE_RELEASE_ON_INELIGIBLE_DAYS", 180)
RESERVE_RELEASE_ON_CLOSE_DAYS = env_int("RESERVE_RELEASE_ON_CLOSE_DAYS", 180)
# Requested payouts are held (not payable) while the store owes the platform (promotion arrears,
# refund debt) or has an active hold for one of these freeze reasons (comma-separated).
PAYOUT_HOLD_FREEZE_REASONS = tuple(
    r.strip()
    for r in os.environ.get("PAYOUT_HOLD_FREEZE_REASONS", "risk,compliance").split(",")
    if r.strip()
)
# A store settled in CNY is paid in CNY; a USD payout for it must be asked for explicitly and is
# refused unless this is on.
PAYOUT_ALLOW_USD_FOR_CNY_STORES = env_bool("PAYOUT_ALLOW_USD_FOR_CNY_STORES", False)
# Input bounds (docs/money.md "Input rules"): every amount a client, the admin or an import
# gives is at most MONEY_MAX_AMOUNT (either sign; far inside the columns' 12 integer digits, so
# sums stay readable); the USD/CNY rate (CNY per USD) lies within the band; free text (notes,
# descriptions, messages, reasons) holds at most TEXT_MAX_CHARS characters.
MONEY_MAX_AMOUNT = Decimal(os.environ.get("MONEY_MAX_AMOUNT", "10000000.00"))
EXCHANGE_RATE_MIN = Decimal(os.environ.get("EXCHANGE_RATE_MIN", "5"))
EXCHANGE_RATE_MAX = Decimal(os.environ.get("EXCHANGE_RATE_MAX", "10"))
TEXT_MAX_CHARS = env_int("TEXT_MAX_CHARS", 10_000)
# Admin exports (backoffice/exports.py): built in memory, so capped; a bigger list is refused
# with a message to narrow the filters. Exporting needs view + export_<model> permissions.
EXPORT_MAX_ROWS = env_int("EXPORT_MAX_ROWS", 20_000)
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "export"
# No admin imports through import-export resources: should one appear, it needs an explicit
# import_<model> permission instead of being open to any staff user (STYLE.md).
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "import"
# The admin's "Import a platform export" (backoffice/composition/admin_imports.py) runs as an
# import job
# (see "Import jobs" below): a preview may be confirmed for IMPORT_CONFIRM_MAX_AGE seconds;
# bigger files than IMPORT_MAX_UPLOAD_BYTES go through the command.
IMPORT_CONFIRM_MAX_AGE = env_int("IMPORT_CONFIRM_MAX_AGE", 3600)
IMPORT_MAX_UPLOAD_BYTES = env_int("IMPORT_MAX_UPLOAD_BYTES", 50 << 20)
# Limits on what an import reads (backoffice/imports/reading.py, docs/imports.md
# "Limits and
# hostile files"): a file past one is refused as a whole, naming the limit, before it costs
# unbounded time or memory. Rows count every row after the header, empty ones too.
IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", 1_000_000)
IMPORT_MAX_COLUMNS = env_int("IMPORT_MAX_COLUMNS", 500)
IMPORT_MAX_CELLS = env_int("IMPORT_MAX_CELLS", 30_000_000)
# CSV: characters in one cell, and in one line of the file (between two line breaks).
IMPORT_MAX_CELL_CHARS = env_int("IMPORT_MAX_CELL_CHARS", 131_072)
IMPORT_MAX_LINE_CHARS = env_int("IMPORT_MAX_LINE_CHARS", 1 << 20)
# XLSX: all parts uncompressed; the shared strings and any other part openpyxl reads whole.
IMPORT_MAX_XLSX_UNCOMPRESSED_BYTES = env_int("IMPORT_MAX_XLSX_UNCOMPRESSED_BYTES", 200 << 20)
IMPORT_MAX_XLSX_SHARED_STRINGS_BYTES = env_int("IMPORT_MAX_XLSX_SHARED_STRINGS_BYTES", 50 << 20)
# Old Excel .xls: the reader (xlrd) loads the whole file.
IMPORT_MAX_XLS_BYTES = env_int("IMPORT_MAX_XLS_BYTES", 32 << 20)
# How many due rows the deadlines runner handles per transaction.
DEADLINES_BATCH_SIZE = env_int("DEADLINES_BATCH_SIZE", 500)

# --- Deploying (issue 12; docs/operations.md "Deploying"): static files, health, logs. ---
# Static files: `collectstatic` writes them to STATIC_ROOT. With DJANGO_SERVE_STATIC (on unless
# DEBUG) this process serves them itself through WhiteNoise, under content-hashed names from the
# manifest that `collectstatic` writes, compressed, cached for a year. Off: DEBUG's runserver
# serves them from the apps, or a front server serves STATIC_ROOT. The tests turn it off
# (settings_test.py): they do not run `collectstatic`, and the manifest storage refuses to name
# a file that was not collected.
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", BASE_DIR / "staticfiles"))
SERVE_STATIC = env_bool("DJANGO_SERVE_STATIC", not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "backoffice.storage.StaticFilesStorage"
        if SERVE_STATIC
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
if SERVE_STATIC:
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
        "whitenoise.middleware.WhiteNoiseMiddleware",
    )

# Every request gets an id (the client's valid X-Request-ID, or a new one), echoed in the
# response's X-Request-ID and carried by every log line written while it runs. First, so
# that even a redirect to HTTPS carries it.
MIDDLEWARE.insert(0, "backoffice.request_id.RequestIdMiddleware")

# GET /health/ (backoffice/composition/health.py): database, cache, queue and deadline heartbeats;
# 200 when
# all pass, 500 naming the failing ones. JSON for `Accept: application/json` or ?format=json.
INSTALLED_APPS += ["health_check"]
# A deadline job whose last run finished longer ago than this makes /health/ unhealthy. Set
# it above the longest interval between two runs of one job (DEADLINES_CRON and overrides).
HEALTH_HEARTBEAT_MAX_AGE_MINUTES = env_int("HEALTH_HEARTBEAT_MAX_AGE_MINUTES", 15)
# The ledger's checks (manage.py check_ledger, payouts/checks.py) as a periodic task: cron of
# its runs (daily at 03:30 UTC by default; each run reads the whole ledger). The /health/
# "Ledger" line reads the last run.
LEDGER_CHECK_CRON = os.environ.get("LEDGER_CHECK_CRON", "30 3 * * *")
# Load balancers probe over plain HTTP inside the network: /health/ is not redirected to HTTPS.
SECURE_REDIRECT_EXEMPT = [r"^health/$"]

# Logs go to stderr, one line per record. LOG_FORMAT=json (the default without DEBUG) writes
# one JSON object per line: time, level, logger, message, request_id, exc_info (when an
# exception is logged). LOG_FORMAT=text (the default with DEBUG) is for people.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text" if DEBUG else "json").strip().lower()
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured("LOG_FORMAT must be json or text.")


# --- Outbound events, webhooks and notice e-mails (backoffice/composition/webhooks.py,
# accounts/notices.py,
# docs/operations.md "Events and webhooks") ---------------------------------------------------
# A webhook POST waits this long for an answer; a failed delivery is tried again after
# base, 2 x base, 4 x base... seconds, at most WEBHOOK_MAX_ATTEMPTS times in all; an endpoint
# whose last WEBHOOK_DISABLE_AFTER_FAILURES deliveries all failed for good is turned off.
WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "5"))
WEBHOOK_RETRY_BASE_SECONDS = env_int("WEBHOOK_RETRY_BASE_SECONDS", 60)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 8)
WEBHOOK_DISABLE_AFTER_FAILURES = env_int("WEBHOOK_DISABLE_AFTER_FAILURES", 5)
WEBHOOK_BATCH_SIZE = env_int("WEBHOOK_BATCH_SIZE", 50)
# Plain http:// and hosts on private, loopback or link-local addresses: refused unless this is
# on (development, tests against 127.0.0.1). Production keeps it off.
WEBHOOK_ALLOW_PRIVATE_URLS = env_bool("WEBHOOK_ALLOW_PRIVATE_URLS", DEBUG)
# Notice e-mails: retried after base, 2 x base... seconds, recorded as failed after the last.
NOTICE_EMAIL_MAX_ATTEMPTS = env_int("NOTICE_EMAIL_MAX_ATTEMPTS", 5)
NOTICE_EMAIL_RETRY_BASE_SECONDS = env_int("NOTICE_EMAIL_RETRY_BASE_SECONDS", 60)
# --- end of outbound events -------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "backoffice.request_id.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "backoffice.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# --- Background jobs (issue 12; docs/operations.md "Background jobs") ---
# The queue is procrastinate: on PostgreSQL its tables live in the same database and a worker
# process (`manage.py procrastinate worker`) runs the jobs. On SQLite its migrations are skipped
# (backoffice.jobs.ProcrastinateOnPostgresOnly) and it queues in memory: deferred jobs run
# in-process after commit, and `manage.py procrastinate worker` runs the periodic jobs itself.
# Last in INSTALLED_APPS: its ready() registers one periodic task per deadline job, which the
# apps before it have registered (backoffice.composition.apps.on_queue_ready).
INSTALLED_APPS += ["procrastinate.contrib.django"]
DATABASE_ROUTERS = ["backoffice.jobs.ProcrastinateOnPostgresOnly"]
PROCRASTINATE_ON_APP_READY = "backoffice.composition.apps.on_queue_ready"
# Every deadline job is a periodic task on this cron schedule (5 fields, or 6 with seconds
# last); DEADLINES_CRON_<JOB> (e.g. DEADLINES_CRON_PAYOUTS_EVALUATE_EARLY_PAYOUT) overrides one.
DEADLINES_CRON = os.environ.get("DEADLINES_CRON", "* * * * *")
DEADLINES_CRON_OVERRIDES = {
    name.removeprefix("DEADLINES_CRON_").lower(): cron
    for name, cron in os.environ.items()
    if name.startswith("DEADLINES_CRON_")
}
# A due row whose change raises is retried on the job's next runs, then parked (skipped until
# staff retry it from the admin's "Failed deadline items").
DEADLINES_MAX_ATTEMPTS = env_int("DEADLINES_MAX_ATTEMPTS", 3)
# Finished jobs are removed from the queue's table after this long, by a daily periodic task.
QUEUE_KEEP_HOURS = env_int("QUEUE_KEEP_HOURS", 7 * 24)
QUEUE_CLEANUP_CRON = os.environ.get("QUEUE_CLEANUP_CRON", "17 4 * * *")

# --- Import jobs (issue 12; docs/operations.md "Import jobs"): the admin's imports run off the
# request, on the queue (backoffice/composition/import_jobs.py). ---
# Uploads wait in the default storage (FileSystemStorage under MEDIA_ROOT unless STORAGES says
# otherwise) under this prefix until their job is over. Web processes and workers must share it.
MEDIA_ROOT = Path(os.environ.get("DJANGO_MEDIA_ROOT", BASE_DIR / "media"))
IMPORT_STORAGE_PREFIX = os.environ.get("IMPORT_STORAGE_PREFIX", "imports/")
# Rows per batch of a job's import; its progress (rows done) is written after each batch.
IMPORT_BATCH_SIZE = env_int("IMPORT_BATCH_SIZE", 2000)
# A job stuck in "doing" on a worker that stopped sending heartbeats for this long is queued
# again (a periodic check on IMPORT_STALLED_CRON); the workers' heartbeat interval and their own
# stalled-worker timeout follow it.
QUEUE_WORKER_HEARTBEAT_SECONDS = float(os.environ.get("QUEUE_WORKER_HEARTBEAT_SECONDS", "10"))
QUEUE_STALLED_WORKER_SECONDS = float(os.environ.get("QUEUE_STALLED_WORKER_SECONDS", "30"))
QUEUE_STALLED_CRON = os.environ.get("QUEUE_STALLED_CRON", "* * * * *")
PROCRASTINATE_WORKER_DEFAULTS = {
    "update_heartbeat_interval": QUEUE_WORKER_HEARTBEAT_SECONDS,
    "stalled_worker_timeout": QUEUE_STALLED_WORKER_SECONDS,
}
# Interactive requests (GraphQL, the admin) wait at most this long for a row lock on
# PostgreSQL (an import holds its stores' rows), then fail with "the store is busy" instead of
# waiting minutes. 0: no limit. Workers and commands are not limited.
INTERACTIVE_LOCK_TIMEOUT_MS = env_int("INTERACTIVE_LOCK_TIMEOUT_MS", 3000)
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.messages.middleware.MessageMiddleware") + 1,
    "backoffice.lock_timeout.InteractiveLockTimeoutMiddleware",
)
