"""Reads of money scoped to the viewer, and the annotations that let a page of stores or
orders carry its balances without one query per row.

Who sees what: a seller user sees its own store's money; staff see every store's money of a
kind when they hold that model's view permission, as in the admin:
``payouts.view_ledgerentry`` for the ledger and the balances and escrow derived from it,
``payouts.view_reservehold`` for the reserve schedule, ``payouts.view_refund``,
``payouts.view_payout`` and ``payouts.view_earlypayoutterms``, ``payouts.view_earlypayoutdecision``
for the decisions behind the terms, ``payouts.view_promotionmovement`` for the promotion wallet
and its movements, ``payouts.view_arrearsepisode`` for the arrears history; superusers see
everything.
Platform-side ledger entries (no store) are for staff only. Exchange rates are not a store's
secret: every seller user and staff with ``payouts.view_exchangerate`` may read them.
"""

import functools
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, TypeVar

from django.conf import settings
from django.db import models
from django.db.models import DecimalField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from accounts.models import SellerAccount, StoreHold
from backoffice.autoaction import AutoAction
from payouts import arrears
from payouts.ledger import balance_at_annotation, to_cents
from payouts.models import (
    STORE_ACCOUNTS,
    Account,
    ArrearsEpisode,
    EarlyPayoutDecision,
    EarlyPayoutTerms,
    ExchangeRate,
    LedgerEntry,
    Payout,
    PromotionMovement,
    PromotionWallet,
    Receivable,
    Refund,
    ReserveHold,
)

M = TypeVar("M", bound=models.Model)

LEDGER_PERM: Final = "payouts.view_ledgerentry"
PAYOUT_PERM: Final = "payouts.view_payout"
TERMS_PERM: Final = "payouts.view_earlypayoutterms"
HOLD_PERM: Final = "payouts.view_reservehold"
REFUND_PERM: Final = "payouts.view_refund"
RATES_PERM: Final = "payouts.view_exchangerate"
PROMOTION_PERM: Final = "payouts.view_promotionmovement"
ARREARS_PERM: Final = "payouts.view_arrearsepisode"
DECISION_PERM: Final = "payouts.view_earlypayoutdecision"
HEALTH_PERM: Final = "accounts.view_selleraccount"


class _All:
    """The scope of a viewer who sees every store."""

    def __repr__(self) -> str:
        return "ALL"


ALL: Final = _All()


def scope(viewer: Any, perm: str) -> _All | int | None:
    """``ALL`` for superusers and staff holding ``perm``, the store id of a seller user,
    ``None`` (nothing) for anyone else."""
    if viewer is None or not viewer.is_authenticated or not viewer.is_active:
        return None
    if viewer.is_superuser or (viewer.is_staff and viewer.has_perm(perm)):
        return ALL
    return getattr(viewer, "store_id", None)


def may_see(viewer: Any, perm: str, store_id: int | None) -> bool:
    """Whether ``viewer`` may see this store's money guarded by ``perm``."""
    allowed = scope(viewer, perm)
    return allowed is ALL or (allowed is not None and allowed == store_id)


def _scoped(
    model: type[M], queryset: models.QuerySet[M] | None, viewer: Any, perm: str
) -> models.QuerySet[M]:
    """``queryset`` (by default all of ``model``) cut to the stores ``viewer`` may see."""
    queryset = model.objects.all() if queryset is None else queryset
    allowed = scope(viewer, perm)
    if allowed is ALL:
        return queryset
    if allowed is None:
        return queryset.none()
    return queryset.filter(store_id=allowed)


def ledger_entries_visible_to(
    viewer: Any, queryset: models.QuerySet[LedgerEntry] | None = None
) -> models.QuerySet[LedgerEntry]:
    """A seller's store entries; all entries, platform ones included, for ledger staff."""
    return _scoped(LedgerEntry, queryset, viewer, LEDGER_PERM)


def reserve_holds_visible_to(
    viewer: Any, queryset: models.QuerySet[ReserveHold] | None = None
) -> models.QuerySet[ReserveHold]:
    return _scoped(ReserveHold, queryset, viewer, HOLD_PERM)


def refunds_visible_to(
    viewer: Any, queryset: models.QuerySet[Refund] | None = None
) -> models.QuerySet[Refund]:
    return _scoped(Refund, queryset, viewer, REFUND_PERM)


def payouts_visible_to(
    viewer: Any, queryset: models.QuerySet[Payout] | None = None
) -> models.QuerySet[Payout]:
    return _scoped(Payout, queryset, viewer, PAYOUT_PERM)


def exchange_rates_visible_to(
    viewer: Any, queryset: models.QuerySet[ExchangeRate] | None = None
) -> models.QuerySet[ExchangeRate]:
    queryset = ExchangeRate.objects.all() if queryset is None else queryset
    return queryset if scope(viewer, RATES_PERM) is not None else queryset.none()


def promotion_movements_visible_to(
    viewer: Any, queryset: models.QuerySet[PromotionMovement] | None = None
) -> models.QuerySet[PromotionMovement]:
    return _scoped(PromotionMovement, queryset, viewer, PROMOTION_PERM)


def arrears_episodes_visible_to(
    viewer: Any, queryset: models.QuerySet[ArrearsEpisode] | None = None
) -> models.QuerySet[ArrearsEpisode]:
    return _scoped(ArrearsEpisode, queryset, viewer, ARREARS_PERM)


def early_payout_decisions_visible_to(
    viewer: Any, queryset: models.QuerySet[EarlyPayoutDecision] | None = None
) -> models.QuerySet[EarlyPayoutDecision]:
    return _scoped(EarlyPayoutDecision, queryset, viewer, DECISION_PERM)


