"""What a closed store owes or prepaid, settled against its available balance.

A closed store takes no top-ups, so its promotion arrears (CNY) are **set off** against its
available balance (USD) at the day's USD/CNY rate; prepaid promotion money (a positive wallet)
is **returned** to its available balance (paying its debt first) at the day's rate. Both run
when the store closes and again from the deadlines runner (``payouts.closed_store_settlement``)
whenever money reaches the available balance later (reserve releases, failed payouts). Without
a rate for the day nothing moves that day (never a guessed rate). What still cannot be
collected is a receivable (:func:`payouts.selectors.receivables`).

Conversions round half up on the cent (:func:`backoffice.money.round_conversion`); the
platform's ``fx`` account takes the difference, as it does for CNY payouts.
"""

from datetime import date, datetime
from decimal import Decimal

from accounts.models import SellerAccount
from backoffice.db import lock
from backoffice.money import Currency, cny_to_usd, usd_to_cny
from payouts import arrears
from payouts.ledger import Leg, balance
from payouts.models import Account, ExchangeRate, Posting, PromotionMovement
from payouts.promotion import post_movement
from payouts.services import to_store_legs

A = Account
CNY = Currency.CNY


def _rate(day: date) -> Decimal | None:
    return (
        ExchangeRate.objects.filter(date=day, currency=Currency.USD)
        .values_list("rate_to_cny", flat=True)
        .first()
    )


def settle_closed_store(store: SellerAccount, *, at: datetime) -> PromotionMovement | None:
    """Set off a closed store's arrears, or return its prepaid promotion money, at ``at``'s
    rate. In the caller's transaction; the store row is locked. Idempotent: a second run finds
    nothing left to move (and the same ``at`` is the same reference)."""
    store = lock(SellerAccount, store.pk, what="Store")
    if store.status != SellerAccount.Status.CLOSED:
        return None
    wallet = balance(store_id=store.pk, account=A.PROMOTION, currency=CNY)
    if wallet == 0:
        return None
    rate = _rate(at.date())
    if rate is None:
        return None
    if wallet < 0:
        return _set_off(store, owed=-wallet, rate=rate, at=at)
    return _return_prepaid(store, prepaid=wallet, rate=rate, at=at)


def _set_off(
    store: SellerAccount, *, owed: Decimal, rate: Decimal, at: datetime
) -> PromotionMovement | None:
    available = balance(store_id=store.pk, account=A.AVAILABLE)
    if available <= 0:
        return None
    needed = cny_to_usd(owed, rate)
    usd = min(available, needed)
    # Covering it all clears the arrears exactly; a part pays what it converts to.
    cny = owed if usd == needed else min(owed, usd_to_cny(usd, rate))
    movement = _movement(
        store,
        PromotionMovement.Kind.SET_OFF,
        cny,
        at=at,
        note=f"USD {usd} from the available balance at {rate} CNY per USD",
    )
    legs = [
        Leg(A.AVAILABLE, -usd, store.pk),
        Leg(A.FX, usd),
        Leg(A.FX, -cny, currency=CNY),
        Leg(A.PROMOTION, cny, store.pk, currency=CNY),
    ]
    memo = f"Arrears set off: USD {usd} -> CNY {cny} at {rate}"
    post_movement(movement, Posting.Kind.PROMOTION_SET_OFF, legs=legs, at=at, memo=memo)
    if cny == owed:
        arrears.clear_episode(store, at=at)
    return movement


def _return_prepaid(
    store: SellerAccount, *, prepaid: Decimal, rate: Decimal, at: datetime
) -> PromotionMovement | None:
    usd = cny_to_usd(prepaid, rate)
    if usd <= 0:  # less than half a cent's worth: it stays in the wallet
        return None
    movement = _movement(
        store,
        PromotionMovement.Kind.CLOSURE_RETURN,
        -prepaid,
        at=at,
        note=f"USD {usd} to the available balance at {rate} CNY per USD",
    )
    legs = [
        Leg(A.PROMOTION, -prepaid, store.pk, currency=CNY),
        Leg(A.FX, prepaid, currency=CNY),
        Leg(A.FX, -usd),
        *to_store_legs(store.pk, None, usd),
    ]
    memo = f"Prepaid promotion returned: CNY {prepaid} -> USD {usd} at {rate}"
    post_movement(movement, Posting.Kind.PROMOTION_RETURN, legs=legs, at=at, memo=memo)
    return movement


def _movement(
    store: SellerAccount, kind: str, amount: Decimal, *, at: datetime, note: str
) -> PromotionMovement:
    reference = f"{kind}:{store.pk}:{at.isoformat()}"
    existing = PromotionMovement.objects.filter(reference=reference).first()
    if existing is not None:
        return existing
    return PromotionMovement.objects.create(
        store=store, kind=kind, amount=amount, reference=reference, note=note[:300], at=at
    )


def still_owed(store: SellerAccount) -> tuple[Decimal, Decimal]:
    """What a store still owes the platform: promotion arrears (CNY) and refund debt (USD),
    both as positive amounts."""
    wallet = balance(store_id=store.pk, account=A.PROMOTION, currency=CNY)
    debt = balance(store_id=store.pk, account=A.DEBT)
    return arrears.owed(wallet), arrears.owed(debt)
