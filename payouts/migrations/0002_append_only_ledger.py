"""Database backstops for the ledger: postings and entries are append-only (UPDATE and DELETE
are refused by triggers on SQLite and PostgreSQL), and on PostgreSQL a deferred constraint
trigger refuses, at commit, any posting whose entries do not sum to zero per currency.

Note for later migrations: SQLite rebuilds a table to alter it and drops its triggers; a
migration that alters these tables must re-run ``forwards`` (tests/payouts/test_ledger.py
fails if the triggers are missing).
"""

from django.db import migrations

TABLES = ("payouts_posting", "payouts_ledgerentry")

POSTGRES = [
    """
    CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'ledger rows are append-only: % on % refused', TG_OP, TG_TABLE_NAME;
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE OR REPLACE FUNCTION ledger_posting_balanced() RETURNS trigger AS $$
    BEGIN
        IF EXISTS (
            SELECT 1 FROM payouts_ledgerentry WHERE posting_id = NEW.posting_id
            GROUP BY currency HAVING SUM(amount) <> 0
        ) THEN
            RAISE EXCEPTION 'posting % does not sum to zero per currency', NEW.posting_id;
        END IF;
        RETURN NULL;
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE CONSTRAINT TRIGGER payouts_ledgerentry_balanced
        AFTER INSERT ON payouts_ledgerentry DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION ledger_posting_balanced()
    """,
    *(
        f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t} "
        "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()"
        for t in TABLES
    ),
]
POSTGRES_REVERSE = [
    *(f"DROP TRIGGER IF EXISTS {t}_append_only ON {t}" for t in TABLES),
    "DROP TRIGGER IF EXISTS payouts_ledgerentry_balanced ON payouts_ledgerentry",
    "DROP FUNCTION IF EXISTS ledger_posting_balanced()",
    "DROP FUNCTION IF EXISTS ledger_append_only()",
]

SQLITE = [
    f"CREATE TRIGGER IF NOT EXISTS {t}_no_{op.lower()} BEFORE {op} ON {t} "
    f"BEGIN SELECT RAISE(ABORT, 'ledger rows are append-only: {op} on {t} refused'); END;"
    for t in TABLES
    for op in ("UPDATE", "DELETE")
]
SQLITE_REVERSE = [
    f"DROP TRIGGER IF EXISTS {t}_no_{op.lower()};" for t in TABLES for op in ("UPDATE", "DELETE")
]


def _run(schema_editor, statements: dict[str, list[str]]) -> None:
    for statement in statements.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement, params=None)


def forwards(apps, schema_editor):
    _run(schema_editor, {"postgresql": POSTGRES, "sqlite": SQLITE})


def backwards(apps, schema_editor):
    _run(schema_editor, {"postgresql": POSTGRES_REVERSE, "sqlite": SQLITE_REVERSE})


class Migration(migrations.Migration):
    dependencies = [("payouts", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
