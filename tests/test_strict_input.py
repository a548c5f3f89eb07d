"""Strict input: numbers and texts a hostile client sends are refused with ``invalid`` naming the
field, through GraphQL, the admin and imports; and no value the inputs accept can make a later
read fail (the widest accepted values, then every admin page and GraphQL field)."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.conf import settings
from django.contrib import admin
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DataError, IntegrityError, connection, transaction
from django.test import Client
from django.urls import reverse
from graphql import GraphQLObjectType, get_named_type, is_leaf_type, is_required_argument

from accounts.models import SellerAccount
from backoffice import clock
from backoffice.composition.schema import schema
from disputes.models import Dispute
from disputes.services import dispute_respond
from orders.models import Order
from payouts.models import ExchangeRate, PromotionWallet
from payouts.promotion import (
    promotion_adjust,
    promotion_charge,
    promotion_set_threshold,
    promotion_top_up,
)
from payouts.services import early_payout_set, exchange_rate_set, payout_request
from tests import factories as f
from tests.gql import codes, error_codes, gid, gql, mutate
from tests.imports.helpers import order_row, write_orders

MAX = Decimal("10000000.00")  # settings.MONEY_MAX_AMOUNT's default

# Each malformed number, as JSON gives it: refused by the Decimal scalar before any service.
MALFORMED = [
    "1e5",  # exponent
    "1E+30",
    "1_000",  # underscore
    "\u0661\u0662",  # Arabic-Indic digits
    "\uff11\uff12",  # full-width digits
    " 12",  # padding
    "12 ",
    "12\n",
    "+12",  # a leading plus sign is not accepted
    "NaN",
    "Infinity",
    "-Infinity",
    "12.",
    ".5",
    "1,000",
    "",
    "1" * 40,  # longer than any number
    12.5,  # a JSON float is not exact
    True,
]


def threshold_input(store: SellerAccount, value: object) -> dict:
    return {"id": gid(store), "threshold": value}


# --- GraphQL ---


@pytest.mark.parametrize("value", MALFORMED)
def test_a_malformed_number_is_invalid_naming_the_field(client, value):
    store = f.store()

    body = gql(
        client,
        "mutation($input: PromotionSetThresholdInput!) { promotionSetThreshold(input: $input) "
        "{ __typename } }",
        {"input": threshold_input(store, value)},
        user=f.superuser(),
    )

    assert error_codes(body) == [("invalid", "threshold")]
    assert not PromotionWallet.objects.exists()


@pytest.mark.parametrize("literal", ["1e5", "12.5", '"1_000"', '"\uff11\uff12"', '"NaN"'])
def test_a_malformed_literal_is_invalid_naming_the_field(client, literal):
    store = f.store()

    body = gql(
        client,
        f'mutation {{ promotionSetThreshold(input: {{id: "{gid(store)}", threshold: {literal}}}) '
        "{ __typename } }",
        user=f.superuser(),
    )

    assert error_codes(body) == [("invalid", "threshold")]


def test_integers_are_numbers(client):
    store = f.store()

    payload = mutate(
        client, "promotionSetThreshold", threshold_input(store, 12), user=f.superuser()
    )

    assert payload["__typename"] == "SellerAccount"
    assert PromotionWallet.objects.get(store=store).low_balance_threshold == Decimal("12.00")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("12.345", "At most 2 decimals."),
        ("10000000.01", "The amount must be at most 10,000,000.00."),
        ("99999999999999999999999", "The amount must be at most 10,000,000.00."),
        ("-1", "The amount must not be negative."),
    ],
)
def test_an_amount_out_of_bounds_is_invalid_naming_the_field(client, value, message):
    store = f.store()

    payload = mutate(
        client, "promotionSetThreshold", threshold_input(store, value), user=f.superuser()
    )

    assert codes(payload) == [("invalid", "threshold")]
    assert payload["messages"][0]["message"] == message
    assert not PromotionWallet.objects.exists()


def test_the_amount_bound_is_a_setting(client, settings):
    settings.MONEY_MAX_AMOUNT = Decimal("500.00")
    store = f.store()

    refused = mutate(
        client, "promotionSetThreshold", threshold_input(store, "500.01"), user=f.superuser()
    )
    taken = mutate(
        client, "promotionSetThreshold", threshold_input(store, "500.00"), user=f.superuser()
    )

    assert codes(refused) == [("invalid", "threshold")]
    assert taken["__typename"] == "SellerAccount"


@pytest.mark.parametrize("rate", ["12345678.5", "4.999999", "10.000001", "0", "-7", "7.1234567"])
def test_an_exchange_rate_outside_the_band_or_scale_is_invalid(client, rate):
    finance = f.staff("finance")

    payload = mutate(client, "exchangeRateSet", {"date": "2026-03-01", "rate": rate}, user=finance)

    assert codes(payload) == [("invalid", "rate")]
    assert not ExchangeRate.objects.exists()


def test_the_hostile_rate_of_the_issue_is_refused_and_reads_keep_working(client):
    """An exchange rate beyond its column (12 digits, 6 decimals) was stored on SQLite and then
    broke every read of it; now it is refused, and the rates list reads."""
    finance = f.staff("finance")
    mutate(client, "exchangeRateSet", {"date": "2026-03-02", "rate": "7.18"}, user=finance)

    payload = mutate(
        client, "exchangeRateSet", {"date": "2026-03-01", "rate": "12345678.5"}, user=finance
    )
    body = gql(client, "{ exchangeRates(first: 5) { edges { node { rateToCny } } } }", user=finance)

    assert codes(payload) == [("invalid", "rate")]
    assert body == {"data": {"exchangeRates": {"edges": [{"node": {"rateToCny": "7.180000"}}]}}}
    assert client.get(reverse("admin:payouts_exchangerate_changelist")).status_code == 200


@pytest.mark.parametrize("band", [("6", "8")])
def test_the_rate_band_is_a_setting(client, settings, band):
    settings.EXCHANGE_RATE_MIN, settings.EXCHANGE_RATE_MAX = map(Decimal, band)
    finance = f.staff("finance")

    low = mutate(client, "exchangeRateSet", {"date": "2026-03-01", "rate": "5.99"}, user=finance)
    ok = mutate(client, "exchangeRateSet", {"date": "2026-03-01", "rate": "8"}, user=finance)

    assert codes(low) == [("invalid", "rate")]
    assert ok["rateToCny"] == "8.000000"


@pytest.mark.parametrize("rate", ["1", "1.00001", "-0.1"])
def test_a_reserve_rate_is_a_fraction(client, rate):
    store = f.store()

    payload = gql(
        client,
        "mutation($input: EarlyPayoutSetInput!) { earlyPayoutSet(input: $input) { __typename "
        "... on OperationInfo { messages { code field } } } }",
        {"input": {"id": gid(store), "eligible": True, "reserveRate": rate}},
        user=f.superuser(),
    )["data"]["earlyPayoutSet"]

    assert codes(payload) == [("invalid", "reserveRate")]


# --- text ---


def test_a_text_longer_than_its_column_is_invalid_naming_the_field(client):
    store = f.store()
    order = {
        "storeId": gid(store),
        "orderNumber": "8100000000000777",
        "amount": "10.00",
    }

    long_name = mutate(client, "orderCreate", {**order, "buyerName": "x" * 201}, user=f.superuser())
    long_info = mutate(
        client,
        "orderCreate",
        {**order, "productInfo": "x" * (settings.TEXT_MAX_CHARS + 1)},
        user=f.superuser(),
    )
    widest = mutate(
        client,
        "orderCreate",
        {**order, "buyerName": "x" * 200, "productInfo": "y" * settings.TEXT_MAX_CHARS},
        user=f.superuser(),
    )

    assert codes(long_name) == [("invalid", "buyerName")]
    assert codes(long_info) == [("invalid", "productInfo")]
    assert widest["__typename"] == "Order"
    assert Order.objects.get().buyer_name == "x" * 200


def test_a_long_note_is_invalid_and_nothing_moves(client):
    order = f.order(status="paid")

    payload = mutate(
        client,
        "orderShip",
        {
            "id": gid(order),
            "carrier": "Cainiao",
            "trackingNumber": "LP1",
            "note": "n" * (settings.TEXT_MAX_CHARS + 1),
        },
        user=f.superuser(),
    )

    assert codes(payload) == [("invalid", "note")]
    assert Order.objects.get(pk=order.pk).status == "paid"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("carrier", "Cai\x00niao"),
        ("carrier", "Cai\nniao"),
        ("trackingNumber", "LP\x1b[31m1"),
        ("trackingNumber", "LP\u20281"),
        ("note", "ok\x00"),
        ("note", "ok\x7f"),
    ],
)
def test_control_characters_are_invalid_naming_the_field(client, field, value):
    order = f.order(status="paid")
    given = {"id": gid(order), "carrier": "Cainiao", "trackingNumber": "LP1", field: value}

    payload = mutate(client, "orderShip", given, user=f.superuser())

    assert codes(payload) == [("invalid", field)]
    assert Order.objects.get(pk=order.pk).status == "paid"


def test_notes_keep_their_lines_and_tabs(client):
    order = f.order(status="paid")
    given = {"id": gid(order), "carrier": "C", "trackingNumber": "LP1", "note": "a\r\n\tb"}

    payload = mutate(client, "orderShip", given, user=f.superuser())

    assert payload["history"][-1]["note"] == "a\r\n\tb"


def test_a_store_name_past_its_column_is_invalid(client):
    payload = mutate(
        client, "sellerAccountCreate", {"storeId": "123", "name": "s" * 201}, user=f.superuser()
    )

    assert codes(payload) == [("invalid", "name")]
    assert not SellerAccount.objects.exists()


def test_an_order_number_of_other_digits_is_invalid(client):
    store = f.store()

    payload = mutate(
        client,
        "orderCreate",
        {"storeId": gid(store), "orderNumber": "\u0661\u0662\u0663", "amount": "1.00"},
        user=f.superuser(),
    )

    assert codes(payload) == [("invalid", "orderNumber")]


# --- admin ---


@pytest.mark.parametrize("value", ["1e5", "1_000", "\u0661", "\uff17", " 7.18", "NaN", "+7"])
def test_the_admin_refuses_a_malformed_rate_on_its_field(value):
    client = Client()
    client.force_login(f.staff("finance"))

    response = client.post(
        reverse("admin:payouts_exchangerate_add"), {"day": "2026-03-01", "rate": value}
    )

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["rate"]
    assert not ExchangeRate.objects.exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("12345678.5", "The rate must be from 5 to 10 CNY per USD."),
        ("7.1234567", "At most 6 decimals."),
    ],
)
def test_the_admin_refuses_a_rate_out_of_band_on_its_field(value, message):
    client = Client()
    client.force_login(f.staff("finance"))

    response = client.post(
        reverse("admin:payouts_exchangerate_add"), {"day": "2026-03-01", "rate": value}
    )

    assert response.context["form"].errors == {"rate": [message]}
    assert not ExchangeRate.objects.exists()


@pytest.mark.parametrize("value", ["1_000", "1e3", "\uff11\uff10", "10000000.01"])
def test_the_admin_refuses_a_malformed_or_huge_threshold(value):
    store = f.store()
    client = Client()
    client.force_login(f.superuser())

    response = client.post(
        reverse("admin:payouts_promotionwallet_add"), {"store": store.pk, "threshold": value}
    )

    assert response.status_code == 200
    assert not PromotionWallet.objects.exists()


# --- imports ---


def _import_rates(tmp_path, rate: str) -> tuple[str, CommandError]:
    path = tmp_path / "rates.csv"
    path.write_text(f"Date,Currency,Rate to CNY\n2026-03-01,USD,7.18\n2026-03-02,USD,{rate}\n")
    out = StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("import_platform_export", str(path), stdout=out, stderr=StringIO())
    return out.getvalue(), exc.value


@pytest.mark.parametrize(
    ("rate", "message"),
    [
        ("12345678.5", "rate must be from 5 to 10 (CNY per USD)"),
        ("1e5", "not a rate"),
        ("1_000", "not a rate"),
        ("\u0667.18", "digits other than ASCII 0-9"),
        ("\uff17.18", "digits other than ASCII 0-9"),
        ("NaN", "not a rate"),
        ("7.1234567", "more than 6 decimals"),
    ],
)
def test_an_import_names_the_line_and_column_of_a_bad_rate(tmp_path, rate, message):
    out, exc = _import_rates(tmp_path, rate)

    assert f"line 3: Rate to CNY: {message}" in out.splitlines()
    assert exc.returncode == 1
    assert not ExchangeRate.objects.exists()


def test_an_import_refuses_an_amount_past_the_bound(tmp_path):
    path = write_orders(
        tmp_path,
        [
            order_row("8100000000000001", Order_Amount="US $10,000,000.01"),
            order_row("8100000000000002", Order_Amount="$\uff11\uff12"),
        ],
    )
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("import_platform_export", str(path), stdout=out, stderr=StringIO())

    lines = out.getvalue().splitlines()
    assert "line 2: Order Amount: more than the largest amount, 10,000,000.00" in lines
    assert "line 3: Order Amount: digits other than ASCII 0-9" in lines
    assert not Order.objects.exists()


# --- the database's backstop ---


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("payouts_exchangerate", "rate_to_cny", "1000000"),
        ("orders_order", "amount", "1000000000000"),
        ("payouts_promotionwallet", "low_balance_threshold", "-1"),
    ],
)
def test_the_database_refuses_a_value_its_column_cannot_read_back(table, column, value):
    f.order()
    exchange_rate_set(actor=None, day=f.T0.date(), rate="7.18")
    promotion_set_threshold(store_id=SellerAccount.objects.get().pk, actor=None, threshold="1")

    # SQLite: the CHECK (IntegrityError); PostgreSQL's numeric type overflows first (DataError).
    refused = (IntegrityError, DataError)
    with pytest.raises(refused), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {column} = %s", [Decimal(value)])


# --- the widest accepted values, then every read ---


def _widest_values() -> SellerAccount:
    """Every money and rate field at the edge of what input accepts, through the services."""
    now = clock.now()
    store = f.store(name="W" * 200)
    exchange_rate_set(actor=None, day=now.date(), rate=settings.EXCHANGE_RATE_MAX)
    exchange_rate_set(
        actor=None, day=(now - timedelta(days=1)).date(), rate=settings.EXCHANGE_RATE_MIN
    )
    big = dict(product_total=MAX, shipping_cost=0, product_info="i" * settings.TEXT_MAX_CHARS)
    f.order(store, status="completed", amount=str(MAX), at=now - timedelta(days=20), **big)
    # the amount is the product total plus shipping: each part at its widest on its own order
    f.order(store, amount=str(MAX), at=now - timedelta(days=20), product_total=0, shipping_cost=MAX)
    f.order(store, status="completed", amount="0.01", at=now - timedelta(days=20))
    disputed = f.order(store, status="shipped", amount=str(MAX), at=now - timedelta(days=5))
    dispute = f.dispute(disputed, at=now - timedelta(days=1))
    dispute_respond(dispute_id=dispute.pk, actor=None, action="accept", note="n" * 5000)
    early_payout_set(
        store_id=store.pk, actor=None, eligible=True, reserve_rate="0.9999", reason="r" * 300
    )
    payout_request(store_id=store.pk, actor=None, amount=MAX, currency="CNY")
    promotion_top_up(store_id=store.pk, actor=None, amount=MAX, method="alipay")
    promotion_charge(store_id=store.pk, actor=None, amount=MAX, reference="c" * 100)
    promotion_charge(store_id=store.pk, actor=None, amount=MAX, reference="d" * 100)
    promotion_adjust(store_id=store.pk, actor=None, amount=-MAX, note="a" * 300)
    promotion_adjust(store_id=store.pk, actor=None, amount=MAX, note="b" * 300)
    promotion_set_threshold(store_id=store.pk, actor=None, threshold=MAX)
    return store


def _scalar_selection(type_: object, depth: int) -> str:
    """Every field of ``type_`` that needs no argument: scalars and enums, and the scalars of
    the objects under it down to ``depth``."""
    picked = []
    for name, field in type_.fields.items():  # type: ignore[attr-defined]
        if any(is_required_argument(arg) for arg in field.args.values()):
            continue
        named = get_named_type(field.type)
        if is_leaf_type(named):
            picked.append(name)
        elif isinstance(named, GraphQLObjectType) and depth > 0 and "edges" not in named.fields:
            inner = _scalar_selection(named, depth - 1)
            if inner:
                picked.append(f"{name} {{ {inner} }}")
    return " ".join(picked)


CONNECTIONS = ["sellerAccounts", "orders", "disputes", "payouts", "ledgerEntries", "exchangeRates"]


def test_the_widest_values_read_everywhere(client):
    _widest_values()
    root = schema._schema.query_type
    superuser = f.superuser()

    for name in CONNECTIONS:
        connection_type = get_named_type(root.fields[name].type)
        node = get_named_type(
            get_named_type(connection_type.fields["edges"].type).fields["node"].type
        )
        selection = _scalar_selection(node, 2)
        query = f"{{ {name}(first: 100) {{ totalCount edges {{ node {{ {selection} }} }} }} }}"
        body = gql(client, query, user=superuser)
        assert "errors" not in body, (name, body["errors"])
        assert body["data"][name]["totalCount"] > 0, name

    client = Client()
    client.force_login(superuser)
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        changelist = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        assert changelist.status_code == 200, opts.label
        obj = model_admin.get_queryset(changelist.wsgi_request).order_by("-pk").first()
        if obj is not None:
            page = client.get(
                reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
            )
            assert page.status_code == 200, opts.label
    assert Dispute.objects.get().status == "resolved"


@pytest.mark.parametrize(
    ("cells", "error"),
    [
        ({"Buyer_Name": "x" * 201}, "line 2: Buyer Name: At most 200 characters (201 given)."),
        (
            {"Product_Info": "a\x07b"},
            "line 2: Product Info: Control characters other than newlines and tabs are not "
            "allowed here.",
        ),
    ],
)
def test_an_import_names_the_line_and_column_of_a_bad_text(tmp_path, cells, error):
    path = write_orders(tmp_path, [order_row("8100000000000001", **cells)])
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("import_platform_export", str(path), stdout=out, stderr=StringIO())

    assert error in out.getvalue().splitlines()
    assert not Order.objects.exists()
