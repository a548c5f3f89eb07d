"""GRAPHQL_INTROSPECTION: who may read the schema through ``__schema``/``__type``."""

import pytest
from django.core.management import call_command
from graphql import get_introspection_query

from accounts.services import api_token_create
from backoffice.composition.schema import schema
from tests import factories as f
from tests.gql import error_codes, gql

SCHEMA = "{ __schema { queryType { name } } }"
TYPE = '{ __type(name: "Order") { fields { name } } }'
VIA_FRAGMENT = "{ ...F } fragment F on Query { __schema { types { name } } }"


@pytest.mark.parametrize("query", [SCHEMA, TYPE, VIA_FRAGMENT, get_introspection_query()])
def test_anonymous_clients_cannot_introspect_by_default(client, query):
    body = gql(client, query)

    assert body.get("data") is None
    assert {code for code, _field in error_codes(body)} == {"permission_denied"}


def test_one_error_per_introspection_field(client):
    body = gql(
        client, '{ __schema { types { name fields { name } } } __type(name: "Order") { name } }'
    )

    assert len(body["errors"]) == 2
    assert "__schema" in body["errors"][0]["message"]


def test_typename_stays_allowed(client):
    assert gql(client, "{ __typename me { username } }") == {
        "data": {"__typename": "Query", "me": None}
    }


def test_a_signed_in_user_may_introspect(client):
    body = gql(client, SCHEMA, user=f.seller(f.store()))

    assert body == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


def test_a_bearer_token_may_introspect(client):
    _token, plaintext = api_token_create(actor=f.staff("support"), name="script")

    body = gql(client, TYPE, token=plaintext)

    assert "orderNumber" in [field["name"] for field in body["data"]["__type"]["fields"]]


def test_never_refuses_even_a_superuser(client, settings):
    settings.GRAPHQL_INTROSPECTION = "never"

    body = gql(client, SCHEMA, user=f.superuser())

    assert error_codes(body) == [("permission_denied", None)]


def test_always_lets_anyone_introspect(client, settings):
    settings.GRAPHQL_INTROSPECTION = "always"

    assert gql(client, SCHEMA) == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


def test_the_schema_run_without_a_request_is_trusted(settings):
    settings.GRAPHQL_INTROSPECTION = "never"

    result = schema.execute_sync(SCHEMA)

    assert result.errors is None
    assert result.data == {"__schema": {"queryType": {"name": "Query"}}}


def test_export_schema_still_works(tmp_path, settings):
    settings.GRAPHQL_INTROSPECTION = "never"
    target = tmp_path / "schema.graphql"

    call_command("export_schema", "--path", str(target))

    assert "type Query" in target.read_text()
