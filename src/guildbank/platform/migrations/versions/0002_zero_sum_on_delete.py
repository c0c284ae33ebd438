"""Zero-sum trigger also guards DELETE (and the old side of an UPDATE) of ledger entries.

0001's constraint trigger fired on INSERT and UPDATE only, so deleting one leg of a
transaction on PostgreSQL went through and left it unbalanced. Deleting a whole
transaction (e.g. by cascade) still passes: what remains of it sums to zero.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ZERO_SUM_FUNCTION = """
CREATE OR REPLACE FUNCTION guildbank_check_zero_sum() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_tx bigint;
BEGIN
    FOREACH v_tx IN ARRAY ARRAY[
        CASE WHEN TG_OP <> 'INSERT' THEN OLD.transaction_id END,
        CASE WHEN TG_OP <> 'DELETE' THEN NEW.transaction_id END
    ] LOOP
        IF v_tx IS NOT NULL AND (SELECT coalesce(sum(amount), 0) FROM ledger_entries
                                 WHERE transaction_id = v_tx) <> 0 THEN
            RAISE EXCEPTION 'ledger transaction % does not sum to zero', v_tx
                USING ERRCODE = 'check_violation';
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;
"""

ZERO_SUM_TRIGGER = """
CREATE CONSTRAINT TRIGGER ledger_entries_zero_sum
    AFTER INSERT OR UPDATE OR DELETE ON ledger_entries
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION guildbank_check_zero_sum();
"""

OLD_ZERO_SUM_FUNCTION = """
CREATE OR REPLACE FUNCTION guildbank_check_zero_sum() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT coalesce(sum(amount), 0) FROM ledger_entries
        WHERE transaction_id = NEW.transaction_id) <> 0 THEN
        RAISE EXCEPTION 'ledger transaction % does not sum to zero', NEW.transaction_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;
"""

OLD_ZERO_SUM_TRIGGER = """
CREATE CONSTRAINT TRIGGER ledger_entries_zero_sum
    AFTER INSERT OR UPDATE ON ledger_entries
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION guildbank_check_zero_sum();
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_zero_sum ON ledger_entries")
        op.execute(ZERO_SUM_FUNCTION)
        op.execute(ZERO_SUM_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_zero_sum ON ledger_entries")
        op.execute(OLD_ZERO_SUM_FUNCTION)
        op.execute(OLD_ZERO_SUM_TRIGGER)
