"""Who may run a transition: staff by Django permission, sellers on their own store only.

``actor=None`` is the system (deadlines runner, integrations) and may do everything the state
machine allows. django-fsm's ``permission=`` is only advisory, so services check it through
:func:`backoffice.fsm.require_transition`.
"""

from collections.abc import Callable
from typing import Any

from django.db import models
from django.utils.translation import gettext as _

from backoffice.errors import PermissionDenied

TransitionPermission = Callable[[models.Model, Any], bool]


def is_system(actor: Any) -> bool:
    return actor is None


def store_id_of(instance: models.Model) -> int | None:
    """The seller account that owns ``instance`` (every owned model defines ``owner_store_id``)."""
    return instance.owner_store_id


def seller_owns(actor: Any, instance: models.Model) -> bool:
    store_id = getattr(actor, "store_id", None)
    return store_id is not None and store_id == store_id_of(instance)


def staff_with(actor: Any, perm: str) -> bool:
    return bool(actor is not None and actor.is_active and actor.is_staff and actor.has_perm(perm))


def allow(perm: str, *, seller: bool = False) -> TransitionPermission:
    """Permission for a transition: the system, staff holding ``perm``, and (when ``seller``)
    the seller users of the store that owns the object."""

    def check(instance: models.Model, actor: Any) -> bool:
        if is_system(actor) or staff_with(actor, perm):
            return True
        return seller and actor.is_active and seller_owns(actor, instance)

    check.perm = perm  # type: ignore[attr-defined]
    check.seller = seller  # type: ignore[attr-defined]
    return check


def require_staff_perm(actor: Any, perm: str) -> None:
    if not (is_system(actor) or staff_with(actor, perm)):
        raise PermissionDenied(_("You need the permission %(perm)r to do this.") % {"perm": perm})


def require_staff_or_owner(actor: Any, perm: str, instance: models.Model) -> None:
    if not allow(perm, seller=True)(instance, actor):
        raise PermissionDenied(_("You can only act on your own store."))
