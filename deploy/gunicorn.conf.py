"""gunicorn's settings for the web process (docs/operations.md "Deploying").

    gunicorn -c deploy/gunicorn.conf.py backoffice.wsgi

From the environment: HOST (0.0.0.0) and PORT (8000) to listen on, WEB_CONCURRENCY worker
processes (2 x CPUs + 1), GUNICORN_TIMEOUT seconds a request may take (60). Any other option
through GUNICORN_CMD_ARGS, e.g. GUNICORN_CMD_ARGS="--max-requests 500". With LOG_FORMAT=json
(the default without DJANGO_DEBUG) gunicorn's own lines, the access log included, are JSON
objects like the application's, the access line carrying the response's X-Request-ID.
"""

import os

_debug = os.environ.get("DJANGO_DEBUG", "").strip().lower() in {"1", "true", "yes", "on"}

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1) + 1))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
# A worker is replaced after this many requests (bounds any slow leak), not all at once.
max_requests = 1000
max_requests_jitter = 100
# No control socket (gunicorn 27's gunicornc, written under $HOME): signals are enough.
control_socket_disable = True
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s" request_id=%({x-request-id}o)s'

if os.environ.get("LOG_FORMAT", "text" if _debug else "json").strip().lower() == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "backoffice.logs.GunicornRequestIdFilter"}},
        "formatters": {"json": {"()": "backoffice.logs.JsonFormatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "filters": ["request_id"],
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
        },
        "root": {"level": "WARNING", "handlers": ["stderr"]},
    }
