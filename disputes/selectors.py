"""Reads about disputes: what will happen automatically and when, and service points."""

from datetime import datetime, timedelta
from typing import Any, Final

from django.conf import settings
from django.db.models import Case, DateTimeField, ExpressionWrapper, F, Q, QuerySet, When
from django.utils.translation import gettext as _

from backoffice.autoaction import AutoAction
from disputes.models import Dispute
from payouts.selectors import ALL, scope

VIEW_PERM: Final = "disputes.view_dispute"


def disputes_visible_to(
    viewer: Any, queryset: QuerySet[Dispute] | None = None
) -> QuerySet[Dispute]:
    """A seller user sees its store's disputes; staff see every store's with
    ``disputes.view_dispute`` (support and risk hold it), as in the admin; superusers see
    everything; anyone else nothing."""
    queryset = Dispute.objects.all() if queryset is None else queryset
    allowed = scope(viewer, VIEW_PERM)
    if allowed is ALL:
        return queryset
    if allowed is None:
        return queryset.none()
    return queryset.filter(store_id=allowed)


def auto_action(dispute: Dispute) -> AutoAction | None:
    """The action the deadlines runner will take on ``dispute`` if nobody acts first; for a
    dispute in arbitration, the platform's decision deadline (``automatic`` false: staff owe
    it, nothing happens by itself)."""
    payer = "from the protection fund " if dispute.protected else ""
    if dispute.status == Dispute.Status.OPEN:
        return AutoAction(
            dispute.respond_by,
            f"refund USD {dispute.requested_refund} {payer}to the buyer",
        )
    if dispute.status == Dispute.Status.RESPONDED:
        return AutoAction(dispute.escalate_at, "escalate to platform arbitration")
    if dispute.status == Dispute.Status.AWAITING_RETURN and dispute.return_due_at:
        text = (
            _("refund USD %(amount)s from the protection fund to the buyer (return not confirmed)")
            if dispute.protected
            else _("refund USD %(amount)s to the buyer (return not confirmed)")
        )
        return AutoAction(dispute.return_due_at, text % {"amount": dispute.final_refund})
    if dispute.status == Dispute.Status.ARBITRATION and dispute.arbitration_due_at:
        return AutoAction(
            dispute.arbitration_due_at,
            _("platform decision due (arbitration service level; staff decide)"),
            automatic=False,
        )
    return None


def return_timeout_due(now: datetime) -> QuerySet[Dispute]:
    """Disputes whose return was not confirmed in time: ``auto_action``'s moment, as a filter."""
    return Dispute.objects.filter(
        status=Dispute.Status.AWAITING_RETURN,
        return_started_at__lte=now - timedelta(days=settings.RETURN_DAYS),
    )


def protection_claim_disputes(now: datetime) -> QuerySet[Dispute]:
    """Disputes whose refund the protection fund paid in the health window ending at ``now``
    (every store's: filter by store, or correlate with ``OuterRef`` for a page of stores)."""
    since = now - timedelta(days=settings.HEALTH_WINDOW_DAYS)
    return Dispute.objects.filter(
        protected=True,
        resolved_at__gte=since,
        resolved_at__lte=now,
        final_refund__gt=0,
    )


def protection_claims(store_id: int, *, now: datetime) -> int:
    """Refunds the protection fund paid for the store in the health window."""
    return protection_claim_disputes(now).filter(store_id=store_id).count()


def points_after(claims: int) -> int:
    """Service points left after ``claims`` protection claims in the window."""
    return max(
        settings.SERVICE_POINTS_START - settings.SERVICE_POINTS_PER_PROTECTION_CLAIM * claims, 0
    )


def service_points(store_id: int, *, now: datetime) -> int:
    """Service points: using after-sales protection lowers them (DOMAIN.md)."""
    return points_after(protection_claims(store_id, now=now))


# --- the work queue: the same deadlines as auto_action, as database filters ---


def _plus_days(field: str, days: int) -> ExpressionWrapper:
    return ExpressionWrapper(F(field) + timedelta(days=days), output_field=DateTimeField())


def next_automatic_at() -> Case:
    """:func:`auto_action`'s moment as an expression (null when nothing is pending): the
    response deadline of an open dispute, the escalation of a responded one, the return's
    timeout, the arbitration's service level."""
    return Case(
        When(status=Dispute.Status.OPEN, then=F("respond_by")),
        When(status=Dispute.Status.RESPONDED, then=F("escalate_at")),
        When(
            status=Dispute.Status.AWAITING_RETURN,
            then=_plus_days("return_started_at", settings.RETURN_DAYS),
        ),
        When(
            status=Dispute.Status.ARBITRATION,
            then=_plus_days("escalated_at", settings.ARBITRATION_SLA_DAYS),
        ),
        default=None,
        output_field=DateTimeField(),
    )


def due(
    queryset: QuerySet[Dispute], *, until: datetime, after: datetime | None = None
) -> QuerySet[Dispute]:
    """Disputes whose automatic action falls in ``(after, until]``; without ``after``, everything
    due by ``until`` (overdue included, the deadline itself too, as the deadlines runner picks
    them). Written per state so that each deadline's index serves it."""

    def window(field: str, days: int = 0) -> Q:
        shift = timedelta(days=days)
        q = Q(**{f"{field}__lte": until - shift})
        return q & Q(**{f"{field}__gt": after - shift}) if after is not None else q

    return queryset.filter(
        Q(status=Dispute.Status.OPEN) & window("respond_by")
        | Q(status=Dispute.Status.RESPONDED) & window("escalate_at")
        | Q(status=Dispute.Status.AWAITING_RETURN)
        & window("return_started_at", settings.RETURN_DAYS)
        | Q(status=Dispute.Status.ARBITRATION)
        & window("escalated_at", settings.ARBITRATION_SLA_DAYS)
    )


def arbitration_overdue(queryset: QuerySet[Dispute], *, now: datetime) -> QuerySet[Dispute]:
    """Disputes in arbitration past the platform's service level (``ARBITRATION_SLA_DAYS``)."""
    cutoff = now - timedelta(days=settings.ARBITRATION_SLA_DAYS)
    return queryset.filter(status=Dispute.Status.ARBITRATION, escalated_at__lte=cutoff)
