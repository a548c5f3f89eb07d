"""An import writes, in bulk per batch, exactly the rows the services write one by one: the same
audit rows, events (payloads included, key by key), postings, ledger entries and running totals.
The import runs in batches of 3 rows (several flushes, running totals moved batch after batch);
the same orders are then made by the public services, one call each, and the two sets of rows
are compared after naming every id by what it stands for (an order by its number, a posting by
its reference)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction

from backoffice.composition.imports import runner
from backoffice.composition.imports.runner import import_export
from backoffice.models import Event, WebhookEndpoint
from backoffice.unit_of_work import unit_of_work
from orders.models import Order, OrderTransition
from orders.services import (
    apply_confirm,
    order_cancel,
    order_confirm_receipt,
    order_create,
    order_mark_paid,
    order_ship,
)
from payouts import ledger
from payouts.checks import check_ledger
from payouts.ledger import store_balances
from payouts.models import Account, DailyBalance, LedgerEntry, Posting, Refund
from tests import factories as f

from .helpers import order_row, write_orders

PLATFORM = ZoneInfo("America/Los_Angeles")  # the platform's time (no offset in the file)
STORES = ("7000001", "7000002")
STAGES = ("unpaid", "paid", "shipped", "completed", "refunded", "cancelled")
ORDERED, PAID, SHIPPED, CONFIRMED = (
    "2026-03-01 10:00:00",
    "2026-03-02 10:00:00",
    "2026-03-04 10:00:00",
    "2026-03-20 10:00:00",
)


def at(text: str) -> datetime:
    """A time of the file as the importer reads it (in UTC)."""
    return datetime.fromisoformat(text).replace(tzinfo=PLATFORM).astimezone(UTC)


def orders() -> list[tuple[str, str, str, str]]:
    """(number, stage, store, amount) of the file's orders: every stage in both stores."""
    return [
        (str(8_000_000_000_000_100 + i), stage, STORES[i % 2], f"{10 + 7 * i}.{i:02d}")
        for i, stage in enumerate(STAGES * 2)
    ]


def by_services(actor: Any, stores: dict[str, int]) -> None:
    """The file's orders made one by one by the public services, at the file's times."""
    for number, stage, store, amount in orders():
        order = order_create(
            actor=actor,
            store_id=stores[store],
            order_number=number,
            amount=amount,
            buyer_name="Ana Souza",
            buyer_country="BR",
            placed_at=at(ORDERED),
        )
        if stage == "cancelled":
            order_cancel(
                order_id=order.pk,
                actor=actor,
                reason="buyer_cancel",
                note="platform end reason: buyer_cancel",
                at=at(ORDERED),
            )
            continue
        if stage == "unpaid":
            continue
        order_mark_paid(order_id=order.pk, actor=actor, payment_method="credit_card", at=at(PAID))
        if stage == "refunded":
            order_cancel(
                order_id=order.pk,
                actor=actor,
                reason="refunded",
                note="platform end reason: refunded",
                at=at(PAID),
            )
            continue
        if stage == "paid":
            continue
        order_ship(
            order_id=order.pk,
            actor=actor,
            carrier="Cainiao",
            tracking_number="LP00123456789CN",
            at=at(SHIPPED),
        )
        if stage == "completed":
            order_confirm_receipt(order_id=order.pk, actor=actor, at=at(CONFIRMED))


def by_import(actor: Any, tmp_path) -> None:
    rows = [
        order_row(number, stage, Store_ID=store, Order_Amount=f"US ${amount}")
        for number, stage, store, amount in orders()
    ]
    report = import_export(write_orders(tmp_path, rows), actor=actor, batch_size=3)
    assert report.landed, report.error_lines()


class Names:
    """Each id named by what it stands for, so that two runs compare whatever ids they took."""

    def __init__(self) -> None:
        self.orders = dict(Order.objects.values_list("pk", "order_number"))
        self.stores = dict(f.SellerAccount.objects.values_list("pk", "platform_store_id"))
        self.postings = dict(Posting.objects.values_list("pk", "reference"))
        self.refunds = {  # a refund by its order and place among the order's refunds
            pk: f"{self.orders[order]}/{n}"
            for n, (pk, order) in enumerate(
                Refund.objects.order_by("pk").values_list("pk", "order")
            )
        }

    def reference(self, reference: str) -> str:
        kind, *rest = reference.split(":")
        if kind in ("order", "refund") and rest and rest[0].isdigit():
            rest[0] = (self.orders if kind == "order" else self.refunds)[int(rest[0])]
        return ":".join([kind, *rest])

    def value(self, key: str, value: Any) -> Any:
        names = {"order_id": self.orders, "store_id": self.stores, "refund_id": self.refunds}.get(
            key
        )
        if names is not None and value is not None:
            return names[value]
        return self.reference(value) if key == "reference" else value

    def payload(self, event: Event) -> list[tuple[str, Any]]:
        """The payload's items in their order, ids named; a posting's legs too."""
        ids = {"order": self.orders, "posting": self.postings}[event.object_type]
        items = []
        for key, value in event.payload.items():
            if key == "id":
                value = ids[value] if event.object_type == "order" else self.reference(ids[value])
            elif key == "legs":
                value = [[(k, self.value(k, v)) for k, v in leg.items()] for leg in value]
            else:
                value = self.value(key, value)
            items.append((key, value))
        return items


