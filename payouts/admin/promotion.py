"""The promotion wallet (CNY): movements, arrears episodes and low-balance thresholds."""

import uuid
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import SellerAccount
from backoffice import clock
from backoffice.admin_helpers import NOTE_WIDGET, ReadOnlyAdmin, always, autocomplete, money, signed
from backoffice.admin_sources import ImportedFromMixin
from backoffice.admin_transitions import ObjectAction, TransitionAdminMixin
from backoffice.forms import StrictDecimalField
from backoffice.money import Currency
from payouts.admin.ledger import PostingInline
from payouts.ledger import to_cents
from payouts.models import (
    Account,
    ArrearsEpisode,
    DailyBalance,
    PromotionMovement,
    PromotionWallet,
)
from payouts.promotion import (
    THRESHOLD_PERM,
    promotion_adjust,
    promotion_set_threshold,
    promotion_top_up,
)

BANK_TRANSFER_PERM = "payouts.record_bank_transfer"
ADJUST_PERM = "payouts.adjust_promotion"
TOP_UP, ADJUSTMENT = PromotionMovement.Kind.TOP_UP, PromotionMovement.Kind.ADJUSTMENT


def cny(amount: Decimal | None) -> str:
    return money(amount, Currency.CNY)


def wallet_sum() -> Subquery:
    """The promotion balance of the row's store, inside the same query. Read it through
    :func:`to_cents`."""
    latest = DailyBalance.objects.filter(
        store_id=OuterRef("store_id"), account=Account.PROMOTION
    ).order_by("-day")
    return Subquery(
        latest.values("balance")[:1],
        output_field=models.DecimalField(max_digits=18, decimal_places=2),
    )


