"""``{% dashboard %}``: the admin index's dashboard (backoffice/composition/admin_dashboard.py)."""

from typing import Any

from django import template

from backoffice.composition.admin_dashboard import dashboard

register = template.Library()


@register.inclusion_tag("admin/backoffice/dashboard.html", takes_context=True)
def show_dashboard(context: Any) -> dict[str, Any]:
    return dashboard(context["request"].user)
