"""Reads scoped to the viewer: staff see every store, a seller user its own store only,
anyone else (anonymous, inactive, users without a store) nothing."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from django.db import models
from django.db.models import Prefetch
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import ApiToken, Notice, SellerAccount, StoreHold

M = TypeVar("M", bound=models.Model)

NOTICE_PERM = "accounts.view_notice"


def sees_everything(viewer: Any) -> bool:
    return bool(
        viewer is not None
        and viewer.is_authenticated
        and viewer.is_active
        and (viewer.is_staff or viewer.is_superuser)
    )


def visible_to(queryset: models.QuerySet[M], viewer: Any, *, store_path: str) -> models.QuerySet[M]:
    """``queryset`` narrowed to what ``viewer`` may see; ``store_path`` leads to the owning
    store's id (``"pk"`` for stores themselves, ``"store_id"`` for orders, ...)."""
    if sees_everything(viewer):
        return queryset
    store_id = getattr(viewer, "store_id", None) if getattr(viewer, "is_active", False) else None
    if store_id is None:
        return queryset.none()
    return queryset.filter(**{store_path: store_id})


def seller_accounts_visible_to(
    viewer: Any, queryset: models.QuerySet[SellerAccount] | None = None
) -> models.QuerySet[SellerAccount]:
    queryset = SellerAccount.objects.all() if queryset is None else queryset
    return visible_to(queryset, viewer, store_path="pk")


def api_tokens_visible_to(
    viewer: Any, queryset: models.QuerySet[ApiToken] | None = None
) -> models.QuerySet[ApiToken]:
    """A user's own tokens; superusers see every token (they may revoke any)."""
    queryset = ApiToken.objects.all() if queryset is None else queryset
    if viewer is None or not viewer.is_authenticated or not viewer.is_active:
        return queryset.none()
    return queryset if viewer.is_superuser else queryset.filter(user_id=viewer.pk)


def sees_all_notices(viewer: Any) -> bool:
    """Superusers and staff holding ``accounts.view_notice`` (as in the admin)."""
    return bool(
        sees_everything(viewer)
        and (viewer.is_superuser or (viewer.is_staff and viewer.has_perm(NOTICE_PERM)))
    )


def notices_visible_to(
    viewer: Any, queryset: models.QuerySet[Notice] | None = None
) -> models.QuerySet[Notice]:
    """A seller user sees its store's notices; staff every store's with
    ``accounts.view_notice``; anyone else nothing."""
    queryset = Notice.objects.all() if queryset is None else queryset
    if sees_all_notices(viewer):
        return queryset
    if sees_everything(viewer):  # staff without the permission
        return queryset.none()
    return visible_to(queryset, viewer, store_path="store_id")


# A page of stores loads their active holds (and who placed them) with one query.
ACTIVE_HOLDS = Prefetch(
    "holds",
    queryset=StoreHold.objects.filter(lifted_at__isnull=True)
    .select_related("placed_by")
    .order_by("placed_at", "id"),
    to_attr="active_hold_list",
)


@dataclass(frozen=True)
class HoldInfo:
    """One reason a store is frozen: since when, by whom, what it owes and what lifts it."""

    reason: str
    reason_label: str
    since: datetime
    placed_by: Any
    note: str
    owed: Decimal | None
    lifted_by: str


@dataclass(frozen=True)
class FreezeInfo:
    """Why a store is frozen: each hold; ``reason``, ``owed`` and ``lifted_by`` are the oldest
    hold's, ``since`` when the store was frozen."""

    reason: str
    reason_label: str
    since: datetime
    owed: Decimal | None
    lifted_by: str
    holds: list[HoldInfo]


LIFTED_BY = {
    SellerAccount.FreezeReason.RISK: gettext_lazy("The risk team's review; contact support."),
    SellerAccount.FreezeReason.COMPLIANCE: gettext_lazy(
        "The documents compliance asked for; contact support."
    ),
}


def lifted_by_text(reason: str, owed: Decimal | None) -> str:
    if reason != SellerAccount.FreezeReason.ARREARS:
        return str(LIFTED_BY.get(reason, _("Contact support.")))
    if owed:
        return _("A top-up of at least CNY %(owed)s (it lifts this hold at once).") % {
            "owed": f"{owed:,.2f}"
        }
    return _("The arrears are paid: staff can lift this hold (ask support).")


def _hold_info(account: SellerAccount, hold: StoreHold) -> HoldInfo:
    owed = account.arrears_owed if hold.reason == SellerAccount.FreezeReason.ARREARS else None
    return HoldInfo(
        reason=hold.reason,
        reason_label=str(hold.get_reason_display()),
        since=hold.placed_at,
        placed_by=hold.placed_by,
        note=hold.note,
        owed=owed,
        lifted_by=lifted_by_text(hold.reason, owed),
    )


def freeze_info(account: SellerAccount) -> FreezeInfo | None:
    if account.status != SellerAccount.Status.FROZEN:
        return None
    holds = [_hold_info(account, hold) for hold in account.active_holds()]
    first = holds[0] if holds else None
    return FreezeInfo(
        reason=first.reason if first else account.freeze_reason,
        reason_label=first.reason_label if first else _("not given"),
        since=account.frozen_at,
        owed=first.owed if first else None,
        lifted_by=first.lifted_by if first else _("Contact support."),
        holds=holds,
    )
