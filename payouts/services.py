"""Every money movement: order payments and releases, early payout, refunds (the waterfall),
reserve releases, payouts, exchange rates and early-payout terms.

Money services lock the store row (after the order row, when there is one: always that order,
so two services never wait on each other in a cycle). Balances are read under that lock, so
concurrent refunds and payouts of one store are serialised and cannot overdraw it.
"""

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Notice, SellerAccount
from accounts.notices import notify
from backoffice import clock, db, unit_of_work
from backoffice.db import lock
from backoffice.errors import Code, invalid
from backoffice.fsm import run_transition
from backoffice.money import (
    Currency,
    clean_amount,
    clean_fraction,
    clean_rate,
    quantize,
    round_conversion,
    to_decimal,
    usd_to_cny,
)
from backoffice.permissions import require_staff_or_owner, require_staff_perm
from backoffice.text import clean_text, column_length
from orders.models import Order
from payouts import ledger
from payouts.idempotency import idempotent
from payouts.ledger import (
    ZERO,
    Leg,
    balance,
    commission_charged,
    post,
    reserve_by_order,
)
from payouts.models import (
    Account,
    EarlyPayoutDecision,
    EarlyPayoutTerms,
    ExchangeRate,
    Payout,
    Posting,
    Refund,
    ReserveHold,
)

A = Account


def _to_store_legs(store_id: int, order_id: int | None, amount: Decimal) -> list[Leg]:
    """Money becoming the store's: it pays the store's debt first, the rest is available."""
    owed = -balance(store_id=store_id, account=A.DEBT, currency=Currency.USD)
    recovered = min(max(owed, ZERO), amount)
    return [
        Leg(A.DEBT, recovered, store_id, order_id),
        Leg(A.AVAILABLE, amount - recovered, store_id, order_id),
    ]


to_store_legs = _to_store_legs  # for payouts.collection


# --- order money: called by orders.services inside their transaction ---


def load_for_orders(orders: list[Order]) -> dict[int, SellerAccount]:
    """For a batch of orders (a deadline job's): lock their stores and read the stores' and
    the orders' balances once, so the money services need no query each for them (nothing is
    read ahead outside a batch). Returns the stores by id, also cached on each order."""
    stores = load_money(
        store_ids={order.store_id for order in orders}, order_ids=[order.pk for order in orders]
    )
    for order in orders:
        Order.store.field.set_cached_value(order, stores[order.store_id])
    return stores


def load_money(*, store_ids: Iterable[int], order_ids: Iterable[int]) -> dict[int, SellerAccount]:
    """Lock these stores (in order of id) and read their balances and these orders' once."""
    ids = sorted(set(store_ids))
    locked = SellerAccount.objects.filter(pk__in=ids).order_by("pk")
    stores = {store.pk: store for store in unit_of_work.current().lock_all(locked)}
    ledger.load(store_ids=ids, order_ids=order_ids)
    return stores


def _post_order(order: Order, kind: str, *, legs: list[Leg], **fields: Any) -> Posting | None:
    """Post an order's money movement under the reference ``order:<id>:<kind>``."""
    return post(
        reference=f"order:{order.pk}:{kind}",
        kind=kind,
        store_id=order.store_id,
        order=order,
        legs=legs,
        **fields,
    )


def record_payment(order: Order, *, at: datetime, actor: Any = None) -> None:
    """The buyer's USD moves from the platform's buyer funds into the order's escrow."""
    legs = [
        Leg(A.BUYER_FUNDS, -order.amount),
        Leg(A.ESCROW, order.amount, order.store_id, order.pk),
    ]
    memo = f"Payment of order {order.order_number}"
    _post_order(order, Posting.Kind.PAYMENT, legs=legs, at=at, actor=actor, memo=memo)