def early_payout_terms_of(store: Any) -> EarlyPayoutTerms | None:
    """The store's terms, or None when it was never evaluated (no query when the relation was
    selected with the store)."""
    try:
        return store.early_payout
    except EarlyPayoutTerms.DoesNotExist:
        return None


# --- balances as annotations: one subquery per column, none per row ---


def _ledger_sum(group: str, **filters: Any) -> Coalesce:
    """Correlated subquery: the sum of the entries matching ``filters``, grouped by ``group``
    (the correlated column), 0 when there are none."""
    total = (
        LedgerEntry.objects.filter(**filters)
        .order_by()
        .values(group)
        .annotate(total=Sum("amount"))
        .values("total")
    )
    money = DecimalField(max_digits=18, decimal_places=2)
    return Coalesce(Subquery(total, output_field=money), Decimal("0"), output_field=money)


def balance_annotation(account: str, at: datetime | None = None) -> Coalesce:
    """The store's ``account`` balance now, or at ``at``, from the running totals."""
    return balance_at_annotation(account, at)


def payout_hold_annotations() -> dict[str, Any]:
    """What ``Payout.held_reason`` reads, on a Payout queryset: the store's promotion and debt
    balances and its oldest hold that holds payouts (none per row)."""
    freeze = (
        StoreHold.objects.filter(
            store=OuterRef("store_id"),
            lifted_at__isnull=True,
            reason__in=settings.PAYOUT_HOLD_FREEZE_REASONS,
        )
        .order_by("placed_at", "id")
        .values("reason")[:1]
    )
    return {
        "held_promotion": _ledger_sum(
            "store", store=OuterRef("store_id"), account=Account.PROMOTION
        ),
        "held_debt": _ledger_sum("store", store=OuterRef("store_id"), account=Account.DEBT),
        "held_freeze": Subquery(freeze),
    }


@functools.cache
def balance_attr(account: str) -> str:
    """The attribute :func:`balance_annotations` puts ``account``'s balance on (cached: a page
    of orders asks it for every store of every order)."""
    return f"ledger_{Account(account).value}"


def balance_annotations() -> dict[str, Coalesce]:
    """``ledger_escrow``, ``ledger_available``, ... on a SellerAccount queryset."""
    return {balance_attr(a): balance_annotation(a) for a in STORE_ACCOUNTS}


def annotated_balances(store: Any) -> dict[str, Decimal] | None:
    """The balances annotated on ``store`` by :func:`balance_annotations`, made exact; None
    when the store was loaded without them."""
    if not hasattr(store, balance_attr(Account.ESCROW)):
        return None
    return {a.value: to_cents(getattr(store, balance_attr(a))) for a in STORE_ACCOUNTS}


def order_escrow() -> Coalesce:
    """Annotation on an Order queryset: what the order still holds in escrow."""
    return _ledger_sum("order", order=OuterRef("pk"), account=Account.ESCROW)


def hold_remaining() -> Coalesce:
    """Annotation on a ReserveHold queryset: what is left of the order's reserve."""
    return _ledger_sum("order", order=OuterRef("order_id"), account=Account.RESERVE)


# --- the promotion wallet of a page of stores ---


def low_balance_threshold() -> Coalesce:
    """Annotation on a SellerAccount queryset: the wallet's low-balance threshold (0: none)."""
    wallet = PromotionWallet.objects.filter(store=OuterRef("pk")).values("low_balance_threshold")
    money = DecimalField(max_digits=16, decimal_places=2)
    return Coalesce(Subquery(wallet, output_field=money), Decimal("0"), output_field=money)


def owed_annotations() -> dict[str, Any]:
    """Annotations on a SellerAccount queryset: ``owed_cny``, the promotion arrears, and
    ``owed_usd``, the refund debt (payouts.arrears.owed, in SQL: 0 when not below zero)."""
    return {
        "owed_cny": arrears.owed_expression(balance_annotation(Account.PROMOTION)),
        "owed_usd": arrears.owed_expression(balance_annotation(Account.DEBT)),
    }


RECEIVABLE_PERM = "payouts.view_receivable"
HALF_CENT = Decimal("0.005")  # SQLite sums decimals as floats (see payouts.ledger.to_cents)


def receivables(
    viewer: Any, queryset: models.QuerySet[Receivable] | None = None
) -> models.QuerySet[Receivable]:
    """Closed stores that still owe the platform after the set-off, for finance (and
    superusers): ``owed_cny`` (promotion arrears) and ``owed_usd`` (refund debt), largest
    first. Anyone else sees none."""
    if not (
        viewer is not None
        and viewer.is_authenticated
        and viewer.is_active
        and viewer.is_staff
        and viewer.has_perm(RECEIVABLE_PERM)
    ):
        return Receivable.objects.none()
    queryset = Receivable.objects.all() if queryset is None else queryset
    return (
        queryset.filter(status=SellerAccount.Status.CLOSED)
        .annotate(**owed_annotations())
        .filter(models.Q(owed_cny__gt=HALF_CENT) | models.Q(owed_usd__gt=HALF_CENT))
        .order_by("-closed_at", "pk")
    )


# --- the clock of reserve holds (the store's arrears clock is payouts.arrears) ---


def hold_auto_action(hold: ReserveHold) -> AutoAction | None:
    """A reserve hold with a release date is released to the store then (``release_at``, the
    job acting from that moment); a hold without one waits for the store to lose eligibility
    or close."""
    if hold.released_at is not None or hold.release_at is None:
        return None
    return AutoAction(hold.release_at, _("release the reserve to the store"))
