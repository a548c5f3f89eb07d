"""Who is asking: the request's user, as the authentication middleware left it."""

from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _
from strawberry import Info

from backoffice import clock
from backoffice.errors import PermissionDenied


def http_request(info: Info) -> Any:
    """The Django ``HttpRequest`` behind the operation (its session, for signing in and out)."""
    context = info.context
    return context["request"] if isinstance(context, dict) else context.request


def viewer(info: Info) -> Any:
    """The request's user: a ``User`` or Django's ``AnonymousUser``, never ``None`` (services
    read ``actor=None`` as the system, which may do everything)."""
    return http_request(info).user


def request_now(info: Info) -> datetime:
    """The clock, read once per request: every figure of one response is computed at the same
    moment (a page's health subqueries and each store's ``computedAt`` agree)."""
    request = http_request(info)
    now = getattr(request, "_backoffice_now", None)
    if now is None:
        now = request._backoffice_now = clock.now()
    return now


def require_user(info: Info) -> Any:
    """The signed-in, active user acting through a mutation."""
    user = viewer(info)
    if not (user.is_authenticated and user.is_active):
        raise PermissionDenied(_("Sign in to do this."))
    return user
