"""Every write to orders. Each public service locks the order, checks the transition for the
actor, applies it, saves only what changed and records the audit row in one transaction.

The ``apply_*`` functions work on an already loaded and locked order, and save what they changed
with its audit row through the unit of work (:mod:`backoffice.unit_of_work`): at once for a
single call; in bulk at the batch's flush for the callers that load many orders at once (the
deadlines runner, imports). Imports build new orders with :func:`order_build`, the checks of
:func:`order_create`, and insert them in bulk. The rules therefore live in one place for single
and batch use.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from accounts.models import SellerAccount
from backoffice import clock, db
from backoffice.db import lock
from backoffice.errors import Code, invalid
from backoffice.field_history import record_field_changes, snapshot
from backoffice.fsm import run_transition
from backoffice.money import clean_amount
from backoffice.permissions import require_staff_or_owner, require_staff_perm
from backoffice.text import clean_text, column_length
from orders.models import (
    CANCEL_REASONS,
    EndReason,
    Order,
    OrderLine,
    PaymentMethod,
    PaymentReminder,
    Product,
)
from orders.selectors import reminder_too_soon
from payouts import services as payouts_services

PAYMENT_METHODS = frozenset(PaymentMethod.values)  # (.values builds a new list each time)

# Fields each transition may change: what its apply_* saves.
_SAVE_FIELDS = {
    "pay": ["status", "paid_at", "payment_method"],
    "ship": ["status", "shipped_at", "carrier", "tracking_number", "parcels"],
    "confirm": ["status", "completed_at", "end_reason"],
    "cancel": ["status", "closed_at", "end_reason"],
    "open_dispute": ["status", "disputed_from"],
    "resolve_dispute": ["status", "closed_at", "end_reason"],
}


def _save(order: Order, transition: str) -> None:
    db.save(order, [*_SAVE_FIELDS[transition], "updated_at"])  # deferred inside a batch


def _optional_amount(value: Any, field: str) -> Decimal | None:
    return (
        None if value is None or value == "" else clean_amount(value, field=field, allow_zero=True)
    )


@transaction.atomic
def order_create(
    *,
    actor: Any,
    store_id: int,
    order_number: str,
    amount: Decimal | str,
    buyer_name: str = "",
    buyer_country: str = "",
    placed_at: datetime | None = None,
    product_total: Decimal | str | None = None,
    shipping_cost: Decimal | str | None = None,
    protected: bool = False,
    product_id: int | None = None,
    product_info: str = "",
    lines: Sequence["Line"] = (),
) -> Order:
    """A new unpaid order, as checkout or an integration creates it, with its lines."""
    store = lock(SellerAccount, store_id, what="Store")
    order = order_build(
        actor=actor,
        store=store,
        order_number=order_number,
        amount=amount,
        buyer_name=buyer_name,
        buyer_country=buyer_country,
        placed_at=placed_at,
        product_total=product_total,
        shipping_cost=shipping_cost,
        protected=protected,
        product_id=product_id,
        product_info=product_info,
    )
    built = order_lines_build(order=order, lines=lines)
    order.save()
    OrderLine.objects.bulk_create(built)
    return order


@dataclass(frozen=True)
class Line:
    """An order line as a caller gives it; ``unit_price`` None: unknown (an export that names
    only the product code)."""

    sku: str
    quantity: int = 1
    unit_price: Decimal | str | None = None


def order_lines_build(*, order: Order, lines: Sequence[Line]) -> list[OrderLine]:
    """The order's lines, checked and unsaved (the caller inserts them after the order). When
    every line has a price, they add up to the product total (the amount when the order has
    no product total); refused as invalid on ``lines``."""
    built = [_line(order, line) for line in lines]
    if built and all(line.unit_price is not None for line in built):
        _check_lines_add_up(order, built)
    return built


def _line(order: Order, line: Line) -> OrderLine:
    sku = clean_text(line.sku, field="lines", max_length=column_length(OrderLine, "sku"))
    if not sku:
        raise invalid(_("Each line names its SKU."), field="lines")
    if isinstance(line.quantity, bool) or not isinstance(line.quantity, int) or line.quantity < 1:
        raise invalid(_("Each line's quantity is a whole number, 1 or more."), field="lines")
    if line.quantity > 1_000_000:
        raise invalid(_("A line's quantity is at most 1,000,000."), field="lines")
    price = _optional_amount(line.unit_price, "lines")
    line_row = db.build(OrderLine, sku=sku, quantity=line.quantity, unit_price=price)
    line_row.order = order
    return line_row


def _check_lines_add_up(order: Order, lines: list[OrderLine]) -> None:
    total = sum((line.unit_price * line.quantity for line in lines), Decimal(0))
    expected = order.product_total if order.product_total is not None else order.amount
    if order.original_currency:  # a CNY-priced order: its USD parts are rounded apart
        return
    if total != expected:
        raise invalid(
            _("The lines add up to USD %(lines)s, not the order's USD %(expected)s.")
            % {"lines": total, "expected": expected},
            field="lines",
        )


def order_build(
    *,
    actor: Any,
    store: SellerAccount,
    order_number: str,
    amount: Decimal | str,
    buyer_name: str = "",
    buyer_country: str = "",
    placed_at: datetime | None = None,
    product_total: Decimal | str | None = None,
    shipping_cost: Decimal | str | None = None,
    protected: bool = False,
    product_id: int | None = None,
    product_info: str = "",
    original: tuple[Decimal, str, Decimal] | None = None,
    check_unique: bool = True,
) -> Order:
    """Every check of a new order, and the order unsaved: :func:`order_create` saves it, an
    import inserts a batch of them at once. ``store`` is locked by the caller; a caller that
    knows the number is new (an import looked the batch's numbers up) passes
    ``check_unique=False``, the unique index still holding. ``original``: (amount, currency,
    rate) of an order the platform priced in CNY, ``amount`` being its USD at ``rate``."""
    require_staff_or_owner(actor, "orders.add_order", store)
    if store.status == SellerAccount.Status.CLOSED:
        raise invalid(
            _("A closed store takes no new orders."), field="storeId", code=Code.INVALID_TRANSITION
        )
    order_number = (order_number or "").strip()
    if not ORDER_NUMBER.fullmatch(order_number):
        raise invalid(_("The order number is a string of up to 20 digits."), field="orderNumber")
    if check_unique and Order.objects.filter(order_number=order_number).exists():
        raise invalid(
            _("Order %(order_number)s exists already.") % {"order_number": order_number},
            field="orderNumber",
            code=Code.ALREADY_EXISTS,
        )
    product = None
    if product_id is not None:
        product = Product.objects.filter(pk=product_id, store=store).first()
        if product is None:
            raise invalid(
                _("No such product in this store."), field="productId", code=Code.NOT_FOUND
            )
    # db.build: Model.__init__ is most of the cost of building an order, which an import does
    # by the hundred thousand; the fields are all given, by attname.
    order = db.build(
        Order,
        store_id=store.pk,  # by id, the object cached below: assigning it costs as much again
        order_number=order_number,
        amount=clean_amount(amount, field="amount"),
        product_total=_optional_amount(product_total, "productTotal"),
        shipping_cost=_optional_amount(shipping_cost, "shippingCost"),
        buyer_name=_detail_text("buyer_name", buyer_name),
        buyer_country=_detail_text("buyer_country", buyer_country),
        placed_at=clock.resolve(placed_at),
        protected=protected,
        product_id=product.pk if product else None,
        product_info=_detail_text("product_info", product_info),
        **_original(original),
    )
    check_adds_up(order)
    Order.store.field.set_cached_value(order, store)
    if product is not None:
        Order.product.field.set_cached_value(order, product)
    return order


def _original(original: tuple[Decimal, str, Decimal] | None) -> dict[str, Any]:
    if original is None:
        return {}
    amount, currency, rate = original
    if currency != "CNY" or not rate or rate <= 0:
        raise invalid(
            _("An order priced in another currency is CNY at a rate above 0."), field="amount"
        )
    return {
        "original_amount": clean_amount(amount, field="amount"),
        "original_currency": currency,
        "conversion_rate": rate,
    }


# What describes an order without being part of its state or its money: a later export may
# correct them (apply_details).
DETAIL_FIELDS = {
    "buyer_name": None,
    "buyer_country": None,
    "product_total": "productTotal",
    "shipping_cost": "shippingCost",
    "product_info": None,
    "protected": None,
    "parcels": None,
}


# The order's texts: input field name, and whether the text keeps its lines (and spaces).
DETAIL_TEXTS = {
    "buyer_name": ("buyerName", False),
    "buyer_country": ("buyerCountry", False),
    "product_info": ("productInfo", True),
}
ORDER_NUMBER = re.compile(r"[0-9]{1,20}")


def _detail_text(name: str, value: Any) -> str:
    field, multiline = DETAIL_TEXTS[name]
    return clean_text(
        value,
        field=field,
        max_length=column_length(Order, name),
        multiline=multiline,
        strip=not multiline,
    )


def apply_details(order: Order, **details: Any) -> list[str]:
    """Set the :data:`DETAIL_FIELDS` given (``None``: not given) that differ on a loaded,
    locked order, and return the names of those changed; the caller saves them. Neither the
    state nor the amount change here: the transitions and the ledger own them."""
    changed = []
    for name, value in details.items():
        if name not in DETAIL_FIELDS:
            raise TypeError(f"{name} is not a detail of an order")
        if value is None:
            continue
        if name == "parcels":
            changed += _change_parcels(order, value)
            continue
        if DETAIL_FIELDS[name]:
            value = clean_amount(value, field=DETAIL_FIELDS[name], allow_zero=True)
        elif name in DETAIL_TEXTS:
            value = _detail_text(name, value)
        if getattr(order, name) != value:
            setattr(order, name, value)
            changed.append(name)
    if {"product_total", "shipping_cost"} & set(changed):
        check_adds_up(order)
    return changed


# What staff may edit on an order: its descriptive texts and its product. The state, the
# money and the dates move through transitions and the ledger.
EDITABLE_TEXTS = ("buyer_name", "buyer_country", "product_info")
KEEP: Any = object()  # product_id not given: the product stays


def clean_detail_texts(**texts: Any) -> dict[str, str]:
    """The editable texts given (``None``: not given), validated as the API validates them."""
    return {name: _detail_text(name, value) for name, value in texts.items() if value is not None}


def _product_of(order: Order, product_id: Any) -> Product | None:
    if product_id is None:
        return None
    product = Product.objects.filter(pk=product_id, store_id=order.store_id).first()
    if product is None:
        raise invalid(
            _("No such product in this order's store."), field="productId", code=Code.NOT_FOUND
        )
    return product


@transaction.atomic
def order_update(
    *, order_id: int, actor: Any, note: str = "", product_id: Any = KEEP, **texts: Any
) -> Order:
    """Changes an order's descriptive fields (:data:`EDITABLE_TEXTS`; ``None``: unchanged) and
    its product (``product_id``; ``None`` clears it), saves only those that differ and records
    each with its old and new value and who (:mod:`backoffice.field_history`)."""
    require_staff_perm(actor, "orders.change_order")
    if set(texts) - set(EDITABLE_TEXTS):
        raise TypeError(f"not editable on an order: {sorted(set(texts) - set(EDITABLE_TEXTS))}")
    note = clean_text(note, field="note", multiline=True)
    order = lock(Order, order_id)
    fields = [*texts, *([] if product_id is KEEP else ["product"])]
    before = snapshot(order, fields)
    changed = apply_details(order, **clean_detail_texts(**texts))
    if product_id is not KEEP and order.product_id != product_id:
        order.product = _product_of(order, product_id)
        changed.append("product")
    if not changed:
        return order
    order.save(update_fields=[*changed, "updated_at"])
    record_field_changes(order, before, snapshot(order, fields), actor, note=note)
    return order


def check_adds_up(order: Order) -> None:
    """An order's amount is its product total plus shipping, when both are known (in the
    order's USD; a CNY-priced order's parts are checked in CNY by the import, before any
    conversion could round them apart)."""
    if order.product_total is None or order.shipping_cost is None or order.original_currency:
        return
    parts = order.product_total + order.shipping_cost
    if parts != order.amount:
        raise invalid(
            _(
                "The amount USD %(amount)s is not the product total USD %(products)s plus "
                "shipping USD %(shipping)s (USD %(parts)s)."
            )
            % {
                "amount": order.amount,
                "products": order.product_total,
                "shipping": order.shipping_cost,
                "parts": parts,
            },
            field="amount",
        )


def _change_parcels(order: Order, parcels: Sequence[tuple[str, str]]) -> list[str]:
    """A shipped order's parcels as a later export lists them (a second box, a corrected
    number); an order not shipped yet gets its parcels when it ships."""
    if order.shipped_at is None or not parcels:
        return []
    cleaned = [_parcel(carrier, tracking) for carrier, tracking in parcels]
    if cleaned == order.parcels:
        return []
    order.parcels = cleaned
    order.carrier, order.tracking_number = cleaned[0]["carrier"], cleaned[0]["tracking_number"]
    return ["parcels", "carrier", "tracking_number"]


# --- transitions on a loaded, locked order (each saves what it changed) ---


def apply_pay(
    order: Order, *, actor: Any, at: datetime, payment_method: str, note: str = ""
) -> None:
    if payment_method and payment_method not in PAYMENT_METHODS:
        raise invalid(
            _("Unknown payment method %(payment_method)r.") % {"payment_method": payment_method},
            field="paymentMethod",
        )
    run_transition(order, "pay", actor=actor, at=at, note=note, payment_method=payment_method)
    payouts_services.record_payment(order, at=at, actor=actor)
    _save(order, "pay")


MAX_PARCELS = 20


def apply_ship(
    order: Order,
    *,
    actor: Any,
    at: datetime,
    carrier: str = "",
    tracking_number: str = "",
    parcels: Sequence[tuple[str, str]] = (),
    note: str = "",
) -> None:
    """Ship with one parcel (``carrier``, ``tracking_number``) or several (``parcels``, each a
    (carrier, tracking number) pair: a marketplace order may leave in more than one box)."""
    given = list(parcels) or [(carrier, tracking_number)]
    if len(given) > MAX_PARCELS:
        raise invalid(
            _("At most %(max_parcels)s parcels per order.") % {"max_parcels": MAX_PARCELS},
            field="trackingNumber",
        )
    cleaned = [_parcel(carrier, tracking) for carrier, tracking in given]
    run_transition(
        order,
        "ship",
        actor=actor,
        at=at,
        note=note or "; ".join(f"{p['carrier']} {p['tracking_number']}" for p in cleaned),
        parcels=cleaned,
    )
    _save(order, "ship")


def _parcel(carrier: str, tracking_number: str) -> dict[str, str]:
    carrier = clean_text(carrier, field="carrier", max_length=column_length(Order, "carrier"))
    tracking_number = clean_text(
        tracking_number, field="trackingNumber", max_length=column_length(Order, "tracking_number")
    )
    if not carrier:
        raise invalid(_("The carrier is required to ship."), field="carrier")
    if not tracking_number:
        raise invalid(_("The tracking number is required to ship."), field="trackingNumber")
    return {"carrier": carrier, "tracking_number": tracking_number}


def apply_confirm(order: Order, *, actor: Any, at: datetime, note: str = "") -> None:
    run_transition(order, "confirm", actor=actor, at=at, note=note)
    payouts_services.release_escrow(order, at=at, actor=actor)
    _save(order, "confirm")


def apply_cancel(order: Order, *, actor: Any, at: datetime, reason: str, note: str = "") -> None:
    # A paid order may also be refunded in full with no other cause given: the platform's
    # "refunded" end reason (what its exports say of a cancelled paid order).
    reasons = (*CANCEL_REASONS, EndReason.REFUNDED) if order.status == Order.Status.PAID else None
    if reason not in (reasons or CANCEL_REASONS):
        choices = ", ".join(reasons or CANCEL_REASONS)
        raise invalid(
            _("Unknown cancel reason %(reason)r; use one of %(choices)s.")
            % {"reason": reason, "choices": choices},
            field="reason",
        )
    run_transition(order, "cancel", actor=actor, at=at, note=note or reason, reason=reason)
    if order.status == Order.Status.REFUNDED:
        payouts_services.refund_on_cancel(order, at=at, actor=actor)
        # What the protection fund covered goes to the store.
        payouts_services.release_escrow(order, at=at, actor=actor)
    _save(order, "cancel")


def cancel_unpaid_on_closure(store: SellerAccount, *, actor: Any, at: datetime) -> int:
    """A closed store takes no buyer money: its unpaid orders are cancelled (reason
    ``store_closed``), in the closure's transaction, each with its audit row. The closure's
    permission covers them (risk closes stores without moving orders otherwise). Returns how
    many were cancelled. No money moves: an unpaid order holds none."""
    orders = list(
        Order.objects.select_for_update()
        .filter(store_id=store.pk, status=Order.Status.UNPAID)
        .order_by("pk")
    )
    for order in orders:
        run_transition(
            order,
            "cancel",
            actor=actor,
            at=at,
            note="store closed",
            permission_checked=True,
            reason=EndReason.STORE_CLOSED,
        )
        _save(order, "cancel")
    return len(orders)


# --- the public services: one transaction each ---


@transaction.atomic
def order_mark_paid(
    *,
    order_id: int,
    actor: Any,
    payment_method: str = "",
    note: str = "",
    at: datetime | None = None,
) -> Order:
    order = lock(Order, order_id)
    apply_pay(order, actor=actor, at=clock.resolve(at), payment_method=payment_method, note=note)
    return order


@transaction.atomic
def order_ship(
    *,
    order_id: int,
    actor: Any,
    carrier: str,
    tracking_number: str,
    note: str = "",
    at: datetime | None = None,
) -> Order:
    order = lock(Order, order_id)
    apply_ship(
        order,
        actor=actor,
        at=clock.resolve(at),
        carrier=carrier,
        tracking_number=tracking_number,
        note=note,
    )
    return order


@transaction.atomic
def order_confirm_receipt(
    *, order_id: int, actor: Any, note: str = "", at: datetime | None = None
) -> Order:
    order = lock(Order, order_id)
    apply_confirm(order, actor=actor, at=clock.resolve(at), note=note)
    return order


@transaction.atomic
def order_cancel(
    *,
    order_id: int,
    actor: Any,
    reason: str,
    note: str = "",
    delist_product: bool = False,
    at: datetime | None = None,
) -> Order:
    """Cancel an unpaid order, or refund a paid one in full (out of stock, buyer request).
    With ``delist_product`` an out-of-stock order's product is delisted in the same step."""
    at = clock.resolve(at)
    order = lock(Order, order_id)
    if delist_product and reason != EndReason.OUT_OF_STOCK:
        raise invalid(
            _("Only an out-of-stock cancellation delists the product."), field="delistProduct"
        )
    apply_cancel(order, actor=actor, at=at, reason=reason, note=note)
    if delist_product:
        _delist_products(order, at)
    return order


