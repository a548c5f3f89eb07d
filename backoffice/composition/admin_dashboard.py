"""The admin index's dashboard: today's work for the signed-in role, each number a link to the
changelist filtered to exactly those rows, and three charts drawn on the server.

Each block shows only to those who may open its list (the model's view permission), so support,
risk and finance each see their own work. The number of SQL queries is fixed (one or two per
block), whatever the amount of data: tests/test_admin_dashboard.py counts them.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Count, DecimalField, Min, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.urls import reverse
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from accounts.models import SellerAccount
from backoffice import clock
from backoffice.admin_charts import Series, bar_chart, line_chart
from backoffice.models import FailedDeadlineItem, ImportFile, WebhookDelivery
from disputes.models import Dispute
from disputes.selectors import arbitration_overdue, due
from orders.models import Order
from payouts.arrears import owed as amount_owed
from payouts.ledger import balance_at_annotation, to_cents
from payouts.models import Account, DailyBalance, Payout, Refund
from payouts.selectors import owed_annotations

CHART_DAYS = 30
TOP_STORES = 8
RECENT_IMPORTS = 5
ZERO = Decimal("0")


@dataclass(frozen=True)
class Tile:
    """One number of a block: what it counts, how many, the filtered list it opens."""

    key: str  # stable id for tests and styles (data-tile)
    label: str
    value: Any
    url: str
    tone: str = ""  # "danger" / "warning" when the number is a problem, else ""
    detail: str = ""


@dataclass
class Block:
    key: str
    title: str
    tiles: list[Tile] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)  # recent imports
    links: list[tuple[str, str, str]] = field(default_factory=list)  # (key, url, text)


def changelist(model: type, **query: Any) -> str:
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return f"{url}?{urlencode(query)}" if query else url


def _tone(count: int, tone: str) -> str:
    return tone if count else ""


def may_view(user: Any, model: type) -> bool:
    opts = model._meta
    return user.has_perm(f"{opts.app_label}.view_{opts.model_name}")


# --- blocks ---


def disputes_block(now: datetime) -> Block:
    everything = Dispute.objects.all()
    soon = due(everything, after=now, until=now + timedelta(hours=24))
    counts = Dispute.objects.aggregate(
        overdue=Count("pk", filter=Q(pk__in=due(everything, until=now).values("pk"))),
        soon=Count("pk", filter=Q(pk__in=soon.values("pk"))),
        arbitration=Count("pk", filter=Q(status=Dispute.Status.ARBITRATION)),
        arbitration_late=Count(
            "pk", filter=Q(pk__in=arbitration_overdue(everything, now=now).values("pk"))
        ),
        returns=Count("pk", filter=Q(status=Dispute.Status.AWAITING_RETURN)),
    )
    return Block(
        "disputes",
        _("Disputes"),
        [
            Tile(
                "disputes-overdue",
                _("overdue"),
                counts["overdue"],
                changelist(Dispute, due="overdue"),
                _tone(counts["overdue"], "danger"),
            ),
            Tile(
                "disputes-due-24h",
                _("due in 24 h"),
                counts["soon"],
                changelist(Dispute, due="24h"),
                _tone(counts["soon"], "warning"),
            ),
            Tile(
                "disputes-arbitration",
                _("in arbitration"),
                counts["arbitration"],
                changelist(Dispute, status__exact=Dispute.Status.ARBITRATION),
                _tone(counts["arbitration_late"], "danger"),
                _("%(count)s past the service level") % {"count": counts["arbitration_late"]}
                if counts["arbitration_late"]
                else "",
            ),
            Tile(
                "disputes-awaiting-return",
                _("awaiting return"),
                counts["returns"],
                changelist(Dispute, status__exact=Dispute.Status.AWAITING_RETURN),
            ),
        ],
    )


def orders_block(now: datetime) -> Block:
    """Unpaid orders the deadline job cancels by the end of today (UTC)."""
    end_of_day = datetime.combine(now.astimezone(UTC).date(), time.max, tzinfo=UTC)
    cutoff = end_of_day - timedelta(days=settings.UNPAID_CANCEL_DAYS)
    count = Order.objects.filter(status=Order.Status.UNPAID, placed_at__lte=cutoff).count()
    url = changelist(
        Order,
        status__exact=Order.Status.UNPAID,
        placed_at__lte=cutoff.replace(microsecond=0, tzinfo=None).isoformat(sep=" "),
    )
    tile = Tile(
        "orders-auto-cancel-today",
        _("unpaid, cancelled automatically today"),
        count,
        url,
        _tone(count, "warning"),
    )
    return Block("orders", _("Orders"), [tile])


def owed_by_store() -> dict[str, Any]:
    """Promotion arrears (CNY, what wallets below zero owe) and refund debt (USD) of all stores,
    and how many stores are frozen or in arrears: one query (what each owes is
    payouts.selectors.owed_annotations, the rule of payouts.arrears.owed)."""
    money = DecimalField(max_digits=18, decimal_places=2)
    # The annotations' names (owed_cny, owed_usd) differ from the aggregates' (PostgreSQL
    # refuses an aggregate that reuses the name of the annotation it sums).
    return SellerAccount.objects.annotate(**owed_annotations()).aggregate(
        frozen=Count("pk", filter=Q(status=SellerAccount.Status.FROZEN)),
        in_arrears=Count("pk", filter=Q(owed_cny__gt=0)),
        arrears=Coalesce(Sum("owed_cny"), ZERO, output_field=money),
        debt=Coalesce(Sum("owed_usd"), ZERO, output_field=money),
    )


def stores_block(now: datetime) -> Block:
    owed = owed_by_store()
    arrears, debt = to_cents(owed["arrears"]), to_cents(owed["debt"])
    return Block(
        "stores",
        _("Stores"),
        [
            Tile(
                "stores-frozen",
                _("frozen"),
                owed["frozen"],
                changelist(SellerAccount, status__exact=SellerAccount.Status.FROZEN),
                _tone(owed["frozen"], "warning"),
            ),
            Tile(
                "stores-in-arrears",
                _("in arrears"),
                owed["in_arrears"],
                changelist(SellerAccount, arrears="yes"),
                _tone(owed["in_arrears"], "danger"),
                _("CNY %(arrears)s promotion arrears, USD %(debt)s refund debt")
                % {"arrears": f"{arrears:,.2f}", "debt": f"{debt:,.2f}"},
            ),
        ],
    )


def payouts_block(now: datetime) -> Block:
    waiting = Payout.objects.filter(status=Payout.Status.REQUESTED).aggregate(
        count=Count("pk"), total=Sum("amount"), oldest=Min("requested_at")
    )
    detail = ""
    if waiting["oldest"] is not None:
        days = (now - waiting["oldest"]).total_seconds() / 86400
        detail = _("USD %(total)s in all; the oldest has waited %(days).1f days") % {
            "total": f"{to_cents(waiting['total'] or ZERO):,.2f}",
            "days": days,
        }
    return Block(
        "payouts",
        _("Payouts"),
        [
            Tile(
                "payouts-waiting",
                _("waiting to be paid"),
                waiting["count"],
                changelist(Payout, status__exact=Payout.Status.REQUESTED, o="3"),
                _tone(waiting["count"], "warning"),
                detail,
            )
        ],
    )


def failures_block(user: Any) -> Block | None:
    tiles = []
    if may_view(user, FailedDeadlineItem):
        count = FailedDeadlineItem.objects.filter(dismissed=False).count()
        tiles.append(
            Tile(
                "failed-deadline-items",
                _("failed deadline items"),
                count,
                changelist(FailedDeadlineItem, dismissed__exact=0),
                _tone(count, "danger"),
            )
        )
    if may_view(user, WebhookDelivery):
        count = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.FAILED).count()
        tiles.append(
            Tile(
                "failed-webhook-deliveries",
                _("failed webhook deliveries"),
                count,
                changelist(WebhookDelivery, status__exact=WebhookDelivery.Status.FAILED),
                _tone(count, "danger"),
            )
        )
    return Block("failures", _("Failures"), tiles) if tiles else None


def imports_block(user: Any) -> Block:
    block = Block("imports", _("Recent imports"))
    if user.has_perm("backoffice.add_importfile"):
        url = reverse("admin:backoffice_importfile_add")
        block.links.append(("import-platform-export-link", url, _("Import a platform export")))
    if may_view(user, ImportFile):
        block.links.append(("imports-all-link", changelist(ImportFile), _("All imports")))
        for row in ImportFile.objects.select_related("actor")[:RECENT_IMPORTS]:
            block.rows.append(
                {
                    "url": reverse("admin:backoffice_importfile_change", args=[row.pk]),
                    "file_name": row.file_name,
                    "kind": row.get_kind_display(),
                    "at": row.started_at,
                    "by": row.actor.get_username() if row.actor_id else _("system"),
                    "summary": _("%(created)s created, %(updated)s updated")
                    % {"created": row.created, "updated": row.updated},
                }
            )
    return block


# --- charts ---


def _days(today: date) -> list[date]:
    return [today - timedelta(days=n) for n in range(CHART_DAYS - 1, -1, -1)]


def _per_day(queryset: Any, field_name: str, start: datetime) -> dict[date, int]:
    rows = (
        queryset.filter(**{f"{field_name}__gte": start})
        .annotate(day=TruncDate(field_name, tzinfo=UTC))
        .order_by()
        .values("day")
        .annotate(n=Count("pk"))
    )
    return {row["day"]: row["n"] for row in rows}


def orders_chart(now: datetime) -> SafeString:
    days = _days(now.astimezone(UTC).date())
    start = datetime.combine(days[0], time.min, tzinfo=UTC)
    orders = _per_day(Order.objects.all(), "placed_at", start)
    refunds = _per_day(Refund.objects.all(), "at", start)
    return line_chart(
        "chart-orders-refunds",
        _("Orders and refunds per day (last %(days)s days, UTC)") % {"days": CHART_DAYS},
        [f"{d:%m-%d}" for d in days],
        [
            Series(_("orders"), [orders.get(d, 0) for d in days]),
            Series(_("refunds"), [refunds.get(d, 0) for d in days]),
        ],
    )


def _count_of(model: type) -> Coalesce:
    """Correlated subquery: the store's number of ``model`` rows (no join, no row product)."""
    rows = model.objects.filter(store=OuterRef("pk")).order_by().values("store")
    return Coalesce(Subquery(rows.annotate(n=Count("pk")).values("n")), 0)


