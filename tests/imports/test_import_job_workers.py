"""Import jobs on the real queue, run by ``manage.py procrastinate worker`` processes on
PostgreSQL, and interactive requests that meet an import's row locks.

A worker killed in the middle of an import leaves nothing of the file written; a new worker
finds the job stalled (its worker sent no heartbeat for QUEUE_STALLED_WORKER_SECONDS), runs it
again and every row lands exactly once. A GraphQL mutation or an admin action on a store whose
row another transaction holds gives up after INTERACTIVE_LOCK_TIMEOUT_MS with "the store is
busy", instead of waiting for the import to end.
"""

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.db.models import Count
from django.test import Client
from django.urls import reverse

from accounts.models import SellerAccount
from backoffice.composition.import_jobs import import_job_confirm, import_job_create
from backoffice.models import ImportFile, ImportJob
from orders.models import Order, OrderTransition
from tests import factories as f
from tests.gql import codes, gid, mutate
from tests.test_deadline_workers import start_worker, wait_until  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROWS = 4000
WORKER_ENV = {
    "DEADLINES_CRON": "0 0 1 1 *",  # no deadline runs in the way
    "IMPORT_BATCH_SIZE": "20",  # a slow import: many small batches, progress after each
    "QUEUE_WORKER_HEARTBEAT_SECONDS": "1",
    "QUEUE_STALLED_WORKER_SECONDS": "3",
    "QUEUE_STALLED_CRON": "* * * * * *",  # look for stalled jobs every second
}


def generated_orders(path: Path) -> bytes:
    subprocess.run(
        [
            sys.executable,
            "benchmarks/generate.py",
            "orders",
            "--rows",
            str(ROWS),
            "--stores",
            "5",
            "--out",
            str(path),
        ],
        cwd=settings.BASE_DIR,
        check=True,
    )
    return path.read_bytes()


def job_status(job_id: int) -> Callable[[], bool]:
    def check(*statuses: str) -> bool:
        return ImportJob.objects.filter(pk=job_id, status__in=statuses).exists()

    return check


def test_an_import_job_survives_a_worker_killed_mid_import(start_worker, tmp_path, settings):  # noqa: F811
    # given an uploaded export of ROWS orders, previewed by a worker
    settings.MEDIA_ROOT = str(tmp_path / "media")
    env = {**WORKER_ENV, "DJANGO_MEDIA_ROOT": settings.MEDIA_ROOT}
    user = f.superuser()
    data = generated_orders(tmp_path / "orders.csv")
    job = import_job_create(
        upload=SimpleUploadedFile("orders.csv", data),
        kind="",
        tz="America/Los_Angeles",
        store="",
        store_name="",
        actor=user,
    )
    first = start_worker("first", **env)
    wait = {"workers": [first], "tmp_path": tmp_path}
    is_ = job_status(job.pk)
    wait_until(lambda: is_("previewed", "failed"), timeout=240, **wait)
    job.refresh_from_db()
    assert job.status == "previewed", job.error or job.preview["errors"][:3]
    assert job.preview["created"] == ROWS == job.rows_total

    # when it is confirmed, and its worker is killed once the import is well under way
    import_job_confirm(job_id=job.pk, actor=user)

    def under_way() -> bool:
        return ImportJob.objects.filter(pk=job.pk, status="applying", rows_done__gte=200).exists()

    wait_until(under_way, timeout=120, **wait)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)

    # then nothing of the file is written, and the job waits as "applying"
    time.sleep(1)  # PostgreSQL rolls the dead worker's transaction back
    assert ImportJob.objects.get(pk=job.pk).status == "applying"
    assert (Order.objects.count(), ImportFile.objects.count(), SellerAccount.objects.count()) == (
        0,
        0,
        0,
    )

    # and a new worker finds the stalled job and imports every row, once
    second = start_worker("second", **env)
    wait_until(lambda: is_("done", "failed"), timeout=300, workers=[second], tmp_path=tmp_path)
    job.refresh_from_db()
    assert job.status == "done", job.error
    assert job.apply_attempts == 2 and job.rows_done == ROWS
    assert job.import_file == ImportFile.objects.get()
    assert job.result["created"] == ROWS and not job.result["errors"]
    assert Order.objects.count() == ROWS
    assert Order.objects.filter(source_file=job.import_file).count() == ROWS
    assert Order.objects.values("order_number").distinct().count() == ROWS
    steps = OrderTransition.objects.values("order", "transition", "source", "target")
    assert steps.exists()
    assert not steps.annotate(n=Count("id")).filter(n__gt=1).exists()  # no step taken twice
    assert list(Path(settings.MEDIA_ROOT, "imports").iterdir()) == []  # its bytes are gone


# --- interactive requests and an import's locks ---


class HeldStore:
    """A transaction in another thread holding a store's row, as an import does."""

    def __init__(self, store: SellerAccount) -> None:
        self.store = store
        self.held, self.release = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self.hold)

    def hold(self) -> None:
        try:
            with transaction.atomic():
                SellerAccount.objects.select_for_update().get(pk=self.store.pk)
                self.held.set()
                self.release.wait(60)
        finally:
            connection.close()

    def __enter__(self) -> "HeldStore":
        self.thread.start()
        assert self.held.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.thread.join(30)


BUSY = "The store is busy (an import is running); try again in a minute."


def test_a_mutation_on_a_store_an_import_holds_fails_fast_with_busy(settings):
    settings.INTERACTIVE_LOCK_TIMEOUT_MS = 500
    store = f.store()
    client = Client(enforce_csrf_checks=True)

    with HeldStore(store):
        started = time.monotonic()
        payload = mutate(
            client,
            "sellerAccountFreeze",
            {"id": gid(store), "reason": "RISK"},
            user=f.superuser(),
        )
        waited = time.monotonic() - started

    assert codes(payload) == [("busy", None)]
    assert payload["messages"][0]["message"] == BUSY
    assert waited < 5
    assert SellerAccount.objects.get(pk=store.pk).status == "active"
    # and once the lock is gone the same mutation goes through
    again = mutate(client, "sellerAccountFreeze", {"id": gid(store), "reason": "RISK"})
    assert again["__typename"] == "SellerAccount" and again["status"] == "FROZEN"


def test_an_admin_action_on_a_store_an_import_holds_is_an_error_message(settings):
    settings.INTERACTIVE_LOCK_TIMEOUT_MS = 500
    store = f.store()
    client = Client()
    client.force_login(f.superuser())
    url = reverse("admin:accounts_selleraccount_changelist")

    with HeldStore(store):
        started = time.monotonic()
        response = client.post(
            url,
            {"action": "bulk_freeze", "_selected_action": [store.pk], "index": "0"},
            follow=True,
        )
        waited = time.monotonic() - started

    assert response.status_code == 200 and waited < 5
    assert BUSY in [str(m) for m in response.context["messages"]]
    assert SellerAccount.objects.get(pk=store.pk).status == "active"
