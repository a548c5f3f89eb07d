"""Money on the store page (accounts/admin.py): balances, reserve schedule, early payout,
promotion wallet and health; the order page (orders/admin.py) checks ``MONEY_VIEW_PERM``."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from accounts.models import SellerAccount
from backoffice.admin_helpers import (
    admin_link,
    changelist_link,
    money,
    percent,
    signed,
)
from backoffice.money import Currency
from payouts.admin.early_payout import decisions_table
from payouts.admin.labels import ACCOUNT_LABELS, STORE_CURRENCY
from payouts.admin.payouts import holds_with_remaining
from payouts.admin.promotion import cny
from payouts.admin.statement import statement_url
from payouts.arrears import owed
from payouts.evaluation import decide
from payouts.health import Health, store_health
from payouts.ledger import store_balances, to_cents
from payouts.models import (
    STORE_ACCOUNTS,
    Account,
    ArrearsEpisode,
    EarlyPayoutDecision,
    EarlyPayoutTerms,
    LedgerEntry,
    Payout,
    PromotionMovement,
    PromotionWallet,
    Refund,
    ReserveHold,
)
from payouts.promotion import wallet_balance
from payouts.schema_types import OPEN_ARREARS_ATTR
from payouts.selectors import early_payout_terms_of

# --- money on the store page (accounts/admin.py) ---

MONEY_VIEW_PERM = "payouts.view_ledgerentry"

PROMOTION_VIEW_PERM = "payouts.view_promotionmovement"
DECISION_VIEW_PERM = "payouts.view_earlypayoutdecision"


def running_totals(store_id: int) -> dict[str, Decimal]:
    """The store's five balances and the platform's commission taken from it (one query)."""
    return store_balances(store_id, (*STORE_ACCOUNTS, Account.COMMISSION))


def balances_table(store_id: int, totals: dict[str, Decimal] | None = None) -> SafeString:
    """The five balances of a store and the commission taken: ``totals`` from
    :func:`running_totals` (read here when not given: one query)."""
    balances = running_totals(store_id) if totals is None else totals
    return format_html(
        "<table><tbody>{}</tbody></table>",
        format_html_join(
            "",
            '<tr><th scope="row">{}</th><td class="balance-{}">{}</td></tr>',
            [
                *(
                    (ACCOUNT_LABELS[a], a, money(balances[a], STORE_CURRENCY[a]))
                    for a in STORE_ACCOUNTS
                ),
                (
                    _("Commission taken (platform)"),
                    Account.COMMISSION,
                    money(balances[Account.COMMISSION], Currency.USD),
                ),
            ],
        ),
    )


SCHEDULE_ROWS = 20


def reserve_schedule_table(store_id: int) -> SafeString:
    """The store's unreleased reserve holds, soonest release first (one query)."""
    holds = list(
        holds_with_remaining(ReserveHold.objects.filter(store_id=store_id, released_at=None))
        .select_related("order")
        .order_by(models.F("release_at").asc(nulls_last=True), "held_at", "id")[: SCHEDULE_ROWS + 1]
    )
    if not holds:
        return format_html("{}", "No reserve is held.")
    body = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                admin_link(hold.order),
                money(hold.held),
                money(to_cents(hold.remaining)),
                f"{hold.release_at:%Y-%m-%d}"
                if hold.release_at
                else "not scheduled (while the store stays eligible and open)",
            )
            for hold in holds[:SCHEDULE_ROWS]
        ),
    )
    more = (
        format_html(
            "<p>{}</p>", changelist_link(ReserveHold, "All holds…", store__id__exact=store_id)
        )
        if len(holds) > SCHEDULE_ROWS
        else ""
    )
    return format_html(
        "<table><thead><tr><th>order</th><th>held</th><th>remaining</th><th>release on</th>"
        "</tr></thead><tbody>{}</tbody></table>{}",
        body,
        more,
    )


