"""Receivables: closed stores that still owe the platform after the set-off (finance)."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from backoffice.admin_helpers import ReadOnlyAdmin, money
from backoffice.money import Currency
from payouts.ledger import to_cents
from payouts.models import Receivable
from payouts.selectors import receivables


@admin.register(Receivable)
class ReceivableAdmin(ReadOnlyAdmin):
    """Computed from the ledger: a debt collected later leaves the list by itself."""

    list_display = ("name", "platform_store_id", "closed_at", "arrears_cny", "debt_usd")
    search_fields = ("name", "=platform_store_id")
    fields = ("name", "platform_store_id", "closed_at", "close_reason", "arrears_cny", "debt_usd")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return receivables(request.user)

    @admin.display(description=_("promotion arrears"))
    def arrears_cny(self, store: Receivable) -> str:
        return money(to_cents(store.owed_cny), Currency.CNY) if store.owed_cny > 0 else "-"

    @admin.display(description=_("refund debt"))
    def debt_usd(self, store: Receivable) -> str:
        return money(to_cents(store.owed_usd)) if store.owed_usd > 0 else "-"
