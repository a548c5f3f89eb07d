"""The schema as a whole: the committed SDL, and limits on what one request may ask."""

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from tests import factories as f
from tests.gql import error_codes, gql


def test_schema_graphql_is_up_to_date():
    call_command("export_schema", "--check")  # raises CommandError when stale


def test_export_schema_check_fails_on_a_stale_file(tmp_path):
    stale = tmp_path / "schema.graphql"
    stale.write_text("type Query { ping: String }\n")

    with pytest.raises(CommandError, match="out of date"):
        call_command("export_schema", "--check", "--path", str(stale))


def test_a_query_deeper_than_the_limit_is_refused(client):
    deep = "store { id }"
    for _ in range(4):  # orders -> reminders -> order -> reminders ...: 3 levels each
        deep = f"paymentReminders {{ edges {{ node {{ order {{ {deep} }} }} }} }}"
    query = f"{{ orders {{ edges {{ node {{ {deep} }} }} }} }}"

    body = gql(client, query, user=f.superuser())

    assert "exceeds maximum operation depth" in body["errors"][0]["message"]
    assert error_codes(body)[0][0] == "invalid"
    assert body.get("data") is None


def test_too_many_aliases_are_refused(client):
    aliases = " ".join(f"a{i}: me {{ username }}" for i in range(settings.GRAPHQL_MAX_ALIASES + 1))

    body = gql(client, f"{{ {aliases} }}", user=f.superuser())

    assert error_codes(body)[0][0] == "invalid"
    assert body.get("data") is None


def test_too_many_tokens_are_refused(client):
    fields = " ".join(["__typename"] * settings.GRAPHQL_MAX_TOKENS)

    body = gql(client, f"{{ {fields} }}", user=f.superuser())

    assert error_codes(body)[0][0] == "invalid"
    assert body.get("data") is None


def test_a_malformed_node_id_is_invalid_id(client):
    body = gql(client, '{ node(id: "not-an-id") { id } }', user=f.superuser())

    assert error_codes(body) == [("invalid", "id")]


def test_a_missing_required_input_field_is_invalid_with_the_field(client):
    query = "mutation($input: OrderCreateInput!) { orderCreate(input: $input) { __typename } }"
    variables = {"input": {"storeId": "x", "orderNumber": "1"}}

    body = gql(client, query, variables, user=f.superuser())

    assert error_codes(body) == [("invalid", "amount")]