def early_payout_summary(store: SellerAccount) -> str:
    terms = early_payout_terms_of(store)
    if terms is None:
        return "Not evaluated yet: paid out on confirmation."
    return early_payout_summary_of(terms)


def store_money_links(user: Any, store: SellerAccount) -> SafeString:
    """Links to the store's money lists the viewer may open."""
    lists = [
        (LedgerEntry, "ledger entries"),
        (Payout, "payouts"),
        (Refund, "refunds"),
        (ReserveHold, "deposit inquiry (reserve holds)"),
        (EarlyPayoutTerms, "early payout terms"),
        (EarlyPayoutDecision, "early payout decisions"),
    ]
    links = [
        changelist_link(model, text, store__id__exact=store.pk)
        for model, text in lists
        if user.has_perm(f"payouts.view_{model._meta.model_name}")
    ]
    if user.has_perm(MONEY_VIEW_PERM):
        links.append(format_html('<a href="{}">{}</a>', statement_url(store.pk), _("statement")))
    return format_html(
        "{}: {}", "The store's", format_html_join(" · ", "{}", ((x,) for x in links))
    )


# --- promotion wallet and health on the store page (accounts/admin.py) ---

MOVEMENT_ROWS = 10


def _wallet_now(store: SellerAccount) -> tuple[Decimal, datetime | None]:
    """The wallet's balance and since when it is in arrears: from what the store's page loaded
    with the store (its running totals, its open episode's start) or else read (2 queries)."""
    totals = getattr(store, "running_totals", None)
    balance_now = totals[Account.PROMOTION] if totals else wallet_balance(store.pk)
    if hasattr(store, OPEN_ARREARS_ATTR):
        return balance_now, getattr(store, OPEN_ARREARS_ATTR)
    episode = ArrearsEpisode.objects.filter(store_id=store.pk, cleared_at__isnull=True).first()
    return balance_now, episode.started_at if episode else None


def promotion_wallet_box(store: SellerAccount) -> SafeString:
    """Balance, arrears, threshold and the last movements of the store's wallet (3 queries
    beside what the store's page loaded)."""
    balance_now, since = _wallet_now(store)
    wallet = PromotionWallet.objects.filter(store_id=store.pk).first()
    threshold = wallet.low_balance_threshold if wallet else Decimal("0")
    movements = list(
        PromotionMovement.objects.filter(store_id=store.pk)
        .select_related("actor")
        .order_by("-at", "-id")[: MOVEMENT_ROWS + 1]
    )
    rows = [  # (label, css class, value)
        ("balance", "promotion-balance", signed(balance_now, Currency.CNY)),
        ("arrears owed", "promotion-owed", cny(owed(balance_now))),
        (
            "in arrears since",
            "promotion-since",
            f"{since:%Y-%m-%d %H:%M} UTC" if since else "not in arrears",
        ),
        (
            "low-balance threshold",
            "promotion-threshold",
            (cny(threshold) + (" (notice sent)" if wallet.low_balance_noticed else ""))
            if threshold
            else "none (no notices)",
        ),
    ]
    summary = format_html_join("", '<tr><th scope="row">{}</th><td class="{}">{}</td></tr>', rows)
    listed = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                f"{m.at:%Y-%m-%d %H:%M}",
                m.get_kind_display(),
                signed(m.amount, Currency.CNY),
                m.get_method_display() or "—",
                admin_link(m, m.reference),
                m.actor.get_username() if m.actor_id else "system",
            )
            for m in movements[:MOVEMENT_ROWS]
        ),
    )
    table = (
        format_html(
            "<table><thead><tr><th>at</th><th>movement</th><th>amount</th><th>method</th>"
            "<th>reference</th><th>by</th></tr></thead><tbody>{}</tbody></table>",
            listed,
        )
        if movements
        else format_html("<p>{}</p>", "No movements yet.")
    )
    links = [changelist_link(PromotionMovement, "All movements…", store__id__exact=store.pk)]
    if since or ArrearsEpisode.objects.filter(store_id=store.pk).exists():
        links.append(changelist_link(ArrearsEpisode, "Arrears history…", store__id__exact=store.pk))
    return format_html(
        "<table><tbody>{}</tbody></table>{}<p>{}</p>",
        summary,
        table,
        format_html_join(" · ", "{}", ((link,) for link in links)),
    )


