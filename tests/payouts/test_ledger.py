"""The ledger is balanced and append-only, down to the database."""

from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

from payouts.ledger import Leg, UnbalancedPosting, post
from payouts.models import Account, LedgerEntry, Posting
from tests import factories as f


def _posting():
    o = f.order(status="paid", amount="12.34")
    return Posting.objects.get(order=o, kind="payment")


def _refused(action) -> None:
    """``action`` fails in the database and leaves the transaction usable."""
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        action()


def test_entries_cannot_be_updated_or_deleted_through_the_orm():
    entry = _posting().entries.first()
    entry.amount = Decimal("999.00")
    _refused(entry.save)
    _refused(entry.delete)
    _refused(lambda: LedgerEntry.objects.filter(pk=entry.pk).update(amount=1))
    _refused(lambda: LedgerEntry.objects.all().delete())
    assert LedgerEntry.objects.get(pk=entry.pk).amount in (Decimal("12.34"), Decimal("-12.34"))


def test_entries_and_postings_cannot_be_changed_with_raw_sql():
    posting = _posting()
    with connection.cursor() as cursor:
        _refused(lambda: cursor.execute("UPDATE payouts_ledgerentry SET amount = 0"))
        _refused(lambda: cursor.execute("DELETE FROM payouts_ledgerentry"))
        _refused(lambda: cursor.execute("UPDATE payouts_posting SET memo = 'x'"))
        _refused(lambda: cursor.execute("DELETE FROM payouts_posting"))
    assert posting.entries.count() == 2


def test_an_unbalanced_posting_is_refused_before_it_is_written():
    with pytest.raises(UnbalancedPosting):
        post(
            reference="bad",
            kind="payment",
            at=f.T0,
            legs=[
                Leg(Account.BUYER_FUNDS, Decimal("-1.00")),
                Leg(Account.PAID_OUT, Decimal("0.99")),
            ],
        )
    with pytest.raises(UnbalancedPosting):  # balanced in sum, not per currency
        post(
            reference="bad2",
            kind="payment",
            at=f.T0,
            legs=[
                Leg(Account.FX, Decimal("-1.00")),
                Leg(Account.FX, Decimal("1.00"), currency="CNY"),
            ],
        )
    assert not Posting.objects.exists()


def test_posting_a_reference_twice_posts_once():
    legs = [Leg(Account.BUYER_FUNDS, Decimal("-5.00")), Leg(Account.PAID_OUT, Decimal("5.00"))]
    assert post(reference="once", kind="payment", at=f.T0, legs=legs) is not None
    assert post(reference="once", kind="payment", at=f.T0, legs=legs) is None
    assert LedgerEntry.objects.count() == 2


@pytest.mark.postgres
def test_postgres_refuses_an_unbalanced_posting_at_commit():
    posting = _posting()
    with (
        pytest.raises(DatabaseError, match="does not sum to zero"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "INSERT INTO payouts_ledgerentry (posting_id, account, currency, amount, at) "
            "VALUES (%s, 'paid_out', 'USD', 1, now())",
            [posting.pk],
        )
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert posting.entries.count() == 2
