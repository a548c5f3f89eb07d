import pytest
from django.test import Client


@pytest.fixture(autouse=True)
def _db(db):
    """Every test may touch the database; each runs in a rolled-back transaction."""


@pytest.fixture
def client() -> Client:
    return Client(enforce_csrf_checks=True)