def dispute_rate_chart() -> SafeString:
    """Disputes per 100 orders of the stores with the most disputes."""
    stores = (
        SellerAccount.objects.annotate(n_disputes=_count_of(Dispute), n_orders=_count_of(Order))
        .filter(n_orders__gt=0)
        .order_by("-n_disputes", "name")[:TOP_STORES]
    )
    rows = [
        (s.name, (Decimal(100 * s.n_disputes) / s.n_orders).quantize(Decimal("0.1")))
        for s in stores
    ]
    rows.sort(key=lambda row: -row[1])
    return bar_chart(
        "chart-dispute-rate",
        _("Disputes per 100 orders, by store"),
        [name for name, _rate in rows],
        [rate for _name, rate in rows],
        " %",
    )


def arrears_chart(now: datetime) -> SafeString:
    """What stores owed at the end of each day: promotion arrears (CNY) and refund debt (USD),
    from the running totals (the balance on a day without a row is the previous row's)."""
    days = _days(now.astimezone(UTC).date())
    start = datetime.combine(days[0], time.min, tzinfo=UTC)
    accounts = (Account.PROMOTION, Account.DEBT)
    opening = SellerAccount.objects.annotate(
        promotion=balance_at_annotation(Account.PROMOTION, start - timedelta(microseconds=1)),
        debt=balance_at_annotation(Account.DEBT, start - timedelta(microseconds=1)),
    ).values_list("pk", "promotion", "debt")
    current = {(pk, Account.PROMOTION): to_cents(p) for pk, p, _d in opening}
    current |= {(pk, Account.DEBT): to_cents(d) for pk, _p, d in opening}
    moves = DailyBalance.objects.filter(account__in=accounts, day__gte=days[0]).values_list(
        "day", "store_id", "account", "balance"
    )
    by_day: dict[date, list[tuple[int, str, Decimal]]] = {}
    for day, store, account, value in moves.order_by("day"):
        by_day.setdefault(day, []).append((store, account, to_cents(value)))
    owed: dict[str, list[Decimal]] = {Account.PROMOTION: [], Account.DEBT: []}
    for day in days:
        for store, account, value in by_day.get(day, []):
            current[(store, account)] = value
        for account in accounts:
            owed[account].append(
                sum((amount_owed(v) for (_s, a), v in current.items() if a == account), ZERO)
            )
    return line_chart(
        "chart-arrears",
        _("Owed by stores at the end of each day"),
        [f"{d:%m-%d}" for d in days],
        [
            Series(_("promotion arrears (CNY)"), owed[Account.PROMOTION]),
            Series(_("refund debt (USD)"), owed[Account.DEBT]),
        ],
    )


@dataclass(frozen=True)
class Chart:
    perm_model: type
    draw: Callable[[datetime], SafeString]


CHARTS = (
    Chart(Order, orders_chart),
    Chart(Dispute, lambda now: dispute_rate_chart()),
    Chart(SellerAccount, arrears_chart),
)


def dashboard(user: Any, now: datetime | None = None) -> dict[str, Any]:
    """The blocks and charts ``user`` may see, at ``now`` (the clock by default)."""
    now = now or clock.now()
    blocks: list[Block | None] = []
    if may_view(user, Dispute):
        blocks.append(disputes_block(now))
    if may_view(user, Order):
        blocks.append(orders_block(now))
    if may_view(user, SellerAccount):
        blocks.append(stores_block(now))
    if may_view(user, Payout):
        blocks.append(payouts_block(now))
    blocks.append(failures_block(user))
    imports = imports_block(user)
    if imports.rows or imports.links:
        blocks.append(imports)
    charts = [chart.draw(now) for chart in CHARTS if may_view(user, chart.perm_model)]
    return {
        "blocks": [b for b in blocks if b is not None],
        "charts": charts,
        "now": now,
    }
