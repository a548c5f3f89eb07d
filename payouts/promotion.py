"""The promotion (pay-per-click ads) wallet in CNY: top-ups, the ad system's daily charges,
finance adjustments, and the arrears they leave behind.

A charge may take the wallet below zero: that is arrears, tracked as an :class:`ArrearsEpisode`
from the moment the balance went negative until a top-up brings it back to zero or more (a
top-up pays arrears first simply because it lands on a negative balance). The deadlines
runner freezes and closes stores on the episode's age and size (:mod:`payouts.arrears`).
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext as _

from accounts.models import Notice, SellerAccount
from accounts.notices import notify
from backoffice import clock
from backoffice.db import lock
from backoffice.errors import Code, invalid
from backoffice.money import Currency, clean_amount
from backoffice.permissions import require_staff_or_owner, require_staff_perm
from backoffice.text import clean_text, column_length
from payouts import arrears
from payouts.idempotency import idempotent
from payouts.ledger import Leg, balance, post
from payouts.models import Account, Posting, PromotionMovement, PromotionWallet

CNY = Currency.CNY
# A store's low-balance threshold: finance (and the store's sellers); not the importer role.
THRESHOLD_PERM = "payouts.set_promotion_threshold"
ZERO = Decimal("0.00")
POSTING_KIND = {
    PromotionMovement.Kind.TOP_UP: Posting.Kind.PROMOTION_TOP_UP,
    PromotionMovement.Kind.CHARGE: Posting.Kind.PROMOTION_CHARGE,
    PromotionMovement.Kind.ADJUSTMENT: Posting.Kind.PROMOTION_ADJUSTMENT,
}
# The platform account on the other side of each kind of movement.
COUNTER_ACCOUNT = {
    PromotionMovement.Kind.TOP_UP: Account.PROMOTION_FUNDING,
    PromotionMovement.Kind.CHARGE: Account.PROMOTION_REVENUE,
    PromotionMovement.Kind.ADJUSTMENT: Account.PROMOTION_REVENUE,
}


def wallet_balance(store_id: int) -> Decimal:
    return balance(store_id=store_id, account=Account.PROMOTION, currency=CNY)


def _record(
    store: SellerAccount,
    kind: str,
    amount: Decimal,
    *,
    actor: Any,
    at: datetime,
    reference: str | None,
    method: str = "",
    note: str = "",
) -> PromotionMovement:
    """Write the movement and its posting, then update arrears and the low-balance notice.
    A reference seen before returns the first movement and moves nothing."""
    reference = (
        clean_text(
            reference, field="reference", max_length=column_length(PromotionMovement, "reference")
        )
        or f"{kind}:{store.pk}:{at.isoformat()}:{amount}"
    )
    note = clean_text(
        note, field="note", max_length=column_length(PromotionMovement, "note"), multiline=True
    )
    existing = PromotionMovement.objects.filter(reference=reference).first()
    if existing is not None:
        if (existing.store_id, existing.kind, existing.amount) != (store.pk, kind, amount):
            raise invalid(
                gettext("Reference %(reference)r was used for another movement.")
                % {"reference": reference},
                field="reference",
                code=Code.IDEMPOTENCY_CONFLICT,
            )
        return existing
    try:
        with transaction.atomic():
            movement = PromotionMovement.objects.create(
                store=store,
                kind=kind,
                amount=amount,
                method=method,
                reference=reference,
                note=note,
                at=at,
                actor=actor if getattr(actor, "pk", None) else None,
            )
    except IntegrityError:
        raise invalid(
            gettext("Reference %(reference)r is being recorded.") % {"reference": reference},
            field="reference",
            code=Code.IDEMPOTENCY_CONFLICT,
        ) from None
    legs = [
        Leg(Account.PROMOTION, amount, store.pk, currency=CNY),
        Leg(COUNTER_ACCOUNT[kind], -amount, currency=CNY),
    ]
    memo = f"{movement.get_kind_display()} {reference}"
    post_movement(movement, POSTING_KIND[kind], legs=legs, at=at, actor=actor, memo=memo)
    _after_movement(store, at=at)
    return movement


def post_movement(
    movement: PromotionMovement, kind: str, *, legs: list[Leg], **fields: Any
) -> None:
    """Post a movement of the wallet: one posting a movement, under ``promotion:<id>``."""
    post(
        reference=f"promotion:{movement.pk}",
        kind=kind,
        store_id=movement.store_id,
        promotion=movement,
        legs=legs,
        **fields,
    )


def _after_movement(store: SellerAccount, *, at: datetime) -> None:
    now_balance = wallet_balance(store.pk)
    arrears.record_balance(store, now_balance, at=at)
    _low_balance_notice(store, now_balance, at=at)


def _low_balance_notice(store: SellerAccount, now_balance: Decimal, *, at: datetime) -> None:
    wallet, _ = PromotionWallet.objects.get_or_create(store=store)
    low = wallet.low_balance_threshold > 0 and now_balance < wallet.low_balance_threshold
    if low and not wallet.low_balance_noticed:
        notify(
            store,
            Notice.Kind.LOW_BALANCE,
            at=at,
            title=gettext_lazy("Your promotion balance is low"),
            body=lambda: (
                gettext(
                    "The promotion wallet holds CNY %(balance)s, below your threshold of CNY "
                    "%(threshold)s. Top up to keep ads running; unpaid arrears freeze the store."
                )
                % {
                    "balance": f"{now_balance:,.2f}",
                    "threshold": f"{wallet.low_balance_threshold:,.2f}",
                }
            ),
        )
    if low != wallet.low_balance_noticed:
        wallet.low_balance_noticed = low
        wallet.save(update_fields=["low_balance_noticed"])


def _reference(value: str | None) -> str | None:
    """A statement line or payment id as given (stripped); ``None`` when blank."""
    value = (value or "").strip()
    if len(value) > 100:
        raise invalid(_("The reference is at most 100 characters."), field="reference")
    return value or None


def _charge_reference(
    store_id: int, reference: str | None, day: date | None, *, today: date
) -> str | None:
    """A charge's reference; for a day of spend without one, made from the store and the day
    (one charge per store and day)."""
    reference = _reference(reference)
    if day is None:
        return reference
    if day > today:
        raise invalid(_("The day of spend cannot be after today."), field="day")
    return reference or f"ads:{store_id}:{day.isoformat()}"


def _top_up_payload(
    *, store_id: int, amount: Any, method: str, reference: str | None = None, **_other: Any
) -> dict[str, Any]:
    return {
        "store_id": store_id,
        "amount": str(amount),
        "method": method,
        "reference": _reference(reference),
    }


@idempotent(model=PromotionMovement, payload=_top_up_payload)
def promotion_top_up(
    *,
    store_id: int,
    actor: Any,
    amount: Any,
    method: str,
    reference: str | None = None,
    at: datetime | None = None,
) -> PromotionMovement:
    """Money into the wallet: Alipay or credit card (the seller or finance), or an offline bank
    transfer that finance records. It pays arrears first."""
    store = lock(SellerAccount, store_id, what="Store")
    if method not in PromotionMovement.Method.values:
        raise invalid(
            gettext("Unknown top-up method %(method)r.") % {"method": method}, field="method"
        )
    if method == PromotionMovement.Method.BANK_TRANSFER:
        require_staff_perm(actor, "payouts.record_bank_transfer")
    else:
        require_staff_or_owner(actor, "payouts.record_bank_transfer", store)
    if store.status == SellerAccount.Status.CLOSED:
        raise invalid(
            gettext("A closed store's wallet takes no top-ups."), code=Code.INVALID_TRANSITION
        )
    return _record(
        store,
        PromotionMovement.Kind.TOP_UP,
        clean_amount(amount),
        actor=actor,
        at=clock.resolve(at),
        reference=_reference(reference),
        method=method,
    )


def _charge_payload(
    *,
    store_id: int,
    amount: Any,
    reference: str | None = None,
    day: date | None = None,
    at: datetime | None = None,
    **_other: Any,
) -> dict[str, Any]:
    today = clock.resolve(at).date()
    return {
        "store_id": store_id,
        "amount": str(amount),
        "reference": _charge_reference(store_id, reference, day, today=today),
    }


@idempotent(model=PromotionMovement, payload=_charge_payload)
def promotion_charge(
    *,
    store_id: int,
    actor: Any,
    amount: Any,
    reference: str | None = None,
    day: date | None = None,
    at: datetime | None = None,
) -> PromotionMovement:
    """The ad system's daily spend (of ``day``, when given: not after today). It may take the
    wallet below zero (arrears); a frozen or closed store runs no promotions, so it is
    refused."""
    at = clock.resolve(at)
    reference = _charge_reference(store_id, reference, day, today=at.date())
    require_staff_perm(actor, "payouts.charge_promotion")
    store = lock(SellerAccount, store_id, what="Store")
    if store.status != SellerAccount.Status.ACTIVE:
        raise invalid(
            gettext("The store is %(status)s: promotions are stopped and take no charges.")
            % {"status": store.status},
            code=Code.INVALID_TRANSITION,
        )
    return _record(
        store,
        PromotionMovement.Kind.CHARGE,
        -clean_amount(amount),
        actor=actor,
        at=at,
        reference=reference,
    )


def _adjust_payload(
    *, store_id: int, amount: Any, note: str, reference: str | None = None, **_other: Any
) -> dict[str, Any]:
    return {
        "store_id": store_id,
        "amount": str(amount),
        "note": note,
        "reference": _reference(reference),
    }


@idempotent(model=PromotionMovement, payload=_adjust_payload)
def promotion_adjust(
    *,
    store_id: int,
    actor: Any,
    amount: Any,
    note: str,
    reference: str | None = None,
    at: datetime | None = None,
) -> PromotionMovement:
    """A correction by finance, positive or negative, with the reason in ``note``."""
    require_staff_perm(actor, "payouts.adjust_promotion")
    if not (note or "").strip():
        raise invalid(gettext("Say why the wallet is adjusted."), field="note")
    store = lock(SellerAccount, store_id, what="Store")
    return _record(
        store,
        PromotionMovement.Kind.ADJUSTMENT,
        clean_amount(amount, allow_negative=True),
        actor=actor,
        at=clock.resolve(at),
        reference=_reference(reference),
        note=note,
    )


@transaction.atomic
def promotion_set_threshold(*, store_id: int, actor: Any, threshold: Any) -> PromotionWallet:
    """The seller's low-balance threshold (CNY; 0 turns the notices off)."""
    store = lock(SellerAccount, store_id, what="Store")
    require_staff_or_owner(actor, THRESHOLD_PERM, store)
    value = clean_amount(threshold, field="threshold", allow_zero=True)
    wallet, _ = PromotionWallet.objects.get_or_create(store=store)
    wallet.low_balance_threshold = value
    wallet.save(update_fields=["low_balance_threshold"])
    return wallet
