"""Two deadline runners at once resolve each overdue dispute exactly once (PostgreSQL)."""

import threading

import pytest
from django.db import connection

from backoffice.deadlines import run_all
from disputes.models import Dispute, DisputeTransition
from payouts.models import Posting, Refund
from tests import factories as f

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_concurrent_runners_resolve_each_overdue_dispute_once(settings):
    settings.DEADLINES_BATCH_SIZE = 3  # several batches, so the runners interleave
    store = f.store()
    disputes = [f.dispute(f.order(store, status="shipped"), requested="10.00") for _ in range(12)]
    now = max(d.respond_by for d in disputes)
    barrier = threading.Barrier(2)
    counts: list[int] = []

    def runner() -> None:
        try:
            barrier.wait()
            counts.append(run_all(now)["disputes.auto_resolve"])
        finally:
            connection.close()

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert sum(counts) == 12
    assert set(Dispute.objects.values_list("status", flat=True)) == {"resolved"}
    assert DisputeTransition.objects.filter(transition="auto_resolve").count() == 12
    assert Refund.objects.count() == 12
    assert Posting.objects.filter(kind="refund").count() == 12
