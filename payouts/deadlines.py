"""Money deadlines: early-payout releases of shipped orders, due reserve releases, the closed
stores' settlement and the daily early-payout evaluation. The reserve job acts when
``payouts.selectors.hold_auto_action`` says. The arrears jobs (freeze, close) are in
:mod:`payouts.arrears` with the rest of the arrears rules."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Exists, OuterRef, Q

from accounts.models import SellerAccount
from backoffice import unit_of_work
from backoffice.deadlines import process_batches, process_due, register
from orders.models import Order
from payouts import ledger
from payouts.collection import settle_closed_store
from payouts.evaluation import due_for_evaluation, evaluate_store
from payouts.models import (
    Account,
    EarlyPayoutTerms,
    ExchangeRate,
    Posting,
    ReserveHold,
)
from payouts.selectors import balance_annotation
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


@register("payouts.closed_store_settlement")
def closed_store_settlement(now: datetime) -> int:
    """Closed stores whose promotion arrears can be set off against money that reached their
    available balance, or whose prepaid promotion money is still in the wallet (see
    payouts.collection; nothing moves on a day without a USD/CNY rate)."""
    cent = Decimal("0.005")  # SQLite sums decimals as floats (see payouts.ledger.to_cents)
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

    # The stores are held (locked) for the batch and their balances read in one query; the
    # settlement reads them again under that lock (a second run moves nothing).
    return process_due(due, lambda store: settle_closed_store(store, at=now), load=load_balances)


@register("payouts.evaluate_early_payout")
def evaluate_early_payout(now: datetime) -> int:
    """Once a day per store (UTC): later runs the same day find nothing due."""

    # Each store is held (locked) for its batch: a concurrent change of its terms or status
    # waits for the batch, so the decision is made on the store as it stays.
    return process_due(due_for_evaluation(now), lambda store: evaluate_store(store, now=now))


def load_balances(stores: list[SellerAccount]) -> None:
    """A store job's load hook: the batch's balances, one query (payouts.ledger.load)."""
    ledger.load(store_ids=[store.pk for store in stores])
