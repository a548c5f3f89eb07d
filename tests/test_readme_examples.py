"""The GraphQL examples of README.md run against the real schema without errors."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from graphql import parse, print_ast

from payouts.services import exchange_rate_set
from tests import factories as f
from tests.gql import gid, gql

README = Path(settings.BASE_DIR, "README.md").read_text()
BLOCKS = re.findall(r"```graphql\n(.*?)```", README, flags=re.S)
OPERATIONS = [print_ast(op) for block in BLOCKS for op in parse(block).definitions]


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.split("(")[0][:40])
def test_readme_example_runs(client, operation):
    order = f.order(status="paid")
    exchange_rate_set(actor=None, day=f.T0.date(), rate="7.18")
    # the README's placeholder ids stand for "an order" and "a store"
    query = operation.replace("T3JkZXI6MQ==", gid(order)).replace(
        "U2VsbGVyQWNjb3VudDox", gid(order.store)
    )
    body = gql(client, query, user=f.superuser())
    assert "errors" not in body, body["errors"]
    assert body["data"]


def test_readme_has_examples():
    assert len(OPERATIONS) >= 6