def _delist_products(order: Order, at: datetime) -> None:
    """Delist the order's product and the store's products of each line's SKU."""
    skus = set(order.lines.values_list("sku", flat=True))
    products = Q(store_id=order.store_id, sku__in=skus)
    if order.product_id:
        products |= Q(pk=order.product_id)
    Product.objects.filter(products, listed=True).update(listed=False, delisted_at=at)


def apply_open_dispute(order: Order, *, actor: Any, at: datetime, note: str = "") -> None:
    """The order side of opening a dispute; the disputes service checked the actor."""
    run_transition(order, "open_dispute", actor=actor, at=at, note=note, permission_checked=True)
    _save(order, "open_dispute")


def apply_resolve_dispute(
    order: Order, *, actor: Any, at: datetime, full_refund: bool, note: str = ""
) -> None:
    """The order side of a dispute's end: a full refund ends the order as refunded; a partial
    or no refund returns it to where it was when the dispute opened."""
    run_transition(
        order,
        "resolve_dispute",
        actor=actor,
        at=at,
        note=note,
        full_refund=full_refund,
        permission_checked=True,
    )
    _save(order, "resolve_dispute")


@transaction.atomic
def order_record_rating(
    *, order_id: int, actor: Any, rating: int, at: datetime | None = None
) -> Order:
    """The buyer's rating of a completed order (from the platform's feedback feed). Ratings
    feed the early-payout evaluation, so only the system and staff holding
    ``orders.record_rating`` (the ``integration`` role) record them, never support."""
    require_staff_perm(actor, "orders.record_rating")
    order = lock(Order, order_id)
    if order.status != Order.Status.COMPLETED:
        raise invalid(_("Only completed orders are rated."), code=Code.INVALID_TRANSITION)
    if rating not in range(1, 6):
        raise invalid(_("A rating is 1 to 5 stars."), field="rating")
    order.rating, order.rated_at = rating, clock.resolve(at)
    order.save(update_fields=["rating", "rated_at", "updated_at"])
    return order


@transaction.atomic
def order_send_payment_reminder(
    *, order_id: int, actor: Any, message: str = "", at: datetime | None = None
) -> PaymentReminder:
    """Remind the buyer of an unpaid order, at most once per interval; every reminder is kept."""
    at = clock.resolve(at)
    order = lock(Order, order_id)
    require_staff_or_owner(actor, "orders.send_payment_reminder", order)
    if order.status != Order.Status.UNPAID:
        raise invalid(
            _("Only unpaid orders get payment reminders; this one is %(status)s.")
            % {"status": order.status},
            code=Code.INVALID_TRANSITION,
        )
    too_soon = reminder_too_soon(order, at)
    if too_soon:
        raise invalid(too_soon, code=Code.TOO_SOON)
    text = clean_text(
        message, field="message", multiline=True
    ) or settings.PAYMENT_REMINDER_TEXT.format(
        buyer_name=order.buyer_name or "there", order_number=order.order_number
    )
    return PaymentReminder.objects.create(order=order, sent_by=actor, sent_at=at, message=text)
