"""Settings for the test suite (pyproject.toml's DJANGO_SETTINGS_MODULE): the production
settings, with a fixed test-only secret key, no redirect to HTTPS (the test client speaks
plain HTTP), static files not served from a collected STATIC_ROOT, and webhooks allowed to
127.0.0.1. Subprocesses the tests start inherit these through the environment."""

import os
from decimal import Decimal

os.environ.setdefault("DJANGO_SECRET_KEY", "insecure-test-only-key-" + "x" * 40)
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
# No `collectstatic` in the tests: static files as in development, not WhiteNoise's manifest.
os.environ.setdefault("DJANGO_SERVE_STATIC", "0")
# Webhook receivers in the tests listen on 127.0.0.1 over plain HTTP (tests of the refusal
# turn this off).
os.environ.setdefault("WEBHOOK_ALLOW_PRIVATE_URLS", "1")

from backoffice.settings import *  # noqa: F403

# The suite's worked examples and balances predate the platform commission: they run with no
# commission by default; the commission tests set a store's rate (or this setting) themselves.
COMMISSION_RATE = Decimal("0")
