"""Orders, the products they sell, and payment reminders."""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import GET_STATE, FSMField, FSMModelMixin, transition

from accounts.models import SellerAccount
from backoffice.audit import TransitionLog
from backoffice.errors import Code
from backoffice.fsm import guard, transition_time
from backoffice.models import ImportedRecord
from backoffice.money import fits_column
from backoffice.permissions import allow


class PaymentMethod(models.TextChoices):
    CREDIT_CARD = "credit_card", _("Credit card")
    DEBIT_CARD = "debit_card", _("Debit card")
    TT = "tt", _("T/T bank transfer")
    MONEYBOOKERS = "moneybookers", _("Moneybookers")
    ALIPAY = "alipay", _("Alipay")
    EBANX = "ebanx", _("EBANX (local payment)")
    OTHER = "other", _("Other")


class EndReason(models.TextChoices):
    BUYER_ACCEPT_GOODS = "buyer_accept_goods", _("Buyer accepted the goods")
    REFUNDED = "refunded", _("Refunded")
    BUYER_CANCEL = "buyer_cancel", _("Cancelled by the buyer")
    PAY_TIMEOUT = "pay_timeout", _("Not paid in time")
    OUT_OF_STOCK = "out_of_stock", _("Out of stock")
    RISK_REJECTED = "risk_rejected", _("Closed by the platform's risk control")
    STORE_CLOSED = "store_closed", _("The store closed before payment")


CANCEL_REASONS = (
    EndReason.BUYER_CANCEL,
    EndReason.PAY_TIMEOUT,
    EndReason.OUT_OF_STOCK,
    EndReason.RISK_REJECTED,
)


class Product(models.Model):
    store = models.ForeignKey(SellerAccount, on_delete=models.PROTECT, related_name="products")
    sku = models.CharField(_("SKU"), max_length=64)
    title = models.CharField(max_length=300)
    listed = models.BooleanField(default=True)
    delisted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ("store", "sku")
        constraints = [
            models.UniqueConstraint(fields=["store", "sku"], name="product_unique_sku_per_store"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.sku})"

    @property
    def owner_store_id(self) -> int:
        return self.store_id


@guard(
    _("The dispute window closed {obj.dispute_window_closes_at:%Y-%m-%d %H:%M} UTC."),
    code=Code.DEADLINE_PASSED,
)
def within_dispute_window(order: "Order") -> bool:
    return (
        order.status != Order.Status.COMPLETED
        or transition_time(order) <= order.dispute_window_closes_at
    )


@guard(_("The store is closed: it takes no buyer money, so this order cannot be paid."))
def store_takes_payments(order: "Order") -> bool:
    # A page of orders carries the store's status as an annotation (orders.schema): no query
    # per order.
    status = getattr(order, "store_status", None) or order.store.status
    return status != SellerAccount.Status.CLOSED


def _cancel_target(order: "Order", **kwargs) -> str:
    # A paid order that is cancelled is refunded from escrow (DOMAIN.md: paid --refund--> refunded).
    # Evaluated after the method ran but before the state moves: status is still the source.
    return Order.Status.REFUNDED if order.status == Order.Status.PAID else Order.Status.CANCELLED


def _resolve_target(order: "Order", *, full_refund: bool, **kwargs) -> str:
    return Order.Status.REFUNDED if full_refund else order.disputed_from


