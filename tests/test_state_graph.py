"""``manage.py export_state_graph``: the state machines from their ``@transition``
declarations, as Mermaid (README.md shows them) or Graphviz dot."""

from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command


def run(*args: str) -> str:
    out = StringIO()
    call_command("export_state_graph", *args, stdout=out)
    return out.getvalue()


def test_the_readme_shows_the_diagrams_of_the_declarations():
    assert "up to date" in run("--check")


def test_every_state_machine_is_drawn_with_its_guards_and_their_reasons():
    text = run()

    for title in (
        "accounts.SellerAccount (status)",
        "disputes.Dispute (status)",
        "orders.Order (status)",
        "payouts.Payout (status)",
    ):
        assert f"#### {title}\n\n```mermaid\nstateDiagram-v2\n" in text
    assert "    [*] --> unpaid\n" in text
    assert "    unpaid --> cancelled: cancel\n" in text
    assert "    paid --> refunded: cancel\n" in text  # the same method, another target
    assert (
        "    frozen --> active: unfreeze<br>[hold_liftable, else#58; #60;lifting_refusal#62;]\n"
    ) in text
    # A target computed from the call (whether the goods come back): both are drawn.
    assert "    open --> awaiting_return: accept<br>" in text
    assert "    open --> resolved: accept<br>" in text
    assert "    requested --> paid: mark_paid<br>[payout_not_held, else#58; " in text
    assert "    paid --> [*]\n" in text  # a payout's final states


def test_dot_draws_the_same_edges():
    text = run("--format", "dot")

    assert text.count("digraph ") == 4
    assert '    "paid" -> "refunded" [label="cancel"];' in text
    assert (
        '"open" -> "resolved" [label="auto_resolve\\\\n[after_response_deadline, else: The '
        'response deadline (<respond_by> UTC) has not passed yet.]"];'
    ) in text


def test_a_stale_readme_fails_the_check_and_readme_rewrites_it(tmp_path: Path, monkeypatch):
    readme = Path(settings.BASE_DIR) / "README.md"
    text = readme.read_text(encoding="utf-8")
    stale = text.replace("    active --> closed: close\n", "")
    (tmp_path / "README.md").write_text(stale, encoding="utf-8")
    monkeypatch.setattr(settings, "BASE_DIR", tmp_path)

    with pytest.raises(CommandError) as refused:
        run("--check")

    assert refused.value.returncode == 1
    run("--readme")
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == text
