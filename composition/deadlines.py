"""The order of the deadline jobs (``run_deadlines``, ``backoffice.deadlines.run_all``): an
explicit list rather than the order in which the apps happen to register them. Each app
registers its own jobs (its ``deadlines.py``, ``accounts/notices.py``, ``composition/webhooks.py``);
a job registered but not listed here, or listed but not registered, stops the start-up.

Why this order: an unpaid order is cancelled and a shipped one confirmed before the money jobs
read them; arrears episodes are closed (the wallet was topped up) before the freeze job looks
for stores still in arrears; the early-payout evaluation reads the day's releases; disputes
come last, after the orders they belong to have moved."""

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
    from composition import webhooks  # noqa: F401
    from disputes import deadlines as dispute_jobs  # noqa: F401
    from orders import deadlines as order_jobs  # noqa: F401
    from payouts import arrears  # noqa: F401
    from payouts import deadlines as money_jobs  # noqa: F401

    deadlines.set_order(DEADLINE_JOBS)
