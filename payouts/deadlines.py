"""Money deadlines: early-payout releases of shipped orders and due reserve releases."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef

from backoffice.deadlines import register
from orders.models import Order
from payouts.models import EarlyPayoutTerms, Posting, ReserveHold
from payouts.services import release_early, release_reserve


def _due_in_batches(queryset):
    """Yield due rows one locked batch at a time (SKIP LOCKED: other runners take others)."""
    while True:
        with transaction.atomic():
            batch = list(
                queryset.select_for_update(skip_locked=True, of=("self",)).order_by("pk")[
                    : settings.DEADLINES_BATCH_SIZE
                ]
            )
            if not batch:
                return
            yield batch


@register("payouts.early_release")
def early_release(now: datetime) -> int:
    cutoff = now - timedelta(days=settings.EARLY_PAYOUT_DELAY_DAYS)
    released = Posting.objects.filter(order=OuterRef("pk"), kind=Posting.Kind.EARLY_RELEASE)
    due = Order.objects.filter(
        status=Order.Status.SHIPPED, shipped_at__lte=cutoff, store__early_payout__eligible=True
    ).exclude(Exists(released))
    done = 0
    for batch in _due_in_batches(due):
        terms = EarlyPayoutTerms.objects.in_bulk([o.store_id for o in batch])
        for order in batch:
            release_early(order, terms[order.store_id], at=now)
        done += len(batch)
    return done


@register("payouts.reserve_release")
def reserve_release(now: datetime) -> int:
    due = ReserveHold.objects.filter(release_at__lte=now, released_at__isnull=True)
    done = 0
    for batch in _due_in_batches(due):
        for hold in batch:
            release_reserve(hold, at=now)
        done += len(batch)
    return done
