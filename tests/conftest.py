from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from backoffice.catalogue import compile_catalogues

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def pytest_configure(config: pytest.Config) -> None:
    """The Chinese tests read the compiled catalogue: write any .mo older than its .po (pure
    Python; `make messages` does the same)."""
    compile_catalogues([Path(p) for p in settings.LOCALE_PATHS])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``postgres`` need real row locks: without PostgreSQL they are deselected
    (listed as deselected, never skipped); `make test` runs them in its PostgreSQL pass. The
    ``fuzz`` test and the browser tests (``e2e``) serve their own SQLite database, so they run in
    the SQLite pass only."""
    unwanted = {"fuzz", "e2e"} if ON_POSTGRES else {"postgres"}
    chosen = [item for item in items if not any(item.get_closest_marker(name) for name in unwanted)]
    if len(chosen) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in chosen])
        items[:] = chosen


@pytest.fixture(autouse=True)
def _db(db):
    """Every test may touch the database; each runs in a rolled-back transaction."""


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2 costs ~0.3 s per user created; tests do not need it to be slow.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def client() -> Client:
    return Client(enforce_csrf_checks=True)
