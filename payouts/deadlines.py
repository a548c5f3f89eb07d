"""Money deadlines: early-payout releases of shipped orders, due reserve releases, the arrears
policy (freeze, close) and the daily early-payout evaluation. The arrears and reserve jobs act
when ``payouts.selectors.store_auto_action`` and ``hold_auto_action`` say (same periods)."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, Subquery, Sum

from accounts.models import SellerAccount, StoreHold
from accounts.services import seller_account_close, seller_account_freeze
from backoffice import unit_of_work
from backoffice.deadlines import process_batches, register
from orders.models import Order
from payouts.collection import settle_closed_store
from payouts.evaluation import due_for_evaluation, evaluate_store
from payouts.ledger import exact
from payouts.models import (
    Account,
    EarlyPayoutTerms,
    ExchangeRate,
    LedgerEntry,
    Posting,
    ReserveHold,
)
from payouts.selectors import arrears_close_period, arrears_grace, balance_annotation
from payouts.services import load_for_orders, load_money, release_early, release_reserve


@register("payouts.early_release")
def early_release(now: datetime) -> int:
    cutoff = now - timedelta(days=settings.EARLY_PAYOUT_DELAY_DAYS)
    released = Posting.objects.filter(order=OuterRef("pk"), kind=Posting.Kind.EARLY_RELEASE)
    due = Order.objects.filter(
        status=Order.Status.SHIPPED, shipped_at__lte=cutoff, store__early_payout__eligible=True
    ).exclude(Exists(released))

    def handle(batch: list[Order]) -> None:
        load_for_orders(batch)
        terms = EarlyPayoutTerms.objects.in_bulk([o.store_id for o in batch])
        for order in batch:
            release_early(order, terms[order.store_id], at=now)

    return process_batches(due, handle)


@register("payouts.reserve_release")
def reserve_release(now: datetime) -> int:
    due = ReserveHold.objects.filter(release_at__lte=now, released_at__isnull=True)

    def handle(batch: list[ReserveHold]) -> None:
        unit_of_work.current().hold(batch)  # saved together at the batch's end
        load_money(store_ids=[h.store_id for h in batch], order_ids=[h.order_id for h in batch])
        for hold in batch:
            release_reserve(hold, at=now)

    return process_batches(due, handle)


@register("payouts.arrears_close")
def arrears_close(now: datetime) -> int:
    """Close stores whose arrears are too large or too old (this runs before the freeze: a
    store past both limits is closed, not frozen first)."""
    too_old = now - arrears_close_period()
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

    def handle(batch: list[SellerAccount]) -> None:
        for store in batch:
            seller_account_close(
                account_id=store.pk,
                actor=None,
                reason="arrears",
                at=now,
                note=f"automatic: arrears of CNY {-exact(store.wallet):,.2f}",
            )

    return process_batches(due, handle)


@register("payouts.arrears_freeze")
def arrears_freeze(now: datetime) -> int:
    cutoff = now - arrears_grace()
    # A store frozen for another reason (a risk review) gains the arrears hold as well.
    held = StoreHold.objects.filter(
        store=OuterRef("pk"), reason=SellerAccount.FreezeReason.ARREARS, lifted_at__isnull=True
    )
    due = SellerAccount.objects.filter(
        status__in=[SellerAccount.Status.ACTIVE, SellerAccount.Status.FROZEN],
        arrears_episodes__cleared_at__isnull=True,
        arrears_episodes__started_at__lt=cutoff,
    ).exclude(Exists(held))
    note = f"automatic: promotion arrears unpaid for more than {settings.ARREARS_GRACE_DAYS} days"

    def handle(batch: list[SellerAccount]) -> None:
        for store in batch:
            seller_account_freeze(
                account_id=store.pk, actor=None, reason="arrears", at=now, note=note
            )

    return process_batches(due, handle)


@register("payouts.closed_store_settlement")
def closed_store_settlement(now: datetime) -> int:
    """Closed stores whose promotion arrears can be set off against money that reached their
    available balance, or whose prepaid promotion money is still in the wallet (see
    payouts.collection; nothing moves on a day without a USD/CNY rate)."""
    cent = Decimal("0.005")  # SQLite sums decimals as floats (see payouts.ledger.exact)
    due = (
        SellerAccount.objects.filter(status=SellerAccount.Status.CLOSED)
        .annotate(
            wallet=balance_annotation(Account.PROMOTION),
            available=balance_annotation(Account.AVAILABLE),
        )
        .filter(Q(wallet__gt=cent) | Q(wallet__lt=-cent, available__gt=cent))
    )
    if not ExchangeRate.objects.filter(date=now.date(), currency="USD").exists():
        return 0

    def handle(batch: list[SellerAccount]) -> None:
        for store in batch:
            settle_closed_store(store, at=now)

    return process_batches(due, handle)


@register("payouts.evaluate_early_payout")
def evaluate_early_payout(now: datetime) -> int:
    """Once a day per store (UTC): later runs the same day find nothing due."""

    def handle(batch: list[SellerAccount]) -> None:
        for store in batch:
            evaluate_store(store, now=now)

    return process_batches(due_for_evaluation(now), handle)
