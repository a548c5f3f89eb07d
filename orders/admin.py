"""Admin for orders, products and payment reminders. Orders are created and moved only through
``orders.services``; the state field is never in a form."""

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import SellerAccount
from backoffice import clock
from backoffice.admin_periods import PeriodsAdminMixin
from backoffice.admin_sources import ImportedFromMixin
from backoffice.admin_transitions import (
    FieldChangeInline,
    HistoryInline,
    LabelledSplitDateTime,
    ObjectAction,
    ReadOnlyInline,
    TransitionAdminMixin,
    bulk_action,
    validate_with,
)
from backoffice.autoaction import next_action_cell
from backoffice.exports import ExportAdminMixin
from backoffice.forms import StrictDecimalField
from backoffice.fsm import TransitionCheck
from backoffice.i18n import short_date
from backoffice.money import Money, display_money
from disputes.admin import OrderDisputeInline
from orders.models import (
    CANCEL_REASONS,
    EndReason,
    Order,
    OrderLine,
    OrderTransition,
    PaymentMethod,
    PaymentReminder,
    Product,
)
from orders.resources import OrderResource
from orders.selectors import auto_action, reminder_too_soon
from orders.services import (
    EDITABLE_TEXTS,
    clean_detail_texts,
    order_cancel,
    order_confirm_receipt,
    order_create,
    order_mark_paid,
    order_send_payment_reminder,
    order_ship,
    order_update,
)
from payouts.admin import MONEY_VIEW_PERM, PostingInline, RefundInline, changelist_link
from payouts.ledger import balance
from payouts.models import Account, LedgerEntry

TRANSITION_PERM = "orders.transition_order"
#: How the order page writes the currency an order was priced in (the platform's own sign).
PRICE_SIGNS = {"CNY": "CN¥"}
REMINDER_PERM = "orders.send_payment_reminder"
NOTE = forms.CharField(
    required=False,
    widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    help_text=_("Kept in the history."),
)


class PayForm(forms.Form):
    payment_method = forms.ChoiceField(
        choices=[("", _("As recorded on the order")), *PaymentMethod.choices], required=False
    )
    note = NOTE


class ShipForm(forms.Form):
    carrier = forms.CharField(max_length=100)
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=100)


class CancelForm(forms.Form):
    reason = forms.ChoiceField(choices=[(r.value, r.label) for r in CANCEL_REASONS])
    delist_product = forms.BooleanField(
        label=_("Delist the product"),
        required=False,
        help_text=_("Only with “out of stock”. A paid order is refunded in full."),
    )
    note = NOTE


def escrow_of(order: Order) -> Money:
    return Money(balance(order_id=order.pk, account=Account.ESCROW), "USD")


def confirm_effect(order: Order, data: dict[str, Any]) -> str:
    return gettext("%(money)s escrow -> available of %(store)s") % {
        "money": escrow_of(order),
        "store": order.store.name,
    }


def pay_effect(order: Order, data: dict[str, Any]) -> str:
    return gettext("%(money)s buyer funds -> escrow of %(store)s") % {
        "money": Money(order.amount, "USD"),
        "store": order.store.name,
    }


def cancel_effect(order: Order, data: dict[str, Any]) -> str:
    if order.status == Order.Status.UNPAID:
        return gettext("No money moves: the order was not paid.")
    return gettext("%(money)s escrow of %(store)s -> refunded to the buyer") % {
        "money": escrow_of(order),
        "store": order.store.name,
    }


def reminder_check(order: Order, user: Any) -> TransitionCheck | None:
    """Offered on unpaid orders only; refused while the last reminder is too recent."""
    if order.status != Order.Status.UNPAID:
        return None
    too_soon = reminder_too_soon(order, clock.now())
    if too_soon:
        return TransitionCheck("send_payment_reminder", False, too_soon)
    return TransitionCheck("send_payment_reminder", True)


def autocomplete(model: type, field: str) -> AutocompleteSelect:
    return AutocompleteSelect(model._meta.get_field(field), admin.site)


class OrderCreateForm(forms.Form):
    store = forms.ModelChoiceField(SellerAccount.objects.all(), widget=autocomplete(Order, "store"))
    order_number = forms.CharField(max_length=20, help_text=_("Up to 20 digits."))
    amount = StrictDecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0.01"), help_text=_("USD.")
    )
    product_total = StrictDecimalField(max_digits=14, decimal_places=2, required=False)
    shipping_cost = StrictDecimalField(max_digits=14, decimal_places=2, required=False)
    buyer_name = forms.CharField(max_length=200, required=False)
    buyer_country = forms.CharField(max_length=64, required=False)
    placed_at = forms.SplitDateTimeField(
        label=_("Order time"),
        required=False,
        widget=LabelledSplitDateTime,
        help_text=_("Empty for now."),
    )
    protected = forms.BooleanField(label=_("After-sales protection"), required=False)
    product = forms.ModelChoiceField(
        Product.objects.all(), required=False, widget=autocomplete(Order, "product")
    )
    product_info = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))


