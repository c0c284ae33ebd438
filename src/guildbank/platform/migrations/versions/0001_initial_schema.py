"""Initial schema: guilds, settings, accounts, the ledger, idempotency records, API keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# One round trip per posting on PostgreSQL: lock the accounts in id order, update each
# balance (the CHECK constraint refuses member overdrafts), write the transaction and its
# entries. The Python side (guildbank.db.ledger) does the same steps on SQLite.
POST_FUNCTION = """
CREATE FUNCTION guildbank_post(
    p_guild text, p_type text, p_amount bigint, p_reason text, p_actor text,
    p_reverses bigint, p_now timestamptz,
    p_accounts bigint[], p_amounts bigint[], p_received bigint[], p_sent bigint[]
) RETURNS TABLE (
    o_tx bigint, o_created timestamptz, o_account bigint, o_amount bigint,
    o_before bigint, o_after bigint, o_received bigint
) LANGUAGE plpgsql AS $$
DECLARE
    v_tx bigint;
    v_after bigint;
    v_received bigint;
BEGIN
    PERFORM 1 FROM accounts a
        WHERE a.id = ANY(p_accounts) AND a.guild_id = p_guild
        ORDER BY a.id FOR UPDATE;
    INSERT INTO ledger_transactions (guild_id, type, amount, reason, actor_id, reverses_id, created_at)
        VALUES (p_guild, p_type, p_amount, p_reason, p_actor, p_reverses, p_now)
        RETURNING id INTO v_tx;
    FOR i IN 1 .. coalesce(array_length(p_accounts, 1), 0) LOOP
        UPDATE accounts a
            SET balance = a.balance + p_amounts[i],
                total_received = a.total_received + p_received[i],
                total_sent = a.total_sent + p_sent[i],
                updated_at = p_now
            WHERE a.id = p_accounts[i] AND a.guild_id = p_guild
            RETURNING a.balance, a.total_received INTO v_after, v_received;
        IF NOT FOUND THEN
            CONTINUE;
        END IF;
        INSERT INTO ledger_entries (transaction_id, account_id, amount, balance_before, balance_after)
            VALUES (v_tx, p_accounts[i], p_amounts[i], v_after - p_amounts[i], v_after);
        o_tx := v_tx; o_created := p_now; o_account := p_accounts[i]; o_amount := p_amounts[i];
        o_before := v_after - p_amounts[i]; o_after := v_after; o_received := v_received;
        RETURN NEXT;
    END LOOP;
END
$$;
"""

# Double-entry enforced by the database too (as django-hordak does): at commit, every
# transaction touched must have entries summing to zero.
ZERO_SUM_FUNCTION = """
CREATE FUNCTION guildbank_check_zero_sum() RETURNS trigger LANGUAGE plpgsql AS $$
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

ZERO_SUM_TRIGGER = """
CREATE CONSTRAINT TRIGGER ledger_entries_zero_sum
    AFTER INSERT OR UPDATE ON ledger_entries
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION guildbank_check_zero_sum();
"""


def upgrade() -> None:
    _create_tables()
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POST_FUNCTION)
        op.execute(ZERO_SUM_FUNCTION)
        op.execute(ZERO_SUM_TRIGGER)


def _create_tables() -> None:

    op.create_table(
        "api_keys",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
    )
    op.create_table(
        "guilds",
        sa.Column("id", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), server_default="", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guilds")),
    )
    op.create_table(
        "idempotency_records",
        sa.Column("scope", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_idempotency_records")),
    )
    op.create_table(
        "accounts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("guild_id", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("is_system", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("balance", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("total_received", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("total_sent", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("streak_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_daily", sa.Date(), nullable=True),
        sa.Column("last_transfer_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "is_system OR balance >= 0", name=op.f("ck_accounts_balance_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["guild_id"],
            ["guilds.id"],
            name=op.f("fk_accounts_guild_id_guilds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("guild_id", "user_id", name=op.f("uq_accounts_guild_id")),
    )
    op.create_index(
        "ix_accounts_leaderboard",
        "accounts",
        ["guild_id", "is_system", "is_active", "balance", "id"],
        unique=False,
    )
    op.create_table(
        "guild_settings",
        sa.Column("guild_id", sa.String(length=20), nullable=False),
        sa.Column("starting_balance", sa.BigInteger(), nullable=False),
        sa.Column("daily_amount", sa.BigInteger(), nullable=False),
        sa.Column("streak_bonuses", sa.JSON(), nullable=False),
        sa.Column("max_transfer", sa.BigInteger(), nullable=False),
        sa.Column("transfer_cooldown_hours", sa.Integer(), nullable=False),
        sa.Column("confirm_threshold", sa.BigInteger(), nullable=False),
        sa.Column("rate_limit_per_minute", sa.Integer(), nullable=False),
        sa.Column("role_rewards", sa.JSON(), nullable=False),
        sa.Column("currency_name", sa.String(length=32), nullable=False),
        sa.Column("currency_emoji", sa.String(length=64), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["guild_id"],
            ["guilds.id"],
            name=op.f("fk_guild_settings_guild_id_guilds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("guild_id", name=op.f("pk_guild_settings")),
    )
    op.create_table(
        "ledger_transactions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("guild_id", sa.String(length=20), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("actor_id", sa.String(length=32), nullable=True),
        sa.Column(
            "reverses_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_ledger_transactions_amount_non_negative")),
        sa.ForeignKeyConstraint(
            ["guild_id"],
            ["guilds.id"],
            name=op.f("fk_ledger_transactions_guild_id_guilds"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_ledger_transactions_reverses_id_ledger_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_transactions")),
        sa.UniqueConstraint("reverses_id", name=op.f("uq_ledger_transactions_reverses_id")),
    )
    op.create_index(
        "ix_ledger_transactions_guild_created",
        "ledger_transactions",
        ["guild_id", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_ledger_transactions_guild_type",
        "ledger_transactions",
        ["guild_id", "type"],
        unique=False,
    )
    op.create_table(
        "ledger_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "transaction_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("balance_before", sa.BigInteger(), nullable=False),
        sa.Column("balance_after", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount <> 0", name=op.f("ck_ledger_entries_amount_non_zero")),
        sa.CheckConstraint(
            "balance_after = balance_before + amount",
            name=op.f("ck_ledger_entries_balance_follows"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_ledger_entries_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_ledger_entries_transaction_id_ledger_transactions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    op.create_index(
        "ix_ledger_entries_account", "ledger_entries", ["account_id", "id"], unique=False
    )
    op.create_index(
        "ix_ledger_entries_transaction", "ledger_entries", ["transaction_id"], unique=False
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_zero_sum ON ledger_entries")
        op.execute("DROP FUNCTION IF EXISTS guildbank_check_zero_sum()")
        op.execute(
            "DROP FUNCTION IF EXISTS guildbank_post(text, text, bigint, text, text, bigint, "
            "timestamptz, bigint[], bigint[], bigint[], bigint[])"
        )

    op.drop_index("ix_ledger_entries_transaction", table_name="ledger_entries")
    op.drop_index("ix_ledger_entries_account", table_name="ledger_entries")
    op.drop_table("ledger_entries")
    op.drop_index("ix_ledger_transactions_guild_type", table_name="ledger_transactions")
    op.drop_index("ix_ledger_transactions_guild_created", table_name="ledger_transactions")
    op.drop_table("ledger_transactions")
    op.drop_table("guild_settings")
    op.drop_index("ix_accounts_leaderboard", table_name="accounts")
    op.drop_table("accounts")
    op.drop_table("idempotency_records")
    op.drop_table("guilds")
    op.drop_table("api_keys")
