"""Admin for money: the ledger (read-only), payouts, exchange rates, early-payout terms, the
reserve ("deposit inquiry"), refunds, and the promotion wallet (movements, thresholds, arrears).

Every write goes through ``payouts.services`` or ``payouts.promotion`` as the signed-in user:
payout requests and their settlement, exchange rates, early-payout terms, promotion top-ups
by bank transfer, adjustments and low-balance thresholds. Ledger postings and entries, reserve
holds, refunds, decisions, promotion movements and arrears episodes are records of what
happened: nobody changes or deletes them here (the database refuses updates and deletes of
ledger rows anyway). Sums of ledger amounts are
always read through :func:`payouts.ledger.to_cents` (SQLite sums decimals as floats).

One module per area: ``ledger``, ``payouts`` (payouts, reserve holds, refunds), ``rates``,
``early_payout``, ``promotion``; ``shared`` holds the display helpers. Importing them here
registers their model admins. The store and order pages (accounts/admin.py, orders/admin.py)
show money through ``store_page`` and the inlines, imported from this package.
"""

from backoffice.admin_helpers import (
    ReadOnlyAdmin,
    admin_link,
    autocomplete,
    changelist_link,
    money,
    signed,
)
from payouts.admin import (  # noqa: F401  (registers)
    early_payout,
    ledger,
    payouts,
    promotion,
    rates,
    receivables,
)
from payouts.admin.labels import ACCOUNT_LABELS, STORE_CURRENCY
from payouts.admin.ledger import PostingInline
from payouts.admin.payouts import RefundInline
from payouts.admin.store_page import (
    DECISION_VIEW_PERM,
    MONEY_VIEW_PERM,
    PROMOTION_VIEW_PERM,
    balances_table,
    early_payout_decisions_box,
    early_payout_summary,
    health_box,
    promotion_wallet_box,
    reserve_schedule_table,
    running_totals,
    store_money_links,
)

__all__ = [
    "ACCOUNT_LABELS",
    "DECISION_VIEW_PERM",
    "MONEY_VIEW_PERM",
    "PROMOTION_VIEW_PERM",
    "STORE_CURRENCY",
    "PostingInline",
    "ReadOnlyAdmin",
    "RefundInline",
    "admin_link",
    "autocomplete",
    "balances_table",
    "changelist_link",
    "early_payout_decisions_box",
    "early_payout_summary",
    "health_box",
    "money",
    "promotion_wallet_box",
    "reserve_schedule_table",
    "running_totals",
    "signed",
    "store_money_links",
]
