"""The apps' GraphQL modules refer to each other's types lazily (``strawberry.lazy``, or a
dotted path in ``GlobalId``): none imports another app's ``schema`` module when it loads, so
there is no import cycle to work around. Embedded money fields come from
``payouts.schema_types``, which imports no app schema either."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = [
    "accounts/schema.py",
    "orders/schema.py",
    "disputes/schema.py",
    "payouts/schema.py",
    "payouts/schema_types.py",
    "backoffice/composition/webhooks_schema.py",
]
APP_SCHEMAS = {"accounts.schema", "orders.schema", "disputes.schema", "payouts.schema"}


def _runtime_imports(path: Path) -> set[str]:
    """Modules imported at module level, leaving out ``if TYPE_CHECKING:`` blocks."""
    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("module", SCHEMAS)
def test_no_graphql_module_imports_another_apps_schema(module):
    own = module.removesuffix(".py").replace("/", ".")
    assert _runtime_imports(ROOT / module) & (APP_SCHEMAS - {own}) == set()
