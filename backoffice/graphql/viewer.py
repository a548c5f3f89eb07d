"""Who is asking: the request's user, as the authentication middleware left it."""

from typing import Any

from strawberry import Info

from backoffice.errors import PermissionDenied


def viewer(info: Info) -> Any:
    """The request's user: a ``User`` or Django's ``AnonymousUser``, never ``None`` (services
    read ``actor=None`` as the system, which may do everything)."""
    context = info.context
    request = context["request"] if isinstance(context, dict) else context.request
    return request.user


def require_user(info: Info) -> Any:
    """The signed-in, active user acting through a mutation."""
    user = viewer(info)
    if not (user.is_authenticated and user.is_active):
        raise PermissionDenied("Sign in to do this.")
    return user
