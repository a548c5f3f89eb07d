"""Exchange rates, set through ``exchange_rate_set``."""

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AdminDateWidget
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from backoffice.admin_helpers import always
from backoffice.admin_sources import ImportedFromMixin
from backoffice.admin_transitions import ObjectAction, TransitionAdminMixin
from backoffice.forms import StrictDecimalField
from payouts.models import ExchangeRate
from payouts.services import exchange_rate_set

RATE_PERM = "payouts.change_exchangerate"


class ExchangeRateForm(forms.Form):
    day = forms.DateField(label=_("Date"), widget=AdminDateWidget)
    rate = StrictDecimalField(
        label=_("USD/CNY rate"),
        decimal_places=6,
        help_text=_("CNY for one US dollar, at most 6 decimals (e.g. 7.1825)."),
    )


class RateChangeForm(forms.Form):
    rate = StrictDecimalField(
        label=_("USD/CNY rate"), decimal_places=6, help_text=_("CNY for one US dollar.")
    )


def exchange_rate_change(*, rate_id: int, actor: Any, rate: Decimal) -> ExchangeRate:
    """The admin's "Change rate" button: the same service, for the row's day and currency."""
    row = ExchangeRate.objects.get(pk=rate_id)
    return exchange_rate_set(actor=actor, day=row.date, currency=row.currency, rate=rate)


@admin.register(ExchangeRate)
class ExchangeRateAdmin(ImportedFromMixin, TransitionAdminMixin, admin.ModelAdmin):
    """Rates are set through ``exchange_rate_set`` (add, or "Change rate" on a row); adding a
    date that already has a rate replaces it."""

    service_id_arg = "rate_id"
    object_actions = {
        "change_rate": ObjectAction(
            _("Change rate"),
            exchange_rate_change,
            RATE_PERM,
            form=RateChangeForm,
            check=always("change_rate"),
            initial=lambda row: {"rate": row.rate_to_cny},
        ),
    }
    service_add_form = ExchangeRateForm

    list_display = ("date", "currency", "rate_to_cny", "set_by", "updated_at")
    list_filter = (
        "currency",
        ("source_file", admin.RelatedOnlyFieldListFilter),  # what one imported file touched
    )
    date_hierarchy = "date"
    list_select_related = ("set_by",)
    fields = ("date", "currency", "rate_to_cny", "set_by", "updated_at", "imported_from")
    readonly_fields = fields

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a rate changes through the service (the "Change rate" button)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # payouts record the rate they used; a day's rate is replaced, not removed

    def create_object(self, request: HttpRequest, data: dict[str, Any]) -> ExchangeRate:
        return exchange_rate_set(actor=request.user, day=data["day"], rate=data["rate"])