class PromotionEntryForm(forms.Form):
    """What finance records by hand: an offline bank transfer, or a correction."""

    store = forms.ModelChoiceField(
        SellerAccount.objects.all(), widget=autocomplete(PromotionMovement, "store")
    )
    kind = forms.ChoiceField(
        label=_("Record"),
        choices=[
            (TOP_UP, _("Top-up received by offline bank transfer")),
            (ADJUSTMENT, _("Adjustment (a correction, positive or negative)")),
        ],
        initial=TOP_UP,
        widget=forms.RadioSelect,
    )
    # Checked by the services (their errors show next to the field).
    amount = StrictDecimalField(
        max_digits=16,
        help_text=_(
            "CNY. A top-up is more than zero and pays the store's arrears first; an "
            "adjustment may be negative."
        ),
    )
    reference = forms.CharField(
        max_length=100,
        required=False,
        help_text=_(
            "The bank's reference of the transfer (required for a top-up; optional for "
            "an adjustment). A reference already recorded for the same movement records nothing "
            "new."
        ),
    )
    note = forms.CharField(
        required=False,
        max_length=300,
        widget=NOTE_WIDGET,
        help_text=_("Why the wallet is adjusted (required for an adjustment)."),
    )
    # One key per form shown: submitting the same form twice records one movement.
    idempotency_key = forms.CharField(
        widget=forms.HiddenInput, initial=lambda: uuid.uuid4().hex, required=False, max_length=100
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("kind") == TOP_UP and not data.get("reference"):
            self.add_error("reference", "Give the bank's reference of the transfer.")
        return data


class PromotionPostingInline(PostingInline):
    verbose_name_plural = _("ledger posting")


@admin.register(PromotionMovement)
class PromotionMovementAdmin(ImportedFromMixin, TransitionAdminMixin, admin.ModelAdmin):
    """The promotion wallet's movements, read-only. *Add* records, through
    ``payouts.promotion``, a top-up finance received by bank transfer or an adjustment; Alipay
    and credit-card top-ups and the ad system's charges arrive through the API."""

    service_add_form = PromotionEntryForm

    list_display = ("at", "store", "kind", "amount_signed", "method", "reference", "actor")
    list_filter = (
        "kind",
        "method",
        ("store", admin.RelatedOnlyFieldListFilter),
        ("source_file", admin.RelatedOnlyFieldListFilter),  # what one imported file touched
    )
    search_fields = ("reference", "store__name", "=store__platform_store_id")
    date_hierarchy = "at"
    list_select_related = ("store", "actor")
    ordering = ("-at", "-id")
    fields = (
        "store",
        "kind",
        "amount_signed",
        "method",
        "reference",
        "note",
        "at",
        "actor",
        "imported_from",
    )
    readonly_fields = fields
    inlines = (PromotionPostingInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(BANK_TRANSFER_PERM) or request.user.has_perm(ADJUST_PERM)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a movement is corrected by an adjustment, never edited

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def object_label(self, obj: PromotionMovement) -> str:
        return f"{obj.get_kind_display()} {signed(obj.amount, Currency.CNY)} ({obj.reference})"

    @admin.display(description=_("amount"), ordering="amount")
    def amount_signed(self, movement: PromotionMovement) -> str:
        return signed(movement.amount, Currency.CNY)

    def create_object(self, request: HttpRequest, data: dict[str, Any]) -> PromotionMovement:
        key = data.get("idempotency_key") or None
        if data["kind"] == TOP_UP:
            return promotion_top_up(
                store_id=data["store"].pk,
                actor=request.user,
                amount=data["amount"],
                method=PromotionMovement.Method.BANK_TRANSFER,
                reference=data["reference"],
                idempotency_key=key,
            )
        return promotion_adjust(
            store_id=data["store"].pk,
            actor=request.user,
            amount=data["amount"],
            note=data["note"],
            reference=data["reference"] or (f"admin-adjustment:{key}" if key else None),
        )

    def response_created(self, request: HttpRequest, obj: PromotionMovement) -> HttpResponse:
        response = super().response_created(request, obj)
        store = SellerAccount.objects.get(pk=obj.store_id)
        owed = store.arrears_owed
        lifted = store.holds.filter(
            reason=SellerAccount.FreezeReason.ARREARS, lifted_at=obj.at
        ).exists()
        if owed:
            messages.warning(
                request,
                gettext("%(store)s is still in arrears: CNY %(owed)s owed.")
                % {"store": store, "owed": f"{owed:,.2f}"},
            )
        elif lifted and store.status == SellerAccount.Status.FROZEN:
            others = ", ".join(str(h.get_reason_display()) for h in store.active_holds())
            messages.info(
                request,
                gettext(
                    "%(store)s owes no arrears any more: "
                    "its arrears hold is lifted; it stays frozen for %(others)s."
                )
                % {"store": store, "others": others},
            )
        elif lifted:
            messages.info(
                request,
                gettext(
                    "%(store)s owes no arrears any more: "
                    "its arrears hold is lifted and it is active again."
                )
                % {"store": store},
            )
        return response


class OpenEpisodeFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "open"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Still in arrears"), ("no", "Cleared")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("yes", "no"):
            return queryset.filter(cleared_at__isnull=self.value() == "yes")
        return queryset


@admin.register(ArrearsEpisode)
class ArrearsEpisodeAdmin(ReadOnlyAdmin):
    """Each stretch of time a store's promotion wallet was below zero: the open one drives the
    freeze and close policy, past ones count against the store's health."""

    list_display = ("store", "started_at", "cleared_at", "duration", "peak_cny")
    list_filter = (OpenEpisodeFilter, ("store", admin.RelatedOnlyFieldListFilter))
    search_fields = ("store__name", "=store__platform_store_id")
    date_hierarchy = "started_at"
    list_select_related = ("store",)
    fields = ("store", "started_at", "cleared_at", "duration", "peak_cny")
    readonly_fields = fields

    @admin.display(description=_("peak owed"), ordering="peak")
    def peak_cny(self, episode: ArrearsEpisode) -> str:
        return cny(episode.peak)

    @admin.display(description=_("duration"))
    def duration(self, episode: ArrearsEpisode) -> str:
        end = episode.cleared_at or clock.now()
        days = f"{(end - episode.started_at).total_seconds() / 86400:.1f} days"
        return days if episode.cleared_at else f"{days} so far"


class ThresholdForm(forms.Form):
    threshold = StrictDecimalField(
        label=_("Low-balance threshold"),
        help_text=_("CNY; a balance below it sends the store a notice (0 turns the notices off)."),
    )


class WalletThresholdCreateForm(ThresholdForm):
    store = forms.ModelChoiceField(
        SellerAccount.objects.all(), widget=autocomplete(PromotionWallet, "store")
    )
    field_order = ("store", "threshold")


@admin.register(PromotionWallet)
class PromotionWalletAdmin(TransitionAdminMixin, admin.ModelAdmin):
    """A store's wallet settings; its balance comes from the ledger. The low-balance threshold
    changes only through ``promotion_set_threshold`` (*Change threshold*, or *Add* for a store
    without a wallet yet)."""

    service_id_arg = "store_id"
    object_actions = {
        "set_threshold": ObjectAction(
            _("Change threshold"),
            promotion_set_threshold,
            THRESHOLD_PERM,
            form=ThresholdForm,
            check=always("set_threshold"),
            initial=lambda wallet: {"threshold": wallet.low_balance_threshold},
        ),
    }
    service_add_form = WalletThresholdCreateForm

    list_display = ("store", "balance_cny", "threshold_cny", "low_balance_noticed")
    list_filter = ("low_balance_noticed",)
    search_fields = ("store__name", "=store__platform_store_id")
    list_select_related = ("store",)
    fields = ("store", "balance_cny", "threshold_cny", "low_balance_noticed")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(balance=wallet_sum())

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(THRESHOLD_PERM)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the "Change threshold" button runs the service

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def object_label(self, obj: PromotionWallet) -> str:
        return f"Promotion wallet of {obj.store}"

    @admin.display(description=_("balance"), ordering="balance")
    def balance_cny(self, wallet: PromotionWallet) -> str:
        return cny(to_cents(wallet.balance))

    @admin.display(description=_("low-balance threshold"), ordering="low_balance_threshold")
    def threshold_cny(self, wallet: PromotionWallet) -> str:
        threshold = wallet.low_balance_threshold
        return cny(threshold) if threshold else "none (no notices)"

    def create_object(self, request: HttpRequest, data: dict[str, Any]) -> PromotionWallet:
        return promotion_set_threshold(
            store_id=data["store"].pk, actor=request.user, threshold=data["threshold"]
        )