def commission_on(store: SellerAccount, released: Decimal) -> Decimal:
    """The platform's commission on escrow released to the store: the store's rate (or
    ``COMMISSION_RATE``) of it, to the cent, half up (4.45 on 89.00 at 5 %)."""
    if released <= 0:
        return ZERO
    return round_conversion(released * store.effective_commission_rate)


def release_escrow(order: Order, *, at: datetime, actor: Any = None) -> None:
    """When the order ends (confirmed, or refunded after the protection fund paid part of it):
    what it still holds in escrow becomes the store's, less the platform's commission."""
    memo = f"Order {order.order_number} confirmed"
    _release(order, Posting.Kind.RELEASE, at=at, actor=actor, memo=memo)


def release_early(order: Order, terms: EarlyPayoutTerms, *, at: datetime) -> Decimal:
    """Early payout of a shipped order: escrow to the store minus the platform's commission
    and the reserve share (of what the store gets), which is held per order. Returns the
    reserve held."""
    memo = f"Early payout of order {order.order_number}, reserve {terms.reserve_rate:%}"
    store, reserve = _release(
        order, Posting.Kind.EARLY_RELEASE, at=at, memo=memo, reserve_rate=terms.reserve_rate
    )
    if reserve > 0:
        closed = store.status == SellerAccount.Status.CLOSED
        ReserveHold.objects.create(
            order=order,
            store=store,
            held=reserve,
            held_at=at,
            release_at=_closure_release_at(order) if closed else None,
        )
    return reserve


def _release(
    order: Order,
    kind: str,
    *,
    at: datetime,
    memo: str,
    actor: Any = None,
    reserve_rate: Decimal = ZERO,
) -> tuple[SellerAccount, Decimal]:
    """What the order holds in escrow goes to the store, less the platform's commission and,
    for an early payout (``reserve_rate``), the reserve share of what the store gets. Returns
    the locked store and the reserve held (zero when nothing was posted)."""
    store = lock(SellerAccount, order.store_id)
    held = balance(order_id=order.pk, account=A.ESCROW)
    commission = commission_on(store, held)
    reserve = quantize((held - commission) * reserve_rate)
    legs = [
        Leg(A.ESCROW, -held, order.store_id, order.pk),
        Leg(A.COMMISSION, commission, order.store_id, order.pk),
        Leg(A.RESERVE, reserve, order.store_id, order.pk),
        *_to_store_legs(order.store_id, order.pk, held - commission - reserve),
    ]
    posting = _post_order(order, kind, legs=legs, at=at, actor=actor, memo=memo)
    return store, reserve if posting is not None else ZERO


def refundable(order: Order) -> Decimal:
    return order.amount - ledger.refunded(order.pk)


def refund_within(
    order: Order,
    *,
    amount: Decimal,
    at: datetime,
    reference: str,
    reason: str = "",
    protected: bool = False,
    actor: Any = None,
) -> Refund:
    """Refund the buyer up to what is still refundable. Paid by the protection fund when
    ``protected``; otherwise the waterfall: the order's escrow, then the store's available
    balance, then its reserve, and the rest becomes store debt. Records where it came from.

    Part of the caller's own change, in its transaction, without a savepoint of its own (a
    dispute's resolution, a paid order's cancellation: two statements less per refund, in a
    deadline job's batch of hundreds); :func:`refund` is the same in a transaction of its own."""
    existing = ledger.find_refund(order.pk, reference)
    if existing is not None:
        return existing
    lock(SellerAccount, order.store_id)
    amount = clean_amount(amount)
    left = refundable(order)
    if amount > left:
        raise invalid(
            _("At most USD %(left)s of this order is still refundable.") % {"left": left},
            field="amount",
        )
    store_id = order.store_id
    if protected:
        sources = {"from_protection_fund": amount}
        legs = [Leg(A.PROTECTION_FUND, -amount)]
    else:
        sources, legs = _waterfall(order, amount)
    record = ledger.add_refund(
        order=order,
        store_id=store_id,
        amount=amount,
        reason=reason[:200],
        reference=reference,
        at=at,
        **sources,
    )
    post(
        reference=f"refund:{record.pk}",
        kind=Posting.Kind.REFUND,
        at=at,
        actor=actor,
        store_id=store_id,
        order=order,
        refund=record,
        memo=f"Refund of USD {amount} on order {order.order_number}"
        + (f": {reason}" if reason else ""),
        legs=[*legs, Leg(A.BUYER_FUNDS, amount)],
    )
    if not protected:
        _return_commission(order, record, at=at, actor=actor)
    return record


