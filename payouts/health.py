"""Store health over the trailing window (HEALTH_WINDOW_DAYS, 90 by default), computed on
demand and by the daily evaluation, always from stored data and an explicit ``now`` so that
the same data and clock give the same figures."""

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from django.conf import settings
from django.db.models import Q

from accounts.models import SellerAccount
from disputes.models import Dispute
from disputes.selectors import service_points
from orders.models import Order
from payouts.models import ArrearsEpisode, Refund

RATE = Decimal("0.0001")


def _rate(part: int, whole: int) -> Decimal | None:
    return (Decimal(part) / Decimal(whole)).quantize(RATE, ROUND_HALF_EVEN) if whole else None


@dataclass(frozen=True)
class Health:
    computed_at: datetime
    window_days: int
    operating_days: int
    orders: int  # paid in the window
    disputes: int  # opened in the window
    dispute_rate: Decimal | None
    refunded_orders: int
    refund_rate: Decimal | None
    rated_orders: int
    positive_rate: Decimal | None  # 4 or 5 stars among rated orders
    service_points: int
    arrears_episodes: int  # in arrears at any time in the window
    in_arrears: bool

    def figures(self) -> dict:
        """JSON-ready figures, recorded with each eligibility decision."""
        return {
            k: (str(v) if isinstance(v, Decimal | datetime) else v) for k, v in asdict(self).items()
        }


def store_health(store: SellerAccount, *, now: datetime) -> Health:
    since = now - timedelta(days=settings.HEALTH_WINDOW_DAYS)
    orders = Order.objects.filter(store=store, paid_at__gte=since, paid_at__lte=now).count()
    disputes = Dispute.objects.filter(store=store, opened_at__gte=since, opened_at__lte=now).count()
    refunded = (
        Refund.objects.filter(store=store, at__gte=since, at__lte=now)
        .values("order_id")
        .distinct()
        .count()
    )
    rated = Order.objects.filter(store=store, rated_at__gte=since, rated_at__lte=now)
    positive = rated.filter(rating__gte=4).count()
    rated_count = rated.count()
    episodes = ArrearsEpisode.objects.filter(store=store, started_at__lte=now).filter(
        Q(cleared_at__isnull=True) | Q(cleared_at__gte=since)
    )
    return Health(
        computed_at=now,
        window_days=settings.HEALTH_WINDOW_DAYS,
        operating_days=max((now - store.opened_at).days, 0),
        orders=orders,
        disputes=disputes,
        dispute_rate=_rate(disputes, orders),
        refunded_orders=refunded,
        refund_rate=_rate(refunded, orders),
        rated_orders=rated_count,
        positive_rate=_rate(positive, rated_count),
        service_points=service_points(store.pk, now=now),
        arrears_episodes=episodes.count(),
        in_arrears=episodes.filter(Q(cleared_at__isnull=True) | Q(cleared_at__gt=now)).exists(),
    )
