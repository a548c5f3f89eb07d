"""Who did something, as the viewer may see it.

Staff read usernames. A seller reads a staff actor as its role (``support``, ``finance``, ...;
``platform`` for a superuser or staff without a role) and never its username or e-mail; a
seller user of the same store keeps its username; the system is ``None``.
"""

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q
from strawberry import Info

from backoffice.graphql.viewer import http_request, viewer

PLATFORM = "platform"
BY = (
    "Who: a username for staff viewers; for a seller, a staff member's role (`support`, "
    "`finance`, ..., `platform`) and never a username; null for the system."
)
_CACHE = "_backoffice_staff_roles"
_roles: list[str] = []


def set_roles(names: Iterable[str]) -> None:
    """The staff roles (group names), first wins; the accounts app gives them when it starts
    (accounts.roles.ROLES): the kernel knows no app."""
    _roles[:] = names


def role_label(group_names: set[str]) -> str:
    """The first role of :func:`set_roles` among ``group_names``, else ``platform``."""
    return next((role for role in _roles if role in group_names), PLATFORM)


def _staff_labels(info: Info) -> dict[int, str]:
    """Every staff user's role label, loaded once per request (one query)."""
    request = http_request(info)
    labels = getattr(request, _CACHE, None)
    if labels is None:
        groups: dict[int, set[str]] = {}
        staff = get_user_model().objects.filter(Q(is_staff=True) | Q(is_superuser=True))
        for pk, group in staff.values_list("pk", "groups__name"):
            groups.setdefault(pk, set()).update([group] if group else [])
        labels = {pk: role_label(names) for pk, names in groups.items()}
        setattr(request, _CACHE, labels)
    return labels


def actor_name(info: Info, actor: Any) -> str | None:
    """``actor`` (a ``User`` or ``None`` for the system) as ``info``'s viewer may see it."""
    if actor is None:
        return None
    if viewer(info).is_staff:
        return actor.get_username()
    return _staff_labels(info).get(actor.pk) or actor.get_username()