refund = transaction.atomic(refund_within)


def _return_commission(order: Order, record: Refund, *, at: datetime, actor: Any) -> None:
    """A refund the store pays after its escrow was released gives the store back the
    platform's share: the refund's share of the order times the commission taken on it, to
    the cent, half up, at most what the order's commission still holds; the refund that
    leaves nothing refundable returns all that is left."""
    taken = balance(order_id=order.pk, account=A.COMMISSION)
    if taken <= 0 or order.amount <= 0:
        return
    if refundable(order) <= 0:  # the order's last refund: the platform keeps nothing
        share = taken
    else:
        charged = commission_charged(order.pk)
        share = min(round_conversion(record.amount / order.amount * charged), taken)
    if share <= 0:
        return
    post(
        reference=f"refund:{record.pk}:commission",
        kind=Posting.Kind.COMMISSION_RETURN,
        at=at,
        actor=actor,
        store_id=order.store_id,
        order=order,
        refund=record,
        memo=f"Commission of USD {share} returned with the refund on order {order.order_number}",
        legs=[
            Leg(A.COMMISSION, -share, order.store_id, order.pk),
            *_to_store_legs(order.store_id, order.pk, share),
        ],
    )


def _waterfall(order: Order, amount: Decimal) -> tuple[dict[str, Decimal], list[Leg]]:
    store_id, rest = order.store_id, amount
    from_escrow = min(rest, max(balance(order_id=order.pk, account=A.ESCROW), ZERO))
    rest -= from_escrow
    available = balance(store_id=store_id, account=A.AVAILABLE, currency=Currency.USD)
    from_available = min(rest, max(available, ZERO))
    rest -= from_available
    legs = [
        Leg(A.ESCROW, -from_escrow, store_id, order.pk),
        Leg(A.AVAILABLE, -from_available, store_id, order.pk),
    ]
    # Only what escrow and available could not cover reaches the reserves (not worth a query
    # otherwise: most refunds come out of the order's own escrow).
    holds = reserve_by_order(store_id) if rest > 0 else {}
    # This order's own reserve first, then the oldest holds.
    from_reserve = ZERO
    for held_order_id in sorted(holds, key=lambda oid: (oid != order.pk, oid)):
        take = min(rest, holds[held_order_id])
        if take <= 0:
            break
        legs.append(Leg(A.RESERVE, -take, store_id, held_order_id))
        from_reserve += take
        rest -= take
    legs.append(Leg(A.DEBT, -rest, store_id, order.pk))
    sources = {
        "from_escrow": from_escrow,
        "from_available": from_available,
        "from_reserve": from_reserve,
        "to_debt": rest,
    }
    return sources, legs


def refund_on_cancel(order: Order, *, at: datetime, actor: Any = None) -> Refund | None:
    """A paid order cancelled before shipping is refunded in full (from its escrow). Runs in
    the cancellation's transaction, like the rest of apply_cancel."""
    left = refundable(order)
    if left <= 0:
        return None
    return refund_within(
        order,
        amount=left,
        at=at,
        reference=f"order:{order.pk}:cancel",
        reason=order.end_reason,
        actor=actor,
    )


# --- reserve ---


def _closure_release_at(order: Order) -> datetime:
    return order.shipped_at + timedelta(days=settings.RESERVE_RELEASE_ON_CLOSE_DAYS)


