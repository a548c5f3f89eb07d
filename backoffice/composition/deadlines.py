"""The order of the deadline jobs (``run_deadlines``, ``backoffice.deadlines.run_all``): an
explicit list rather than the order in which the apps happen to register them. Each app
registers its own jobs (its ``deadlines.py``, ``payouts/arrears.py``, ``accounts/notices.py``,
``backoffice/composition/webhooks.py``);
a job registered but not listed here, or listed but not registered, stops the start-up.

The order is the one the jobs ran in before it was written down; the one constraint it
states on purpose: ``payouts.arrears_close`` runs before ``payouts.arrears_freeze``, so a store
past both limits is closed, not frozen first (the store's clock shows the close on a tie)."""

from backoffice import deadlines

DEADLINE_JOBS: tuple[str, ...] = (
    "webhooks.deliver",
    "notices.send_emails",
    "orders.cancel_unpaid",
    "orders.auto_confirm",
    "payouts.early_release",
    "payouts.reserve_release",
    "payouts.arrears_close",
    "payouts.arrears_freeze",
    "payouts.closed_store_settlement",
    "payouts.evaluate_early_payout",
    "disputes.auto_resolve",
    "disputes.auto_escalate",
    "disputes.return_timeout",
    "disputes.deadline_reminders",
)


def install() -> None:
    """Import every module that registers a job, then fix their order."""
    from accounts import notices  # noqa: F401
    from backoffice.composition import webhooks  # noqa: F401
    from disputes import deadlines as dispute_jobs  # noqa: F401
    from orders import deadlines as order_jobs  # noqa: F401
    from payouts import arrears  # noqa: F401
    from payouts import deadlines as money_jobs  # noqa: F401

    deadlines.set_order(DEADLINE_JOBS)