class Order(FSMModelMixin, ImportedRecord):
    class Status(models.TextChoices):
        UNPAID = "unpaid", _("Unpaid")
        PAID = "paid", _("Paid")
        SHIPPED = "shipped", _("Shipped")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")
        REFUNDED = "refunded", _("Refunded")
        DISPUTED = "disputed", _("Disputed")

    store = models.ForeignKey(SellerAccount, on_delete=models.PROTECT, related_name="orders")
    order_number = models.CharField(_("order number"), max_length=32, unique=True)
    buyer_name = models.CharField(max_length=200, blank=True)
    buyer_country = models.CharField(max_length=64, blank=True)
    amount = models.DecimalField(
        max_digits=14, decimal_places=2, help_text=_("What the buyer pays, in USD.")
    )
    product_total = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    shipping_cost = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    payment_method = models.CharField(max_length=16, choices=PaymentMethod.choices, blank=True)
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    product_info = models.TextField(blank=True)
    protected = models.BooleanField(
        _("after-sales protection"),
        default=False,
        help_text=_("Covered by the platform's after-sales protection service."),
    )
    status = FSMField(max_length=16, choices=Status.choices, default=Status.UNPAID, protected=True)
    placed_at = models.DateTimeField(_("order time"))
    paid_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When the order was cancelled or refunded.")
    )
    carrier = models.CharField(max_length=100, blank=True, help_text=_("The first parcel's."))
    tracking_number = models.CharField(
        max_length=100, blank=True, help_text=_("The first parcel's.")
    )
    parcels = models.JSONField(
        default=list,
        blank=True,
        help_text=_('Every parcel of the shipment: [{"carrier": ..., "tracking_number": ...}].'),
    )
    original_amount = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("What the buyer paid in the store's settlement currency, when not USD."),
    )
    original_currency = models.CharField(max_length=3, blank=True)
    conversion_rate = models.DecimalField(
        max_digits=12,
        decimal_places=6,
        null=True,
        blank=True,
        help_text=_("CNY for one USD: the day's rate the amount was converted to USD at."),
    )
    end_reason = models.CharField(max_length=32, choices=EndReason.choices, blank=True)
    rating = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text=_("The buyer's rating, 1 to 5 stars (4 and 5 are positive)."),
    )
    rated_at = models.DateTimeField(null=True, blank=True)
    disputed_from = models.CharField(
        max_length=16,
        choices=Status.choices,
        blank=True,
        help_text=_(
            "The state the order was in when the dispute opened; partial or no refund "
            "returns it there."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Field-level history (backoffice.field_history): who changed which field, old and new.
    field_changes = GenericRelation("backoffice.FieldChange")

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ("-placed_at", "-id")
        permissions = [
            ("transition_order", "Can move orders through their life cycle"),
            ("send_payment_reminder", "Can send payment reminders"),
            ("export_order", "Can export orders (CSV, XLSX)"),
            ("record_rating", "Can record buyers' ratings (they feed early-payout decisions)"),
        ]
        indexes = [
            models.Index(fields=["status", "placed_at"], name="order_status_placed"),
            models.Index(fields=["status", "shipped_at"], name="order_status_shipped"),
            models.Index(fields=["store", "status"], name="order_store_status"),
            # the store's health counts its orders paid in the last 90 days (store page, lists)
            models.Index(fields=["store", "paid_at"], name="order_store_paid"),
        ]
        constraints = [
            fits_column("amount", max_digits=14, decimal_places=2, name="order_amount_fits"),
            fits_column(
                "product_total",
                max_digits=14,
                decimal_places=2,
                name="order_product_total_fits",
                nullable=True,
            ),
            fits_column(
                "shipping_cost",
                max_digits=14,
                decimal_places=2,
                name="order_shipping_cost_fits",
                nullable=True,
            ),
            fits_column(
                "original_amount",
                max_digits=14,
                decimal_places=2,
                name="order_original_amount_fits",
                nullable=True,
            ),
            fits_column(
                "conversion_rate",
                max_digits=12,
                decimal_places=6,
                name="order_conversion_rate_fits",
                nullable=True,
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="order_amount_positive"),
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                name="order_rating_1_to_5",
            ),
            models.CheckConstraint(
                condition=Q(status="unpaid") | Q(status="cancelled") | Q(paid_at__isnull=False),
                name="order_paid_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["shipped", "completed"]) | Q(shipped_at__isnull=False),
                name="order_shipped_has_time",
            ),
            models.CheckConstraint(
                condition=Q(original_amount__isnull=True, original_currency="")
                | Q(
                    original_amount__gt=0,
                    original_currency="CNY",
                    conversion_rate__gt=0,
                ),
                name="order_original_amount_with_rate",
            ),
        ]

    def __str__(self) -> str:
        return self.order_number

    @property
    def owner_store_id(self) -> int:
        return self.store_id

    @property
    def dispute_window_closes_at(self):
        return self.completed_at + timedelta(days=settings.DISPUTE_WINDOW_DAYS)

    # --- transitions: guards and own fields only; services add locking, audit, money ---

    @transition(
        field=status,
        source=Status.UNPAID,
        target=Status.PAID,
        conditions=[store_takes_payments],
        permission=allow("orders.transition_order"),
    )
    def pay(self, *, at, payment_method: str = "") -> None:
        self.paid_at = at
        self.payment_method = payment_method or self.payment_method

    @transition(
        field=status,
        source=Status.PAID,
        target=Status.SHIPPED,
        permission=allow("orders.transition_order", seller=True),
    )
    def ship(self, *, at, parcels: list[dict[str, str]]) -> None:
        self.shipped_at = at
        self.carrier = parcels[0]["carrier"]
        self.tracking_number = parcels[0]["tracking_number"]
        self.parcels = parcels

    @transition(
        field=status,
        source=Status.SHIPPED,
        target=Status.COMPLETED,
        permission=allow("orders.transition_order"),
    )
    def confirm(self, *, at) -> None:
        self.completed_at = at
        self.end_reason = EndReason.BUYER_ACCEPT_GOODS

    @transition(
        field=status,
        source=[Status.UNPAID, Status.PAID],
        target=GET_STATE(_cancel_target, states=[Status.CANCELLED, Status.REFUNDED]),
        permission=allow("orders.transition_order", seller=True),
    )
    def cancel(self, *, at, reason: str) -> None:
        self.closed_at = at
        self.end_reason = reason

    @transition(
        field=status,
        source=[Status.PAID, Status.SHIPPED, Status.COMPLETED],
        target=Status.DISPUTED,
        conditions=[within_dispute_window],
        permission=allow("orders.transition_order"),
    )
    def open_dispute(self, *, at) -> None:
        self.disputed_from = self.status

    @transition(
        field=status,
        source=Status.DISPUTED,
        target=GET_STATE(
            _resolve_target,
            states=[Status.REFUNDED, Status.PAID, Status.SHIPPED, Status.COMPLETED],
        ),
        permission=allow("orders.transition_order"),
    )
    def resolve_dispute(self, *, at, full_refund: bool) -> None:
        if full_refund:
            self.closed_at = at
            self.end_reason = EndReason.REFUNDED


class OrderLine(models.Model):
    """One product of an order: its SKU, how many and at what unit price (USD; unknown when an
    export names only the product code). An out-of-stock cancellation delists each line's
    product (the store's product of that SKU)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    sku = models.CharField(_("SKU"), max_length=64)
    quantity = models.PositiveIntegerField(default=1)
    unit_price = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, help_text=_("In USD.")
    )

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ("order", "id")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="orderline_quantity_min_1"),
            fits_column(
                "unit_price",
                max_digits=14,
                decimal_places=2,
                name="orderline_unit_price_fits",
                minimum=Decimal(0),
                nullable=True,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"


class OrderTransition(TransitionLog):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="history")

    class Meta(TransitionLog.Meta):
        verbose_name = _("order history entry")
        verbose_name_plural = _("order history")


class PaymentReminder(models.Model):
    """A reminder sent to the buyer of an unpaid order (at most one per order per interval)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="payment_reminders")
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    sent_at = models.DateTimeField(db_index=True)
    message = models.TextField()

    class Meta:
        verbose_name = _("payment reminder")
        verbose_name_plural = _("payment reminders")
        ordering = ("-sent_at", "-id")

    def __str__(self) -> str:
        return f"Reminder for {self.order_id} at {self.sent_at:%Y-%m-%d %H:%M}"

    @property
    def owner_store_id(self) -> int:
        return self.order.store_id
