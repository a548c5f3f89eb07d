"""The daily early-payout evaluation. Sellers cannot apply: the platform evaluates every store
that is not closed. :func:`decide` is a pure function of the health figures and the settings,
so the same data and clock always give the same decision and reserve rate."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef

from accounts.models import SellerAccount
from payouts.health import Health, store_health
from payouts.models import EarlyPayoutDecision, EarlyPayoutTerms
from payouts.services import early_payout_set


@dataclass(frozen=True)
class Decision:
    eligible: bool
    reserve_rate: Decimal
    reason: str


def _pct(value: Decimal) -> str:
    """A fraction as a percentage with up to 2 decimals: 0.05 is "5 %", 0.0501 "5.01 %" (one
    step beyond a limit must not read like the limit itself)."""
    return f"{value * 100:.2f}".rstrip("0").rstrip(".") + " %"


def _failures(h: Health, frozen: bool) -> list[str]:
    s = settings
    checks = [
        (frozen, "the store is frozen"),
        (
            h.in_arrears or h.arrears_episodes > 0,
            f"promotion arrears in the last {h.window_days} days",
        ),
        (
            h.operating_days < s.EARLY_PAYOUT_MIN_OPERATING_DAYS,
            f"operating for {h.operating_days} days, fewer than "
            f"{s.EARLY_PAYOUT_MIN_OPERATING_DAYS}",
        ),
        (
            h.orders < s.EARLY_PAYOUT_MIN_ORDERS,
            f"{h.orders} paid orders, fewer than {s.EARLY_PAYOUT_MIN_ORDERS}",
        ),
        (
            h.dispute_rate is not None and h.dispute_rate > s.EARLY_PAYOUT_MAX_DISPUTE_RATE,
            f"dispute rate {_pct(h.dispute_rate or 0)} above "
            f"{_pct(s.EARLY_PAYOUT_MAX_DISPUTE_RATE)}",
        ),
        (
            h.refund_rate is not None and h.refund_rate > s.EARLY_PAYOUT_MAX_REFUND_RATE,
            f"refund rate {_pct(h.refund_rate or 0)} above {_pct(s.EARLY_PAYOUT_MAX_REFUND_RATE)}",
        ),
        (h.positive_rate is None, "no rated orders"),
        (
            h.positive_rate is not None and h.positive_rate < s.EARLY_PAYOUT_MIN_POSITIVE_RATE,
            f"positive ratings {_pct(h.positive_rate or 0)} below "
            f"{_pct(s.EARLY_PAYOUT_MIN_POSITIVE_RATE)}",
        ),
        (
            h.service_points < s.EARLY_PAYOUT_MIN_SERVICE_POINTS,
            f"{h.service_points} service points, fewer than {s.EARLY_PAYOUT_MIN_SERVICE_POINTS}",
        ),
    ]
    return [why for failed, why in checks if failed]


def decide(h: Health, *, frozen: bool = False) -> Decision:
    failures = _failures(h, frozen)
    if failures:
        return Decision(False, Decimal("0"), "Not eligible: " + "; ".join(failures) + ".")
    excellent = (
        (h.dispute_rate or 0) <= settings.EXCELLENT_MAX_DISPUTE_RATE
        and h.positive_rate >= settings.EXCELLENT_MIN_POSITIVE_RATE
    )
    rate = settings.RESERVE_RATE_EXCELLENT if excellent else settings.RESERVE_RATE
    grade = "excellent record" if excellent else "meets every threshold"
    return Decision(True, rate, f"Eligible ({grade}): reserve {_pct(rate)}.")


def evaluate_store(store: SellerAccount, *, now: datetime) -> Decision:
    """Evaluate one store and record the decision when it changes (with its figures)."""
    health = store_health(store, now=now)
    decision = decide(health, frozen=store.status == SellerAccount.Status.FROZEN)
    with transaction.atomic():
        terms = EarlyPayoutTerms.objects.select_for_update().filter(store=store).first()
        changed = terms is None or (terms.eligible, terms.reserve_rate) != (
            decision.eligible,
            decision.reserve_rate,
        )
        if changed:
            early_payout_set(
                store_id=store.pk,
                actor=None,
                eligible=decision.eligible,
                reserve_rate=decision.reserve_rate,
                reason=decision.reason,
                at=now,
                source="evaluation",
                figures=health.figures(),
            )
        EarlyPayoutTerms.objects.filter(store=store).update(evaluated_at=now)
    return decision


def due_for_evaluation(now: datetime):
    """Stores not closed, not evaluated yet this UTC day, and without a staff override decided
    less than EARLY_PAYOUT_OVERRIDE_DAYS before ``now``."""
    day_start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    recent_override = EarlyPayoutDecision.objects.filter(
        store=OuterRef("pk"),
        source="override",
        decided_at__gt=now - timedelta(days=settings.EARLY_PAYOUT_OVERRIDE_DAYS),
    )
    # One Exists, not two conditions in one exclude(): across a multi-valued relation those
    # need not hold for the same decision (an old override plus any recent decision would
    # hide the store).
    return (
        SellerAccount.objects.exclude(status=SellerAccount.Status.CLOSED)
        .exclude(early_payout__evaluated_at__gte=day_start)
        .exclude(Exists(recent_override))
    )
