"""Production settings, checked in fresh processes with the environment docs/operations.md
documents: ``check --deploy`` is clean, and a process with DEBUG off and no secret key refuses
to start."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The production environment of docs/operations.md "Production settings" (the minimum).
PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "backoffice.example.com",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://backoffice.example.com",
    "DJANGO_SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """``manage.py`` with exactly ``env`` (plus PATH): nothing leaks in from the test run."""
    clean = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "backoffice.settings", **env}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_the_documented_production_environment():
    done = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_without_a_secret_key_a_production_process_refuses_to_start():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DJANGO_SECRET_KEY"}

    done = _manage("check", env=env)

    assert done.returncode != 0
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY is not set" in done.stderr


def test_a_blank_secret_key_is_no_key():
    done = _manage("check", env={**PRODUCTION_ENV, "DJANGO_SECRET_KEY": "  "})

    assert done.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in done.stderr


def test_debug_runs_without_a_key():
    done = _manage("check", env={"DJANGO_DEBUG": "1"})

    assert done.returncode == 0, done.stderr


def test_a_malformed_proxy_header_setting_refuses_to_start():
    done = _manage(
        "check", env={**PRODUCTION_ENV, "DJANGO_SECURE_PROXY_SSL_HEADER": "X_FORWARDED_PROTO"}
    )

    assert done.returncode != 0
    assert "DJANGO_SECURE_PROXY_SSL_HEADER must be" in done.stderr


def test_production_defaults_hold_without_overrides():
    code = (
        "from django.conf import settings as s; "
        "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, "
        "s.SECURE_HSTS_PRELOAD, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SECURE_PROXY_SSL_HEADER, s.X_FRAME_OPTIONS, s.SECURE_REFERRER_POLICY)"
    )

    done = _manage("shell", "-c", code, env=PRODUCTION_ENV)

    assert done.stdout.splitlines()[-1].split() == [
        "True",
        "31536000",
        "True",
        "True",
        "True",
        "True",
        "('HTTP_X_FORWARDED_PROTO',",
        "'https')",
        "DENY",
        "same-origin",
    ], done.stderr


def test_static_files_and_logs_follow_debug():
    code = (
        "from django.conf import settings as s; "
        "print(s.SERVE_STATIC, 'whitenoise.middleware.WhiteNoiseMiddleware' in s.MIDDLEWARE, "
        "s.STORAGES['staticfiles']['BACKEND'], s.LOG_FORMAT)"
    )
    production = _manage("shell", "-c", code, env=PRODUCTION_ENV)
    debug = _manage("shell", "-c", code, env={"DJANGO_DEBUG": "1"})

    assert production.stdout.splitlines()[-1].split() == [
        "True",
        "True",
        "backoffice.storage.StaticFilesStorage",
        "json",
    ], production.stderr
    assert debug.stdout.splitlines()[-1].split() == [
        "False",
        "False",
        "django.contrib.staticfiles.storage.StaticFilesStorage",
        "text",
    ], debug.stderr
