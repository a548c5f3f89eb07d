"""Admin helpers every app's admin pages may use (the kernel's): display helpers and
:class:`ReadOnlyAdmin`."""

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.db import models
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from backoffice.fsm import TransitionCheck
from backoffice.money import Currency, display_money

NOTE_WIDGET = forms.Textarea(attrs={"rows": 3, "cols": 60})


# --- shared display helpers ---


def signed(amount: Decimal, currency: str) -> str:
    """An amount with its sign and currency: ``USD +100.00``, ``USD -12.50``."""
    return display_money(amount, currency, signed=True)


def money(amount: Decimal | None, currency: str = Currency.USD) -> str:
    return display_money(amount, currency) if amount is not None else "—"


def usd_column(field: str, description: str) -> Any:
    """A changelist column showing a USD amount field, blank when zero."""

    @admin.display(description=description, ordering=field)
    def column(self: admin.ModelAdmin, obj: models.Model) -> str:
        value = getattr(obj, field)
        return money(value) if value else "—"

    return column


def admin_link(obj: models.Model, text: Any = None) -> SafeString:
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, obj if text is None else text)


def changelist_link(model: type[models.Model], text: str, **filters: Any) -> SafeString:
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    query = "&".join(f"{key}={value}" for key, value in filters.items())
    return format_html('<a href="{}?{}">{}</a>', url, query, text)


def autocomplete(model: type[models.Model], field: str) -> AutocompleteSelect:
    return AutocompleteSelect(model._meta.get_field(field), admin.site)


def always(name: str) -> Any:
    """The check of an action on an object without a state: the permission is the only gate
    (the service checks it again)."""
    return lambda obj, user: TransitionCheck(name, True)


def percent(value: Decimal | None) -> str:
    return f"{value * 100:.2f} %" if value is not None else "—"


class ReadOnlyMixin:
    """Records of what happened: viewed, never added, changed or deleted here (on an admin or
    an inline)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Records of what happened: viewed, never added, changed or deleted here."""