def schedule_release_on_closure(store: SellerAccount) -> int:
    """A closed store's holds are released 180 days after each order shipped (or earlier when
    an earlier date was already set)."""
    holds = list(
        ReserveHold.objects.select_related("order").filter(store=store, released_at__isnull=True)
    )
    for hold in holds:
        due = _closure_release_at(hold.order)
        hold.release_at = min(hold.release_at, due) if hold.release_at else due
    ReserveHold.objects.bulk_update(holds, ["release_at"])
    return len(holds)


def schedule_release_on_ineligibility(store: SellerAccount, *, notice_at: datetime) -> int:
    due = notice_at + timedelta(days=settings.RESERVE_RELEASE_ON_INELIGIBLE_DAYS)
    return ReserveHold.objects.filter(
        store=store, released_at__isnull=True, release_at__isnull=True
    ).update(release_at=due)


def release_reserve(hold: ReserveHold, *, at: datetime) -> Decimal:
    """What is left of a due hold goes to the store (paying its debt first)."""
    lock(SellerAccount, hold.store_id)
    left = balance(order_id=hold.order_id, account=A.RESERVE)
    post(
        reference=f"reserve:{hold.pk}:release",
        kind=Posting.Kind.RESERVE_RELEASE,
        at=at,
        store_id=hold.store_id,
        order_id=hold.order_id,
        memo="Reserve released",
        legs=[
            Leg(A.RESERVE, -left, hold.store_id, hold.order_id),
            *_to_store_legs(hold.store_id, hold.order_id, left),
        ],
    )
    hold.released_at = at
    db.save(hold, ["released_at"])
    return left


# --- early-payout terms ---


@transaction.atomic
def early_payout_set(
    *,
    store_id: int,
    actor: Any,
    eligible: bool,
    reserve_rate: Any,
    reason: str = "",
    at: datetime | None = None,
    source: str = "override",
    figures: dict | None = None,
) -> EarlyPayoutTerms:
    """Staff override (or the evaluation's decision) of a store's early-payout terms. Losing
    eligibility schedules the release of its reserve (notice + 180 days)."""
    require_staff_perm(actor, "payouts.change_earlypayoutterms")  # the evaluation runs as system
    at = clock.resolve(at)
    rate = _reserve_rate(reserve_rate)
    limit = column_length(EarlyPayoutTerms, "reason")
    # The evaluation's own reasons are cut to the column; a person's are refused when too long.
    reason = (
        clean_text(reason, field="reason", max_length=limit, multiline=True)
        if source == "override"
        else reason[:limit]
    )
    store = lock(SellerAccount, store_id, what="Store")
    terms, created = EarlyPayoutTerms.objects.get_or_create(
        store=store, defaults={"eligible": eligible, "reserve_rate": rate, "since": at}
    )
    was_eligible = False if created else terms.eligible
    if not created and (terms.eligible, terms.reserve_rate) != (eligible, rate):
        if terms.eligible != eligible:
            terms.since = at
        terms.eligible, terms.reserve_rate = eligible, rate
    terms.reason = reason
    terms.source = source
    terms.save()
    EarlyPayoutDecision.objects.create(
        store=store,
        eligible=eligible,
        reserve_rate=rate,
        reason=reason,
        source=source,
        figures=figures or {},
        decided_by=actor if getattr(actor, "pk", None) else None,
        decided_at=at,
    )
    if was_eligible and not eligible:
        schedule_release_on_ineligibility(store, notice_at=at)
        release_at = at + timedelta(days=settings.RESERVE_RELEASE_ON_INELIGIBLE_DAYS)
        notify(
            store,
            Notice.Kind.ELIGIBILITY,
            at=at,
            title=gettext_lazy("Early payout ends for your store"),
            body=lambda: (
                _(
                    "%(reason)s Orders are now paid on confirmation. Your reserve is released on "
                    "%(release_on)s."
                )
                % {
                    "reason": reason or _("Your store no longer meets the early-payout criteria."),
                    "release_on": f"{release_at:%Y-%m-%d}",
                }
            ),
        )
    elif eligible and not was_eligible:
        notify(
            store,
            Notice.Kind.ELIGIBILITY,
            at=at,
            title=gettext_lazy("Your store now receives early payout"),
            body=lambda: (
                _("Orders are paid %(days)s days after shipment, with %(rate)s held as a reserve.")
                % {"days": settings.EARLY_PAYOUT_DELAY_DAYS, "rate": f"{rate:.0%}"}
            ),
        )
    return terms


