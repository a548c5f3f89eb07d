"""Money deadlines: early-payout releases of shipped orders, due reserve releases, the arrears
policy (freeze, close) and the daily early-payout evaluation."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, Subquery, Sum

from accounts.models import SellerAccount
from accounts.services import seller_account_close, seller_account_freeze
from backoffice.deadlines import register
from orders.models import Order
from payouts.evaluation import due_for_evaluation, evaluate_store
from payouts.ledger import exact
from payouts.models import Account, EarlyPayoutTerms, LedgerEntry, Posting, ReserveHold
from payouts.services import release_early, release_reserve


def _due_in_batches(queryset):
    """Yield due rows one locked batch at a time (SKIP LOCKED: other runners take others), in
    order of pk: a row still due after its turn (a shipped order with no escrow left to release
    posts nothing) is not taken again, so every run ends."""
    last = None
    while True:
        with transaction.atomic():
            after = queryset if last is None else queryset.filter(pk__gt=last)
            batch = list(
                after.select_for_update(skip_locked=True, of=("self",)).order_by("pk")[
                    : settings.DEADLINES_BATCH_SIZE
                ]
            )
            if not batch:
                return
            last = batch[-1].pk
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


@register("payouts.arrears_close")
def arrears_close(now: datetime) -> int:
    """Close stores whose arrears are too large or too old (this runs before the freeze: a
    store past both limits is closed, not frozen first)."""
    too_old = now - timedelta(days=settings.ARREARS_CLOSE_DAYS)
    wallet = (
        LedgerEntry.objects.filter(store=OuterRef("pk"), account=Account.PROMOTION, at__lte=now)
        .values("store")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    # Half a cent of slack: SQLite sums decimals as floats (see payouts.ledger.exact).
    limit = -(settings.ARREARS_CLOSE_AMOUNT + Decimal("0.005"))
    due = (
        SellerAccount.objects.filter(
            status__in=[SellerAccount.Status.ACTIVE, SellerAccount.Status.FROZEN],
            arrears_episodes__cleared_at__isnull=True,
            arrears_episodes__started_at__lte=now,
        )
        .annotate(wallet=Subquery(wallet))
        .filter(Q(arrears_episodes__started_at__lt=too_old) | Q(wallet__lt=limit))
    )
    done = 0
    for batch in _due_in_batches(due):
        for store in batch:
            seller_account_close(
                account_id=store.pk,
                actor=None,
                reason="arrears",
                at=now,
                note=f"automatic: arrears of CNY {-exact(store.wallet):,.2f}",
            )
        done += len(batch)
    return done


@register("payouts.arrears_freeze")
def arrears_freeze(now: datetime) -> int:
    cutoff = now - timedelta(days=settings.ARREARS_GRACE_DAYS)
    due = SellerAccount.objects.filter(
        status=SellerAccount.Status.ACTIVE,
        arrears_episodes__cleared_at__isnull=True,
        arrears_episodes__started_at__lt=cutoff,
    )
    done = 0
    note = f"automatic: promotion arrears unpaid for more than {settings.ARREARS_GRACE_DAYS} days"
    for batch in _due_in_batches(due):
        for store in batch:
            seller_account_freeze(
                account_id=store.pk, actor=None, reason="arrears", at=now, note=note
            )
        done += len(batch)
    return done


@register("payouts.evaluate_early_payout")
def evaluate_early_payout(now: datetime) -> int:
    """Once a day per store (UTC): later runs the same day find nothing due."""
    done = 0
    for batch in _due_in_batches(due_for_evaluation(now)):
        for store in batch:
            evaluate_store(store, now=now)
        done += len(batch)
    return done
