"""Store health over the trailing window (HEALTH_WINDOW_DAYS, 90 by default), computed on
demand and by the daily evaluation, always from stored data and an explicit ``now`` so that
the same data and clock give the same figures.

The counting is written once, as subqueries (:func:`health_annotations`): :func:`store_health`
runs them for one store, GraphQL adds them to a page of stores (:func:`annotated_health`).

Rates keep 4 decimals and are rounded against the store: the dispute and refund rates up, the
positive-rating rate down. A figure is then never better than the truth, and comparing it with
a threshold of at most 4 decimals gives the answer the exact fraction gives (100 disputes in
1,999 orders is 5.0025 %: above 5 %, though it rounds to the nearest as 5.00 %)."""

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from accounts.models import SellerAccount
from disputes.models import Dispute
from disputes.selectors import points_after, protection_claim_disputes
from orders.models import Order
from payouts.models import ArrearsEpisode, Refund

RATE = Decimal("0.0001")


def _rate(part: int, whole: int, rounding: str) -> Decimal | None:
    if not whole:
        return None
    # Exact before rounding: the context's 28 digits are plenty for counts of orders.
    return (Decimal(part) / Decimal(whole)).quantize(RATE, rounding)


def bad_rate(part: int, whole: int) -> Decimal | None:
    """A rate where more is worse (disputes, refunds), rounded up."""
    return _rate(part, whole, ROUND_CEILING)


def good_rate(part: int, whole: int) -> Decimal | None:
    """A rate where more is better (positive ratings), rounded down."""
    return _rate(part, whole, ROUND_FLOOR)


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


# The figures counted in the database, as annotations on a SellerAccount queryset.
COUNTS = (
    "orders",
    "disputes",
    "refunded",
    "rated",
    "positive",
    "protection_claims",
    "arrears_episodes",
    "in_arrears",
)


def _attr(name: str) -> str:
    return f"health_{name}"


ANNOTATIONS = tuple(_attr(name) for name in COUNTS)  # the names health_annotations() gives


def _count(queryset: QuerySet, of: str = "pk", *, distinct: bool = False) -> Coalesce:
    """Correlated subquery: how many rows of ``queryset`` (already filtered on the outer store)."""
    counted = (
        queryset.order_by().values("store").annotate(n=Count(of, distinct=distinct)).values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def health_annotations(now: datetime) -> dict[str, Any]:
    """Everything :func:`store_health` counts, as subqueries on a SellerAccount queryset: a
    page of stores gets its health in the page's own query (no query per store)."""
    since = now - timedelta(days=settings.HEALTH_WINDOW_DAYS)
    store = OuterRef("pk")
    rated = Order.objects.filter(store=store, rated_at__gte=since, rated_at__lte=now)
    episodes = ArrearsEpisode.objects.filter(store=store, started_at__lte=now).filter(
        Q(cleared_at__isnull=True) | Q(cleared_at__gte=since)
    )
    exprs = {
        "orders": _count(Order.objects.filter(store=store, paid_at__gte=since, paid_at__lte=now)),
        "disputes": _count(
            Dispute.objects.filter(store=store, opened_at__gte=since, opened_at__lte=now)
        ),
        "refunded": _count(
            Refund.objects.filter(store=store, at__gte=since, at__lte=now), "order", distinct=True
        ),
        "rated": _count(rated),
        "positive": _count(rated.filter(rating__gte=4)),
        "protection_claims": _count(protection_claim_disputes(now).filter(store=store)),
        "arrears_episodes": _count(episodes),
        "in_arrears": Exists(episodes.filter(Q(cleared_at__isnull=True) | Q(cleared_at__gt=now))),
    }
    return {_attr(name): expr for name, expr in exprs.items()}


def annotated_health(store: SellerAccount, *, now: datetime) -> Health | None:
    """The health of a store loaded with :func:`health_annotations` (for that ``now``); None
    when it was loaded without them."""
    if not all(hasattr(store, _attr(name)) for name in COUNTS):
        return None
    return _health(store, {name: getattr(store, _attr(name)) for name in COUNTS}, now=now)


def _health(store: SellerAccount, counts: dict[str, Any], *, now: datetime) -> Health:
    orders, rated = counts["orders"], counts["rated"]
    return Health(
        computed_at=now,
        window_days=settings.HEALTH_WINDOW_DAYS,
        operating_days=max((now - store.opened_at).days, 0),
        orders=orders,
        disputes=counts["disputes"],
        dispute_rate=bad_rate(counts["disputes"], orders),
        refunded_orders=counts["refunded"],
        refund_rate=bad_rate(counts["refunded"], orders),
        rated_orders=rated,
        positive_rate=good_rate(counts["positive"], rated),
        service_points=points_after(counts["protection_claims"]),
        arrears_episodes=counts["arrears_episodes"],
        in_arrears=bool(counts["in_arrears"]),
    )


def store_health(store: SellerAccount, *, now: datetime) -> Health:
    """The store's health at ``now``: one query (the same subqueries a page of stores uses)."""
    counts = (
        SellerAccount.objects.filter(pk=store.pk)
        .annotate(**health_annotations(now))
        .values(*(_attr(name) for name in COUNTS))
        .get()
    )
    return _health(store, {name: counts[_attr(name)] for name in COUNTS}, now=now)