def _reserve_rate(value: Any) -> Decimal:
    return clean_fraction(value, field="reserveRate")


# --- payouts ---


def rate_for(day: date, currency: str = Currency.USD) -> Decimal:
    rate = (
        ExchangeRate.objects.filter(date=day, currency=currency)
        .values_list("rate_to_cny", flat=True)
        .first()
    )
    if rate is None:
        raise invalid(
            _("No %(currency)s/CNY exchange rate is recorded for %(day)s.")
            % {"currency": currency, "day": f"{day:%Y-%m-%d}"},
            field="currency",
            code=Code.NO_EXCHANGE_RATE,
        )
    return rate


def _canonical(amount: Any) -> str:
    """The amount as the idempotency hash sees it: "10", "10.0" and "10.00" are one request."""
    try:
        return str(quantize(to_decimal(amount)))
    except (TypeError, ValueError, ArithmeticError):
        return str(amount)


def _payout_currency(store: SellerAccount, currency: str | None) -> str:
    """The store's settlement currency unless another is asked for; a USD payout of a store
    settled in CNY only where settings.PAYOUT_ALLOW_USD_FOR_CNY_STORES allows it."""
    if currency is None:
        return store.settlement_currency
    if currency not in (Currency.USD, Currency.CNY):
        raise invalid(_("Payouts are in USD or CNY."), field="currency")
    if (
        currency == Currency.USD
        and store.settlement_currency == Currency.CNY
        and not settings.PAYOUT_ALLOW_USD_FOR_CNY_STORES
    ):
        raise invalid(
            _(
                "This store is settled in CNY and the platform does not pay it in USD: "
                "request the payout in CNY (or without a currency)."
            ),
            field="currency",
        )
    return currency


def _request_payload(
    *, store_id: int, amount: Any, currency: str | None = None, **_other: Any
) -> dict[str, Any]:
    return {"store_id": store_id, "amount": _canonical(amount), "currency": currency}


@idempotent(model=Payout, payload=_request_payload)
def payout_request(
    *,
    store_id: int,
    actor: Any,
    amount: Any,
    currency: str | None = None,
    at: datetime | None = None,
) -> Payout:
    """Withdraw from the available balance, in ``currency`` (default: the store's settlement
    currency). The same idempotency key with the same input returns the first payout and moves
    nothing."""
    at = clock.resolve(at)
    store = lock(SellerAccount, store_id, what="Store")
    require_staff_or_owner(actor, "payouts.request_payout", store)
    amount = clean_amount(amount)
    currency = _payout_currency(store, currency)
    if store.status == SellerAccount.Status.FROZEN:
        raise invalid(
            _("The store is frozen (%(value)s); payouts are blocked until it is unfrozen.")
            % {"value": store.get_freeze_reason_display() or "no reason given"},
            code=Code.INVALID_TRANSITION,
        )
    available = balance(store_id=store.pk, account=A.AVAILABLE, currency=Currency.USD)
    if amount > available:
        raise invalid(
            _("Only USD %(available)s is available.") % {"available": available},
            field="amount",
            code=Code.INSUFFICIENT_FUNDS,
        )
    rate = rate_for(at.date()) if currency == Currency.CNY else None
    payout = Payout.objects.create(
        store=store,
        amount=amount,
        currency=currency,
        rate=rate,
        payout_amount=usd_to_cny(amount, rate) if rate else amount,
        requested_at=at,
        requested_by=actor if getattr(actor, "pk", None) else None,
    )
    legs = [Leg(A.AVAILABLE, -amount, store.pk), Leg(A.PAYOUT_CLEARING, amount)]
    memo = f"Payout {payout.pk} requested"
    _post_payout(payout, "request", Posting.Kind.PAYOUT, legs=legs, at=at, actor=actor, memo=memo)
    return payout