def written() -> dict[str, list[Any]]:
    """Every audit row, event, posting, ledger entry and running total of the orders, ids named."""
    names = Names()
    events = [
        (
            event.type,
            event.object_type,
            names.value("store_id", event.store_id),
            event.occurred_at,
            names.payload(event),
        )
        for event in Event.objects.exclude(object_type="store")
    ]
    audit = OrderTransition.objects.values_list(
        "order_id", "transition", "source", "target", "actor_id", "note", "at"
    )
    postings = Posting.objects.values_list(
        "reference", "kind", "memo", "at", "actor_id", "order_id", "store_id", "refund_id"
    )
    entries = LedgerEntry.objects.values_list(
        "posting__reference", "account", "currency", "amount", "at", "store_id", "order_id"
    )
    balances = DailyBalance.objects.values_list("store_id", "account", "currency", "day", "balance")
    return {
        "audit": sorted((names.orders[o], *rest) for o, *rest in audit),
        "events": sorted(events, key=repr),
        "postings": sorted(
            (
                names.reference(ref),
                kind,
                memo,
                when,
                actor,
                names.value("order_id", order),
                names.value("store_id", store),
                names.value("refund_id", refund),
            )
            for ref, kind, memo, when, actor, order, store, refund in postings
        ),
        "entries": sorted(
            (
                names.reference(ref),
                account,
                currency,
                Decimal(amount),
                when,
                names.value("store_id", store),
                names.value("order_id", order),
            )
            for ref, account, currency, amount, when, store, order in entries
        ),
        "balances": sorted((names.stores[store], *rest) for store, *rest in balances),
        "deliveries": sorted(
            (event.type, names.payload(event))
            for event in Event.objects.filter(deliveries__isnull=False).exclude(object_type="store")
        ),
    }


def run_and_take_back(make) -> dict[str, list[Any]]:
    """What ``make()`` wrote, then taken back (so the other run starts from the same rows)."""
    with transaction.atomic():
        make()
        rows = written()
        problems = {name: found for name, found in check_ledger().items() if found}
        transaction.set_rollback(True)
    assert problems == {}
    return rows


@pytest.mark.parametrize("with_endpoint", [False, True], ids=["no-webhook", "webhook"])
def test_an_import_writes_the_same_rows_as_the_services_one_by_one(tmp_path, with_endpoint):
    # given two stores, an importing admin and (or not) a webhook endpoint listening
    actor = f.superuser()
    stores = {pid: f.store(platform_store_id=pid, name="Test Store").pk for pid in STORES}
    if with_endpoint:
        WebhookEndpoint.objects.create(url="http://127.0.0.1:9/hook")

    # when the file is imported in batches of 3, and the same orders are made by the services
    imported = run_and_take_back(lambda: by_import(actor, tmp_path))
    one_by_one = run_and_take_back(lambda: by_services(actor, stores))

    # then every row is the same: audit rows, events and payloads, postings, entries, totals
    assert len(imported["audit"]) == 2 * (0 + 1 + 2 + 3 + 2 + 1)
    assert len(imported["events"]) > len(imported["audit"])
    assert len(imported["deliveries"]) == (len(imported["events"]) if with_endpoint else 0)
    for table in ("audit", "events", "postings", "entries", "balances", "deliveries"):
        assert imported[table] == one_by_one[table], table


def test_an_imports_event_payload_is_the_text_the_json_field_writes(tmp_path):
    # given an imported paid order (its events written in bulk)
    by_import(f.superuser(), tmp_path)
    # then each event's stored text is what Django's JSONField writes for its payload
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, payload FROM {Event._meta.db_table}")
        stored = dict(cursor.fetchall())
    field = Event._meta.get_field("payload")
    for event in Event.objects.all():
        text = stored[event.pk]
        expected = field.get_db_prep_save(event.payload, connection)
        if connection.vendor == "sqlite":
            assert text == expected
        else:
            assert field.from_db_value(text, None, connection) == event.payload


def _page_cache() -> int | None:
    if connection.vendor != "sqlite":  # PostgreSQL has no such setting: nothing changes
        return None
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        return cursor.fetchone()[0]


@pytest.mark.parametrize("amount", ["12.00", "12.001"], ids=["landed", "rejected"])
def test_sqlites_page_cache_is_larger_while_an_import_runs_and_as_before_after(tmp_path, amount):
    before, during = _page_cache(), []
    path = write_orders(tmp_path, [order_row("8000000000000001", "paid", Order_Amount=amount)])

    report = import_export(path, progress=lambda done: during.append(_page_cache()))

    assert report.landed == (amount == "12.00")
    larger = -runner.IMPORT_SQLITE_CACHE_KIB if connection.vendor == "sqlite" else None
    assert during == [larger]
    assert _page_cache() == before


def test_running_totals_an_import_holds_are_written_before_a_read_needs_them():
    # given a shipped order (paid, in escrow) and a batch that holds its running totals
    order = f.order(status="shipped")
    available = {"store_id": order.store_id, "account": Account.AVAILABLE}
    with transaction.atomic(), unit_of_work():
        money = ledger.current()
        money.hold_totals()
        # when the order is confirmed (escrow released to the store) and the batch flushed
        apply_confirm(order, actor=None, at=order.shipped_at + timedelta(days=10))
        money.flush()
        # then the entries are written, the running totals not yet
        assert LedgerEntry.objects.filter(order=order, account=Account.AVAILABLE).exists()
        assert not DailyBalance.objects.filter(**available).exists()
        # and a read of the database writes them first
        assert store_balances(order.store_id)[Account.AVAILABLE] == order.amount
        assert DailyBalance.objects.filter(**available).exists()
    assert {name: found for name, found in check_ledger().items() if found} == {}
