"""Reads scoped to the viewer: staff see every store, a seller user its own store only,
anyone else (anonymous, inactive, users without a store) nothing."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from django.db import models

from accounts.models import ApiToken, Notice, SellerAccount

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


@dataclass(frozen=True)
class FreezeInfo:
    """Why a store is frozen, since when, what it owes and what lifts the freeze."""

    reason: str
    reason_label: str
    since: datetime
    owed: Decimal | None
    lifted_by: str


LIFTED_BY = {
    SellerAccount.FreezeReason.RISK: "The risk team's review; contact support.",
    SellerAccount.FreezeReason.COMPLIANCE: "The documents compliance asked for; contact support.",
}


def _lifted_by(account: SellerAccount, owed: Decimal | None) -> str:
    if account.freeze_reason != SellerAccount.FreezeReason.ARREARS:
        return LIFTED_BY.get(account.freeze_reason, "Contact support.")
    if owed:
        return (
            f"A top-up of at least CNY {owed:,.2f}; then risk staff unfreeze the store "
            "(ask support)."
        )
    return "The arrears are paid: risk staff can unfreeze the store (ask support)."


def freeze_info(account: SellerAccount) -> FreezeInfo | None:
    if account.status != SellerAccount.Status.FROZEN:
        return None
    arrears = account.freeze_reason == SellerAccount.FreezeReason.ARREARS
    owed = account.arrears_owed if arrears else None
    return FreezeInfo(
        reason=account.freeze_reason,
        reason_label=account.get_freeze_reason_display() or "not given",
        since=account.frozen_at,
        owed=owed,
        lifted_by=_lifted_by(account, owed),
    )