def _health_rows(h: Health) -> list[tuple[str, str, str]]:
    s = settings
    return [
        ("operating time", f"{h.operating_days} days", f"≥ {s.EARLY_PAYOUT_MIN_OPERATING_DAYS}"),
        ("paid orders", str(h.orders), f"≥ {s.EARLY_PAYOUT_MIN_ORDERS}"),
        (
            "dispute rate",
            f"{percent(h.dispute_rate)} ({h.disputes} disputes opened)",
            f"≤ {percent(s.EARLY_PAYOUT_MAX_DISPUTE_RATE)} "
            f"(excellent ≤ {percent(s.EXCELLENT_MAX_DISPUTE_RATE)})",
        ),
        (
            "refund rate",
            f"{percent(h.refund_rate)} ({h.refunded_orders} orders refunded)",
            f"≤ {percent(s.EARLY_PAYOUT_MAX_REFUND_RATE)}",
        ),
        (
            "positive ratings",
            f"{percent(h.positive_rate)} (of {h.rated_orders} rated orders)",
            f"≥ {percent(s.EARLY_PAYOUT_MIN_POSITIVE_RATE)} "
            f"(excellent ≥ {percent(s.EXCELLENT_MIN_POSITIVE_RATE)})",
        ),
        ("service points", str(h.service_points), f"≥ {s.EARLY_PAYOUT_MIN_SERVICE_POINTS}"),
        (
            "arrears episodes",
            f"{h.arrears_episodes}" + (" (in arrears now)" if h.in_arrears else ""),
            "none",
        ),
    ]


def health_box(store: SellerAccount, *, now: datetime) -> SafeString:
    """The store's health at ``now`` (one query), each figure beside its early-payout
    threshold, and what the evaluation would decide on them."""
    h = store_health(store, now=now)
    decision = decide(h, frozen=store.status == SellerAccount.Status.FROZEN)
    return format_html(
        "<p>Trailing {} days to {} UTC.</p><table><thead><tr><th>figure</th><th>value</th>"
        "<th>early payout needs</th></tr></thead><tbody>{}</tbody></table>"
        '<p class="health-verdict">On these figures: {}</p>',
        h.window_days,
        f"{now:%Y-%m-%d %H:%M}",
        format_html_join(
            "",
            '<tr><th scope="row">{}</th><td>{}</td><td>{}</td></tr>',
            _health_rows(h),
        ),
        decision.reason,
    )


DECISION_ROWS = 5


def early_payout_decisions_box(store: SellerAccount) -> SafeString:
    """The terms, the last evaluation and the latest decisions with their figures (2 queries)."""
    terms = early_payout_terms_of(store)
    rows = EarlyPayoutDecision.objects.filter(store_id=store.pk).select_related("decided_by")[
        :DECISION_ROWS
    ]
    if terms is None:
        summary = "Not evaluated yet: paid out on confirmation."
    else:
        summary = (
            f"{early_payout_summary_of(terms)} Decided by {terms.get_source_display().lower()}; "
            + (
                f"last evaluated {terms.evaluated_at:%Y-%m-%d %H:%M} UTC."
                if terms.evaluated_at
                else "not evaluated yet."
            )
        )
    return format_html(
        "<p>{}</p>{}<p>{}</p>",
        summary,
        decisions_table(rows, figures=True),
        changelist_link(EarlyPayoutDecision, "All decisions…", store__id__exact=store.pk),
    )


def early_payout_summary_of(terms: EarlyPayoutTerms) -> str:
    if not terms.eligible:
        return f"Not eligible since {terms.since:%Y-%m-%d}: paid out on confirmation."
    return f"Eligible since {terms.since:%Y-%m-%d}, reserve {terms.reserve_rate * 100:.2f} %."
