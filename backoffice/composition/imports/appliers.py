"""The import appliers, collected: each app registers the applier of the kind of export whose
records it owns (``@backoffice.imports.appliers.register``, as deadline jobs register), and this
list says the order their files are imported in, an explicit list rather than the order the apps
happen to load in. A kind without an applier, or an applier or kind missing here, stops the
start-up (``backoffice.imports.appliers.set_order``).

The order is the one a store's history must be imported in: a CNY order needs its day's exchange
rate, a dispute its order; a promotion statement needs only its store."""

from backoffice.imports import appliers

IMPORT_APPLIERS: tuple[str, ...] = (
    "exchange_rates",
    "orders",
    "disputes",
    "promotion",
)


def install() -> None:
    """Import every module that registers an applier, then fix their order."""
    from disputes import imports as dispute_appliers  # noqa: F401
    from orders import imports as order_appliers  # noqa: F401
    from payouts import imports as money_appliers  # noqa: F401

    appliers.set_order(IMPORT_APPLIERS)
