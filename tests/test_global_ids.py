"""Global IDs whose node id is not a primary key written the one canonical way name nothing:
``not_found`` in mutation inputs, ``invalid`` (with the field) in ``node(id:)`` and in ID
filters; never a database message, never another spelling of an existing object."""

import base64

import pytest

from accounts.models import ApiToken
from accounts.services import api_token_create
from orders.models import Order
from tests import factories as f
from tests.gql import codes, error_codes, gid, gql, mutate

ARABIC_INDIC = str.maketrans("0123456789", "".join(chr(0x660 + d) for d in range(10)))
FULLWIDTH = str.maketrans("0123456789", "".join(chr(0xFF10 + d) for d in range(10)))
BOLD = str.maketrans("0123456789", "".join(chr(0x1D7CE + d) for d in range(10)))


def bad_node_ids(pk: int) -> list[str]:
    """Node ids that Python's int() or the database would read as ``pk`` (or as some number),
    and ones out of the bigint range or not numbers at all."""
    digits = str(pk)
    return [
        f" {digits}",
        f"{digits} ",
        f"+{digits}",
        f"0{digits}",
        f"0_{digits}",
        f"{digits}.0",
        digits.translate(ARABIC_INDIC),
        digits.translate(FULLWIDTH),
        digits.translate(BOLD),
        f"-{digits}",
        "abc",
        "1.5",
        str(2**70),
        str(2**63),
        "0",
        "",
        "1e3",
        "0x1",
        "9" * 5000,
    ]


def _gid(type_name: str, node_id: str) -> str:
    return base64.b64encode(f"{type_name}:{node_id}".encode()).decode()


def _bad_ids(type_name: str, pk: int) -> list[str]:
    """Every bad node id under ``type_name``, and IDs that are not global IDs at all."""
    return [_gid(type_name, n) for n in bad_node_ids(pk)] + [
        "not base64!",
        "YWJj",  # base64 of "abc": no type
        _gid("NoSuchType", str(pk)),
        "",
    ]


@pytest.fixture
def paid_order() -> Order:
    return f.order(status="paid")


def test_mutations_refuse_bad_ids_as_not_found_and_change_nothing(client, paid_order):
    admin = f.superuser()

    for bad in _bad_ids("Order", paid_order.pk):
        payload = mutate(
            client, "orderShip", {"id": bad, "carrier": "X", "trackingNumber": "1"}, user=admin
        )

        assert codes(payload) == [("not_found", "id")], bad
    assert Order.objects.get(pk=paid_order.pk).status == "paid"


def test_a_store_id_in_an_input_is_not_found_when_malformed(client):
    admin = f.superuser()
    store = f.store()

    for bad in _bad_ids("SellerAccount", store.pk):
        payload = mutate(
            client,
            "orderCreate",
            {"storeId": bad, "orderNumber": "8100000000000001", "amount": "10.00"},
            user=admin,
        )

        assert codes(payload) == [("not_found", "storeId")], bad
    assert not Order.objects.filter(order_number="8100000000000001").exists()


def test_a_token_id_is_not_found_when_malformed(client):
    seller = f.seller(f.store())
    token, _plaintext = api_token_create(actor=seller, name="laptop")

    for bad in _bad_ids("ApiToken", token.pk):
        payload = mutate(client, "apiTokenRevoke", {"id": bad}, user=seller)

        assert codes(payload) == [("not_found", "id")], bad
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None


def test_the_canonical_id_still_works(client, paid_order):
    admin = f.superuser()

    body = gql(
        client, "query($id: ID!) { node(id: $id) { id } }", {"id": gid(paid_order)}, user=admin
    )

    assert body == {"data": {"node": {"id": _gid("Order", str(paid_order.pk))}}}


@pytest.mark.parametrize("index", range(len(_bad_ids("Order", 1))))
def test_node_refuses_a_bad_id_with_a_code(client, paid_order, index):
    admin = f.superuser()
    bad = _bad_ids("Order", paid_order.pk)[index]

    body = gql(client, "query($id: ID!) { node(id: $id) { id } }", {"id": bad}, user=admin)

    assert body["data"] in ({"node": None}, None)
    assert error_codes(body) == [("invalid", "id")]
    assert "expected a number" not in str(body)


def test_node_of_a_well_formed_id_that_names_nothing_is_null(client):
    admin = f.superuser()

    body = gql(
        client,
        "query($id: ID!) { node(id: $id) { id } }",
        {"id": _gid("Order", str(2**63 - 1))},
        user=admin,
    )

    assert body == {"data": {"node": None}}


FILTERS = [
    ("orders", "store", "SellerAccount"),
    ("disputes", "store", "SellerAccount"),
    ("disputes", "order", "Order"),
    ("payouts", "store", "SellerAccount"),
    ("ledgerEntries", "store", "SellerAccount"),
    ("ledgerEntries", "order", "Order"),
    ("ledgerEntries", "payout", "Payout"),
]


@pytest.mark.parametrize(("connection", "field", "type_name"), FILTERS)
def test_id_filters_refuse_bad_ids_with_the_field(client, connection, field, type_name):
    admin = f.superuser()
    f.order(status="paid")
    query = f"query($id: ID!) {{ {connection}(filters: {{{field}: $id}}) {{ totalCount }} }}"

    for node_id in bad_node_ids(1):
        body = gql(client, query, {"id": _gid(type_name, node_id)}, user=admin)

        assert error_codes(body) == [("invalid", field)], (node_id, body)
    for bad in ("not base64!", "YWJj"):
        body = gql(client, query, {"id": bad}, user=admin)

        assert [code for code, _field in error_codes(body)] == ["invalid"], (bad, body)


@pytest.mark.parametrize(("connection", "field", "type_name"), FILTERS)
def test_id_filters_of_another_type_or_no_object_match_nothing(
    client, connection, field, type_name
):
    admin = f.superuser()
    f.order(status="paid")
    query = f"query($id: ID!) {{ {connection}(filters: {{{field}: $id}}) {{ totalCount }} }}"

    for value in (_gid("Dispute", "1"), _gid("NoSuchType", "1"), _gid(type_name, str(2**63 - 1))):
        body = gql(client, query, {"id": value}, user=admin)

        assert body == {"data": {connection: {"totalCount": 0}}}