class OrderChangeForm(forms.ModelForm):
    class Meta:
        model = Order
        fields = ("buyer_name", "buyer_country", "product", "product_info")

    def clean_product(self) -> Product | None:
        product = self.cleaned_data.get("product")
        if product is not None and product.store_id != self.instance.store_id:
            raise forms.ValidationError(gettext("Choose a product of this order's store."))
        return product

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        validate_with(self, clean_detail_texts, list(EDITABLE_TEXTS))
        return cleaned


class OrderHistoryInline(HistoryInline):
    model = OrderTransition


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ("sku", "quantity", "unit_price")
    readonly_fields = fields
    verbose_name_plural = _("lines")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Part of the order: whoever sees the order sees its lines.
        return request.user.has_perm("orders.view_order")


class PaymentReminderInline(ReadOnlyInline):
    model = PaymentReminder
    fields = ("sent_at", "sent_by", "message")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("sent_by")


@admin.register(Order)
class OrderAdmin(
    PeriodsAdminMixin, ImportedFromMixin, TransitionAdminMixin, ExportAdminMixin, admin.ModelAdmin
):
    service_id_arg = "order_id"
    resource_classes = [OrderResource]  # export only (backoffice/exports.py)
    # The whitelist: dispute transitions belong to the disputes app and are not offered here.
    object_actions = {
        "pay": ObjectAction(
            _("Mark paid"),
            order_mark_paid,
            TRANSITION_PERM,
            form=PayForm,
            initial=lambda order: {"payment_method": order.payment_method},
            effect=pay_effect,
        ),
        "ship": ObjectAction(_("Ship"), order_ship, TRANSITION_PERM, form=ShipForm),
        # Staff confirm receipt and cancel for the buyer or the seller: a note says why.
        "confirm": ObjectAction(
            _("Confirm receipt"),
            order_confirm_receipt,
            TRANSITION_PERM,
            effect=confirm_effect,
            note_required=True,
        ),
        "cancel": ObjectAction(
            _("Cancel"),
            order_cancel,
            TRANSITION_PERM,
            form=CancelForm,
            effect=cancel_effect,
            note_required=True,
        ),
        "send_payment_reminder": ObjectAction(
            _("Send payment reminder"),
            order_send_payment_reminder,
            REMINDER_PERM,
            check=reminder_check,
        ),
    }
    actions = [
        bulk_action("pay", _("Mark selected orders paid")),
        bulk_action("confirm", _("Confirm receipt of selected orders")),
        bulk_action(
            "cancel", _("Cancel selected orders (buyer request)"), reason=EndReason.BUYER_CANCEL
        ),
        bulk_action("send_payment_reminder", _("Send payment reminders for selected orders")),
    ]
    service_add_form = OrderCreateForm

    # Fits 1440 px: dates without the time (exact on hover), protection and shipping on the
    # order's page (and in the filters).
    list_display = (
        "order_number",
        "store",
        "buyer_name",
        "amount_usd",
        "status",
        "placed",
        "next_action",
    )
    list_filter = (
        "status",
        "protected",
        "payment_method",
        ("store", admin.RelatedOnlyFieldListFilter),
        ("source_file", admin.RelatedOnlyFieldListFilter),  # what one imported file touched
    )
    search_fields = (
        "=order_number",
        "buyer_name",
        "parcels__icontains",  # any parcel's tracking number (the JSON's text; SQLite, PostgreSQL)
        "store__name",
        "=store__platform_store_id",
    )
    date_hierarchy = "placed_at"
    list_select_related = ("store",)
    form = OrderChangeForm
    autocomplete_fields = ("product",)
    money_fields = (
        "amount_paid",
        "product_total",
        "shipping_cost",
        "payment_method",
        "escrow",
        "commission",
    )
    fieldsets = (
        (None, {"fields": ("order_number", "store", "status", "protection")}),
        (_("Money"), {"fields": money_fields}),
        (_("Buyer"), {"fields": ("buyer_name", "buyer_country")}),
        (_("Product"), {"fields": ("product", "product_info")}),
        (_("Shipping"), {"fields": ("parcel_list",)}),
        (
            _("Time"),
            {
                "fields": (
                    "next_action",
                    "placed_at",
                    "paid_at",
                    "shipped_at",
                    "completed_at",
                    "closed_at",
                )
            },
        ),
        (_("Outcome"), {"fields": ("end_reason", "disputed_from")}),
        (_("Source"), {"fields": ("imported_from",)}),
    )
    # Disputes, refunds and postings show to those who may view them (disputes.view_dispute,
    # payouts.view_refund / view_posting).
    inlines = (
        OrderLineInline,
        OrderHistoryInline,
        FieldChangeInline,
        OrderDisputeInline,
        PaymentReminderInline,
        RefundInline,
        PostingInline,
    )

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        """The escrow balance and the ledger link for those who may read the ledger."""
        if obj is not None and request.user.has_perm(MONEY_VIEW_PERM):
            link = changelist_link(LedgerEntry, "ledger entries", order__id__exact=obj.pk)
            money = {"description": format_html("The order's {}.", link)}
        else:
            hidden = {"escrow", "commission"}
            money = {"fields": tuple(f for f in self.money_fields if f not in hidden)}
        return tuple(
            (name, {**options, **money} if name == _("Money") else options)
            for name, options in super().get_fieldsets(request, obj)
        )

    @admin.display(description=_("after-sales protection"))
    def protection(self, order: Order) -> str:
        """Says yes or no in words (the field's help text read as a yes beside a "no" icon)."""
        if order.protected:
            return gettext("Yes: covered by the platform's after-sales protection service.")
        return gettext("No: not covered by the after-sales protection service.")

    @admin.display(description=_("next automatic action"))
    def next_action(self, order: Order) -> SafeString | str:
        return next_action_cell(auto_action(order))

    @admin.display(description=_("held in escrow"))
    def escrow(self, order: Order) -> str:
        return display_money(balance(order_id=order.pk, account=Account.ESCROW), "USD")

    @admin.display(description=_("platform commission"))
    def commission(self, order: Order) -> str:
        return display_money(balance(order_id=order.pk, account=Account.COMMISSION), "USD")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        """Everything but the descriptive fields: state, money and dates move via services."""
        editable = set(OrderChangeForm.Meta.fields)
        return tuple(
            f for _, options in self.fieldsets for f in options["fields"] if f not in editable
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # orders are cancelled or refunded, never deleted

    def save_model(
        self, request: HttpRequest, obj: Order, form: forms.ModelForm, change: bool
    ) -> None:
        """A Save of an existing order goes through the audited update service."""
        if not change:
            return super().save_model(request, obj, form, change)
        data = form.cleaned_data
        texts = {f: data[f] for f in form.changed_data if f in EDITABLE_TEXTS}
        if "product" in form.changed_data:
            texts["product_id"] = data["product"].pk if data["product"] else None
        order_update(order_id=obj.pk, actor=request.user, **texts)
        return None

    @admin.display(description=_("amount"), ordering="amount")
    def amount_usd(self, order: Order) -> SafeString:
        return format_html('<span class="money">{}</span>', display_money(order.amount, "USD"))

    @admin.display(description=_("order time"), ordering="placed_at")
    def placed(self, order: Order) -> SafeString:
        return format_html(
            '<span title="{}">{}</span>',
            f"{order.placed_at:%Y-%m-%d %H:%M} UTC",
            short_date(timezone.localtime(order.placed_at)),
        )

    @admin.display(description=_("amount"))
    def amount_paid(self, order: Order) -> str:
        """The USD amount and, for an order the platform priced in CNY, that price and the rate
        it was converted at: ``USD 171.94 (CN¥ 1,234.56 at 7.180000 CNY/USD)``."""
        usd = display_money(order.amount, "USD")
        if not order.original_currency or order.original_amount is None:
            return usd
        sign = PRICE_SIGNS.get(order.original_currency, order.original_currency)
        rate = f"{order.conversion_rate:.6f} {order.original_currency}/USD"
        return f"{usd} ({sign} {order.original_amount:,.2f} at {rate})"

    @admin.display(description=_("parcels"))
    def parcel_list(self, order: Order) -> SafeString | str:
        """Each parcel's carrier and tracking number, one per line."""
        parcels = order.parcels or (
            [{"carrier": order.carrier, "tracking_number": order.tracking_number}]
            if order.carrier or order.tracking_number
            else []
        )
        if not parcels:
            return self.get_empty_value_display()
        return format_html_join(
            mark_safe("<br>"),
            "{}: {}",
            ((p.get("carrier", ""), p.get("tracking_number", "")) for p in parcels),
        )

    def create_object(self, request: HttpRequest, data: dict[str, Any]) -> Order:
        store, product = data.pop("store"), data.pop("product")
        return order_create(
            actor=request.user,
            store_id=store.pk,
            product_id=product.pk if product else None,
            **data,
        )


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("sku", "title", "store", "listed", "delisted_at")
    list_filter = ("listed",)
    search_fields = ("=sku", "title", "store__name", "=store__platform_store_id")
    list_select_related = ("store",)
    autocomplete_fields = ("store",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # Listing changes with an out-of-stock cancellation (orders.services.order_cancel).
        fixed = ("listed", "delisted_at")
        return ("store", *fixed) if obj is not None else fixed


@admin.register(PaymentReminder)
class PaymentReminderAdmin(admin.ModelAdmin):
    """The log of reminders: read-only (reminders are sent from the order)."""

    list_display = ("order", "store", "sent_by", "sent_at")
    search_fields = ("=order__order_number", "order__store__name")
    date_hierarchy = "sent_at"
    list_select_related = ("order__store", "sent_by")
    fields = ("order", "sent_by", "sent_at", "message")
    readonly_fields = fields

    @admin.display(description=_("store"), ordering="order__store__name")
    def store(self, reminder: PaymentReminder) -> SellerAccount:
        return reminder.order.store

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
