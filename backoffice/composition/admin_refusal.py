"""The styled refusal (handler403): the admin's look, what was refused, and which roles may do
it, read from the roles' permissions (accounts/roles.py), so the page stays true as they change.

For an admin page the permission is the model's (``view_``, or ``add_`` on an add page); for an
object's action button, the action's own (``ObjectAction.perm``). Elsewhere no role is named.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import Resolver404, resolve

from accounts.roles import ROLES


def required_perm(request: HttpRequest) -> str | None:
    """The permission the refused admin URL needs, when it can be told."""
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    if match.namespace != "admin" or not match.url_name:
        return None
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        prefix = f"{opts.app_label}_{opts.model_name}_"
        if not match.url_name.startswith(prefix):
            continue
        view = match.url_name.removeprefix(prefix)
        if view == "transition":
            action = getattr(model_admin, "object_actions", {}).get(match.kwargs.get("name"))
            if action is not None:
                return action.perm
        verb = "add" if view == "add" else "view"
        return f"{opts.app_label}.{verb}_{opts.model_name}"
    return None


def roles_with(perm: str | None) -> list[str]:
    if perm is None:
        return []
    return [role for role, perms in ROLES.items() if perm in perms]


def permission_denied(request: HttpRequest, exception: Any = None) -> HttpResponse:
    """handler403: the admin-styled refusal, naming the roles that may do what was refused."""
    perm = required_perm(request)
    context: dict[str, Any] = {
        **admin.site.each_context(request),
        "title": "403",
        "roles": roles_with(perm),
        "perm": perm,
        "exception": str(exception or ""),
    }
    response = TemplateResponse(request, "403.html", context, status=403)
    return response.render()
