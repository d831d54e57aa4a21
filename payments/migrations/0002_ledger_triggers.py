"""Database-level guards for the ledger (PostgreSQL; SQLite relies on the code checks).

- Every journal's entries sum to zero: a deferred constraint trigger checks each journal
  touched by a transaction at commit, when all of its entries are in.
- Journals and entries are append-only: UPDATE and DELETE are refused.
"""
from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION payments_journal_balanced() RETURNS trigger AS $$
DECLARE
    total bigint;
BEGIN
    SELECT COALESCE(SUM(amount_cents), 0) INTO total
      FROM payments_entry WHERE journal_id = NEW.journal_id;
    IF total <> 0 THEN
        RAISE EXCEPTION 'ledger journal % does not balance (sum % cents)', NEW.journal_id, total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER payments_entry_balanced
    AFTER INSERT ON payments_entry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION payments_journal_balanced();

CREATE OR REPLACE FUNCTION payments_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER payments_entry_append_only
    BEFORE UPDATE OR DELETE ON payments_entry
    FOR EACH ROW EXECUTE FUNCTION payments_ledger_append_only();

CREATE TRIGGER payments_journal_append_only
    BEFORE UPDATE OR DELETE ON payments_journal
    FOR EACH ROW EXECUTE FUNCTION payments_ledger_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS payments_journal_append_only ON payments_journal;
DROP TRIGGER IF EXISTS payments_entry_append_only ON payments_entry;
DROP FUNCTION IF EXISTS payments_ledger_append_only();
DROP TRIGGER IF EXISTS payments_entry_balanced ON payments_entry;
DROP FUNCTION IF EXISTS payments_journal_balanced();
"""


def _run(schema_editor, sql: str) -> None:
    if schema_editor.connection.vendor == "postgresql":
        # A plain cursor with no parameters: RAISE's % placeholders are not query params.
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(sql)


def forward(apps, schema_editor):
    _run(schema_editor, FORWARD)


def backward(apps, schema_editor):
    _run(schema_editor, BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("payments", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
