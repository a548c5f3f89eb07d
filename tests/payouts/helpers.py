"""Shared helpers for the money tests."""

from decimal import Decimal

from payouts.ledger import store_balances

D = Decimal


def balances(store) -> dict[str, Decimal]:
    return {k: v for k, v in store_balances(store.pk).items() if k != "promotion"}


def expect(store, **expected: str) -> None:
    """Assert the store's balances; accounts not named must be zero."""
    want = {k: D("0.00") for k in ("escrow", "available", "reserve", "debt")}
    want |= {k: D(v) for k, v in expected.items()}
    assert balances(store) == want
