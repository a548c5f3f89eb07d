"""The layers (README "Layout"), checked on the source: the kernel imports no app, no app imports
the composition root, and an app writes another app's models only through that app's services.

What counts, precisely:

- **kernel**: every module under ``backoffice/`` (migrations included) imports none of
  ``accounts``, ``orders``, ``payouts``, ``disputes``, ``composition``, at module level or inside
  a function. String references Django resolves lazily (``"accounts.SellerAccount"`` in a
  ForeignKey, ``"payouts.view_payout"`` permissions) are not imports and are allowed.
- **apps**: no module of an app imports ``composition``.
- **writes across apps**: in app A, a name imported from ``<B>.models`` (B another app) may be
  read, queried, used in type hints and isinstance checks, but is never the root of a write:
  ``Other.objects.create/update/delete/bulk_*/get_or_create/update_or_create(...)``, the same
  after any chain of queryset calls (``Other.objects.filter(...).update(...)``),
  ``Other(...).save()``, nor ``x.save()``/``x.delete()`` on a variable assigned from such a
  chain or from ``lock(Other, ...)`` in the same function. A write to B's rows goes through B's
  services (which lock, check and audit).
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "orders", "payouts", "disputes")
KERNEL, COMPOSITION = "backoffice", "backoffice.composition"
WRITES = {
    "create",
    "update",
    "delete",
    "save",
    "bulk_create",
    "bulk_update",
    "get_or_create",
    "update_or_create",
}


def modules(package: str, *, migrations: bool = True) -> list[Path]:
    """The files of a package; the kernel's are backoffice/ without its composition/ root."""
    root = ROOT / package
    return sorted(
        path
        for path in root.rglob("*.py")
        if (migrations or "migrations" not in path.parts)
        and not (package == KERNEL and path.relative_to(root).parts[0] == "composition")
    )


def imported(tree: ast.AST) -> list[tuple[int, str]]:
    """Every module an import statement names, with its line (any depth in the file)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def imports_of(path: Path, packages: tuple[str, ...]) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    return [
        f"{path.relative_to(ROOT)}:{line}: imports {name}"
        for line, name in imported(tree)
        if any(name == package or name.startswith(package + ".") for package in packages)
    ]


def _root(node: ast.AST) -> ast.AST:
    """The name a chain of attributes, calls and subscripts starts from."""
    while isinstance(node, ast.Attribute | ast.Call | ast.Subscript):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node


def _foreign_root(node: ast.AST, foreign: dict[str, str]) -> str | None:
    """The other app's model a value comes from: a chain rooted at it, or ``lock(Model, ...)``."""
    root = _root(node)
    if isinstance(root, ast.Name) and root.id in foreign:
        return root.id
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "lock"
        and node.args
        and isinstance(node.args[0], ast.Name)
        and node.args[0].id in foreign
    ):
        return node.args[0].id
    return None


def cross_app_writes(source: str, app: str, where: str = "<source>") -> list[str]:
    """Writes in ``source`` (a module of ``app``) to another app's models (see the docstring)."""
    tree = ast.parse(source, where)
    foreign: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.endswith(".models"):
            other = node.module.split(".")[0]
            if other in APPS and other != app:
                foreign.update({alias.asname or alias.name: other for alias in node.names})
    if not foreign:
        return []
    found = []
    scopes = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    for scope in [tree, *scopes]:
        instances: dict[str, str] = {}
        for node in ast.walk(scope):
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                model = _foreign_root(node.value, foreign)
                if isinstance(target, ast.Name) and model:
                    instances[target.id] = model
        for node in ast.walk(scope):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr not in WRITES:
                continue
            root = _root(node.func.value)
            model = root.id if isinstance(root, ast.Name) else None
            model = model if model in foreign else instances.get(model or "")
            if model:
                found.append(
                    f"{where}:{node.lineno}: .{node.func.attr}() on {model} "
                    f"({foreign[model]}.models): write it through {foreign[model]}'s services"
                )
    return sorted(set(found))


def test_the_kernel_imports_no_app():
    found = [line for path in modules(KERNEL) for line in imports_of(path, (*APPS, COMPOSITION))]
    assert found == []


@pytest.mark.parametrize("app", APPS)
def test_no_app_imports_the_composition_root(app):
    found = [line for path in modules(app) for line in imports_of(path, (COMPOSITION,))]
    assert found == []


@pytest.mark.parametrize("app", APPS)
def test_an_app_writes_another_apps_models_only_through_its_services(app):
    found = [
        line
        for path in modules(app, migrations=False)
        for line in cross_app_writes(path.read_text(), app, str(path.relative_to(ROOT)))
    ]
    assert found == []


@pytest.mark.parametrize(
    "body",
    [
        "Order.objects.create(number='1')",
        "Order.objects.filter(pk=1).update(status='paid')",
        "Order.objects.select_for_update().get(pk=1).save()",
        "order = lock(Order, 1)\n    order.status = 'paid'\n    order.save()",
        "order = Order.objects.get(pk=1)\n    order.delete()",
        "Order(number='1').save()",
    ],
)
def test_the_write_check_sees_a_write_to_another_apps_model(body):
    source = f"from orders.models import Order\n\n\ndef pay():\n    {body}\n"
    assert cross_app_writes(source, "payouts") != []
    assert cross_app_writes(source, "orders") == []  # its own models: fine


def test_the_write_check_lets_reads_and_type_use_pass():
    source = (
        "from orders.models import Order\n\n\n"
        "def total(order: Order) -> int:\n"
        "    orders = Order.objects.filter(status='paid').values_list('pk', flat=True)\n"
        "    return isinstance(order, Order) + len(orders) + Order.objects.count()\n"
    )
    assert cross_app_writes(source, "payouts") == []


def test_the_import_check_sees_an_import_inside_a_function(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from accounts.models import User\n")
    tree = ast.parse(module.read_text())
    assert (2, "accounts.models") in imported(tree)