def _post_payout(payout: Payout, step: str, kind: str, *, legs: list[Leg], **fields: Any) -> None:
    """Post a payout's money movement under the reference ``payout:<id>:<step>``."""
    post(
        reference=f"payout:{payout.pk}:{step}",
        kind=kind,
        store_id=payout.store_id,
        payout=payout,
        legs=legs,
        **fields,
    )


@idempotent(
    model=Payout,
    payload=lambda *, payout_id, note="", **_other: {"payout_id": payout_id, "note": note},
)
def payout_mark_paid(
    *, payout_id: int, actor: Any, note: str = "", at: datetime | None = None
) -> Payout:
    """The payout reached the store. With an idempotency key a repeat returns the payout."""
    at = clock.resolve(at)
    payout = lock(Payout, payout_id)
    run_transition(payout, "mark_paid", actor=actor, at=at, note=note)
    payout.save(update_fields=["status", "paid_at"])
    legs = [Leg(A.PAYOUT_CLEARING, -payout.amount)]
    if payout.currency == Currency.CNY:
        legs += [
            Leg(A.FX, payout.amount),
            Leg(A.FX, -payout.payout_amount, currency="CNY"),
            Leg(A.PAID_OUT, payout.payout_amount, currency="CNY"),
        ]
    else:
        legs.append(Leg(A.PAID_OUT, payout.amount))
    memo = f"Payout {payout.pk} paid"
    _post_payout(payout, "paid", Posting.Kind.PAYOUT_PAID, legs=legs, at=at, actor=actor, memo=memo)
    return payout


@idempotent(
    model=Payout,
    payload=lambda *, payout_id, reason, **_other: {"payout_id": payout_id, "reason": reason},
)
def payout_mark_failed(
    *, payout_id: int, actor: Any, reason: str, at: datetime | None = None
) -> Payout:
    """The payout bounced: its money returns to the store (paying its debt first)."""
    at = clock.resolve(at)
    payout = lock(Payout, payout_id)
    reason = (reason or "").strip()
    run_transition(payout, "mark_failed", actor=actor, at=at, note=reason, reason=reason)
    if not reason:
        raise invalid(_("Say why the payout failed."), field="reason")
    clean_text(
        reason, field="reason", max_length=column_length(Payout, "failure_reason"), multiline=True
    )
    payout.save(update_fields=["status", "failed_at", "failure_reason"])
    lock(SellerAccount, payout.store_id)
    legs = [
        Leg(A.PAYOUT_CLEARING, -payout.amount),
        *_to_store_legs(payout.store_id, None, payout.amount),
    ]
    memo = f"Payout {payout.pk} failed: {reason}"
    _post_payout(
        payout, "failed", Posting.Kind.PAYOUT_FAILED, legs=legs, at=at, actor=actor, memo=memo
    )
    return payout


# --- exchange rates ---


@transaction.atomic
def exchange_rate_set(
    *, actor: Any, day: date, rate: Any, currency: str = Currency.USD
) -> ExchangeRate:
    require_staff_perm(actor, "payouts.change_exchangerate")
    if currency != Currency.USD:
        raise invalid(_("Only USD/CNY rates are kept."), field="currency")
    value = clean_rate(rate, field="rate")
    row, _created = ExchangeRate.objects.update_or_create(
        date=day,
        currency=currency,
        defaults={"rate_to_cny": value, "set_by": actor if getattr(actor, "pk", None) else None},
    )
    return row
