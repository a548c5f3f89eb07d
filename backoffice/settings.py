"""Settings, read from the environment.

SQLite is the default (no set-up); ``DATABASE_URL`` selects PostgreSQL, e.g.
``postgres://user@/backoffice?host=/tmp/pgsock``. Business numbers from DOMAIN.md are
plain settings so operators can change them; code reads them through ``django.conf.settings``.
"""

import os
import secrets
import tempfile
from decimal import Decimal
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


DEBUG = env_bool("DJANGO_DEBUG", False)

# No secret lives in the code for production: without DJANGO_SECRET_KEY a non-DEBUG process
# gets a random key of its own (sessions then end when it restarts); DEBUG uses a fixed dev key.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or (
    "dev-only-insecure-key-never-use-in-production" if DEBUG else secrets.token_urlsafe(50)
)

ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "backoffice",  # first: its export_schema command wins over strawberry_django's
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
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After auth: a bearer token replaces the session user. It runs before any view
    # middleware, so CSRF is skipped only for token requests (no cookies involved).
    "backoffice.auth.BearerTokenMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "backoffice.urls"
WSGI_APPLICATION = "backoffice.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "backoffice" / "templates"],
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
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Serialise writers instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    )

AUTH_USER_MODEL = "accounts.User"
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
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "admin:login"

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

# GraphQL cost limits (see backoffice/schema.py).
GRAPHQL_MAX_DEPTH = env_int("GRAPHQL_MAX_DEPTH", 10)
GRAPHQL_MAX_ALIASES = env_int("GRAPHQL_MAX_ALIASES", 15)
GRAPHQL_MAX_TOKENS = env_int("GRAPHQL_MAX_TOKENS", 2000)

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
RESERVE_RATE = Decimal(os.environ.get("RESERVE_RATE", "0.10"))
# Stores at least this good hold the lower reserve.
RESERVE_RATE_EXCELLENT = Decimal(os.environ.get("RESERVE_RATE_EXCELLENT", "0.05"))
EXCELLENT_MAX_DISPUTE_RATE = Decimal(os.environ.get("EXCELLENT_MAX_DISPUTE_RATE", "0.01"))
EXCELLENT_MIN_POSITIVE_RATE = Decimal(os.environ.get("EXCELLENT_MIN_POSITIVE_RATE", "0.97"))
# A staff override stands this long before the daily evaluation decides again.
EARLY_PAYOUT_OVERRIDE_DAYS = env_int("EARLY_PAYOUT_OVERRIDE_DAYS", 30)
RESERVE_RELEASE_ON_INELIGIBLE_DAYS = env_int("RESERVE_RELEASE_ON_INELIGIBLE_DAYS", 180)
RESERVE_RELEASE_ON_CLOSE_DAYS = env_int("RESERVE_RELEASE_ON_CLOSE_DAYS", 180)
# Admin exports (backoffice/exports.py): built in memory, so capped; a bigger list is refused
# with a message to narrow the filters. Exporting needs view + export_<model> permissions.
EXPORT_MAX_ROWS = env_int("EXPORT_MAX_ROWS", 20_000)
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "export"
# No admin imports through import-export resources: should one appear, it needs an explicit
# import_<model> permission instead of being open to any staff user (STYLE.md).
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "import"
# The admin's "Import a platform export" (backoffice/admin_imports.py) keeps an upload between
# its preview and its confirm in this directory (shared by all web processes), at most
# IMPORT_CONFIRM_MAX_AGE seconds; bigger files than IMPORT_MAX_UPLOAD_BYTES go through the command.
IMPORT_UPLOAD_DIR = os.environ.get(
    "IMPORT_UPLOAD_DIR", os.path.join(tempfile.gettempdir(), "backoffice-imports")
)
IMPORT_CONFIRM_MAX_AGE = env_int("IMPORT_CONFIRM_MAX_AGE", 3600)
IMPORT_MAX_UPLOAD_BYTES = env_int("IMPORT_MAX_UPLOAD_BYTES", 50 << 20)
# Limits on what an import reads (backoffice/imports/reading.py, docs/imports.md "Limits and
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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# --- Background jobs (issue 12; docs/operations.md "Background jobs") ---
# The queue is procrastinate: on PostgreSQL its tables live in the same database and a worker
# process (`manage.py procrastinate worker`) runs the jobs. On SQLite its migrations are skipped
# (backoffice.jobs.ProcrastinateOnPostgresOnly) and it queues in memory: deferred jobs run
# in-process after commit, and `manage.py procrastinate worker` runs the periodic jobs itself.
# Last in INSTALLED_APPS: its ready() registers one periodic task per deadline job, which the
# apps before it have registered (backoffice.jobs.on_app_ready).
INSTALLED_APPS += ["procrastinate.contrib.django"]
DATABASE_ROUTERS = ["backoffice.jobs.ProcrastinateOnPostgresOnly"]
PROCRASTINATE_ON_APP_READY = "backoffice.jobs.on_app_ready"
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
