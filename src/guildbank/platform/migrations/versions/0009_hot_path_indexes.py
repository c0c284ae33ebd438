"""Hot paths at size: the leaderboard index, and the daily claim as one statement.

* ``ix_accounts_leaderboard``: the ranked members of a guild (active, not system) in
  leaderboard order, ``(guild_id, balance DESC, id)``, partial, and on PostgreSQL covering
  (``INCLUDE (user_id, total_received)``). The top of the leaderboard is the first rows of an
  index-only scan, and a member's rank counts the index entries ahead of theirs. Migration
  0004 had taken balance out of every index so that balance updates stay HOT; with this
  index they no longer are (every balance change writes one entry in each index of
  ``accounts``). bench/leaderboard.py measures what that costs a transfer.
* ``guildbank_claim_daily`` (PostgreSQL): a member's daily claim in one statement, opening the
  account with its starting balance when new (``ledger/daily.py`` says what it does and
  when it runs). Run autocommitted, it holds the guild's mint row only for the statement and
  its commit, instead of across the ~10 round trips of the claim written in Python.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# The predicate as each backend's queries spell it (SQLite matches a partial index's terms
# literally, and SQLAlchemy writes its booleans as 1 and 0).
RANKED = sa.text("is_active AND NOT is_system")
RANKED_SQLITE = sa.text("is_active = 1 AND is_system = 0")

# Mirrors ledger/daily.py (which documents it) and the Python path beside it: the same
# rows, entries and events as ensure_account + mark_daily_claim + post, in one statement.
# Lock order: the mint first, then the member (ledger/accounts.py lock_mint).
CLAIM_DAILY_FUNCTION = """
CREATE FUNCTION guildbank_claim_daily(
    p_guild text, p_user text, p_now timestamptz, p_today date,
    p_starting bigint, p_daily bigint,
    p_tier_thresholds int[], p_tier_multipliers bigint[], p_tier_names text[],
    p_reason text, p_role_thresholds bigint[], p_store_events boolean, p_defer_roles boolean
) RETURNS TABLE (
    o_status text, o_account bigint, o_opened boolean, o_streak int, o_award bigint,
    o_balance bigint, o_received bigint, o_sent bigint, o_transaction bigint
) LANGUAGE plpgsql AS $$
DECLARE
    v_account bigint;
    v_last date;
    v_old_streak int;
    v_received bigint;
    v_mint bigint;
    v_mint_after bigint;
    v_mult bigint;
    v_tier text;
BEGIN
    o_status := 'claimed'; o_opened := false; o_sent := 0;
    -- Already claimed today: answer without taking any lock.
    SELECT a.id, a.last_daily INTO v_account, v_last
        FROM accounts a WHERE a.guild_id = p_guild AND a.user_id = p_user;
    IF v_account IS NOT NULL AND v_last >= p_today THEN
        o_account := v_account; RETURN NEXT; RETURN;
    END IF;
    SELECT a.id INTO v_mint FROM accounts a
        WHERE a.guild_id = p_guild AND a.user_id = 'mint' AND a.is_system FOR UPDATE;
    IF v_mint IS NULL THEN
        RAISE EXCEPTION 'guild % has no mint account', p_guild USING ERRCODE = 'no_data_found';
    END IF;
    SELECT a.id, a.last_daily, a.streak_count, a.total_received
        INTO v_account, v_last, v_old_streak, v_received
        FROM accounts a WHERE a.guild_id = p_guild AND a.user_id = p_user FOR UPDATE;
    IF v_account IS NOT NULL AND v_last >= p_today THEN
        o_account := v_account; RETURN NEXT; RETURN;
    END IF;
    o_streak := CASE WHEN v_last = p_today - 1 THEN v_old_streak + 1 ELSE 1 END;
    SELECT t.m, t.n INTO v_mult, v_tier
        FROM unnest(p_tier_thresholds, p_tier_multipliers, p_tier_names) AS t(th, m, n)
        WHERE t.th <= o_streak ORDER BY t.th DESC LIMIT 1;
    v_mult := coalesce(v_mult, 1);
    o_award := p_daily * v_mult;
    v_received := coalesce(v_received, 0);
    o_received := v_received + o_award;
    IF p_defer_roles AND o_award > 0 AND EXISTS (
        SELECT 1 FROM unnest(p_role_thresholds) AS r(th)
        WHERE r.th > v_received AND r.th <= o_received
    ) THEN
        -- Reward roles are granted through the outbox, in the claim's transaction: the
        -- caller claims again inside its unit of work. Nothing was written.
        o_status := 'roles'; o_account := v_account; RETURN NEXT; RETURN;
    END IF;

    IF v_account IS NULL THEN
        -- The mint lock orders every opening of an account (ledger/accounts.py), so no
        -- one else is inserting this member now.
        o_opened := true;
        o_balance := p_starting + o_award;
        INSERT INTO accounts (guild_id, user_id, is_system, balance, total_received,
                              streak_count, last_daily, created_at, updated_at)
            VALUES (p_guild, p_user, false, o_balance, o_award, 1, p_today, p_now, p_now)
            RETURNING id INTO v_account;
        UPDATE accounts a SET balance = a.balance - p_starting - o_award,
                              total_sent = a.total_sent + o_award, updated_at = p_now
            WHERE a.id = v_mint RETURNING a.balance INTO v_mint_after;
        IF p_starting > 0 THEN
            INSERT INTO ledger_transactions (guild_id, type, amount, reason, created_at)
                VALUES (p_guild, 'starting_balance', p_starting, 'Starting balance', p_now)
                RETURNING id INTO o_transaction;
            INSERT INTO ledger_entries (transaction_id, account_id, amount, balance_before,
                                        balance_after)
                VALUES (o_transaction, v_mint, -p_starting,
                        v_mint_after + o_award + p_starting, v_mint_after + o_award),
                       (o_transaction, v_account, p_starting, 0, p_starting);
        END IF;
        IF p_store_events THEN
            INSERT INTO event_log (guild_id, name, data, created_at)
                VALUES (p_guild, 'account.opened',
                        json_build_object('user_id', p_user, 'balance', p_starting), p_now);
        END IF;
    ELSE
        UPDATE accounts a SET streak_count = o_streak, last_daily = p_today,
                              balance = a.balance + o_award,
                              total_received = a.total_received + o_award, updated_at = p_now
            WHERE a.id = v_account RETURNING a.balance, a.total_sent INTO o_balance, o_sent;
        IF o_award > 0 THEN
            UPDATE accounts a SET balance = a.balance - o_award,
                                  total_sent = a.total_sent + o_award, updated_at = p_now
                WHERE a.id = v_mint RETURNING a.balance INTO v_mint_after;
        END IF;
    END IF;

    o_transaction := NULL;
    IF o_award > 0 THEN
        INSERT INTO ledger_transactions (guild_id, type, amount, reason, actor_id, created_at)
            VALUES (p_guild, 'daily', o_award, format(p_reason, o_streak, v_tier, v_mult),
                    p_user, p_now)
            RETURNING id INTO o_transaction;
        INSERT INTO ledger_entries (transaction_id, account_id, amount, balance_before,
                                    balance_after)
            VALUES (o_transaction, v_mint, -o_award, v_mint_after + o_award, v_mint_after),
                   (o_transaction, v_account, o_award, o_balance - o_award, o_balance);
    END IF;
    IF p_store_events THEN
        INSERT INTO event_log (guild_id, name, data, created_at)
            VALUES (p_guild, 'daily.claimed',
                    json_build_object('user_id', p_user, 'amount', o_award, 'streak', o_streak,
                                      'balance', o_balance, 'roles_earned', json_build_array()),
                    p_now);
    END IF;
    o_status := 'paid'; o_account := v_account;
    RETURN NEXT;
END
$$;
"""


def upgrade() -> None:
    op.create_index(
        "ix_accounts_leaderboard",
        "accounts",
        ["guild_id", sa.text("balance DESC"), "id"],
        postgresql_include=["user_id", "total_received"],
        postgresql_where=RANKED,
        sqlite_where=RANKED_SQLITE,
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CLAIM_DAILY_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "DROP FUNCTION IF EXISTS guildbank_claim_daily(text, text, timestamptz, date, bigint, "
            "bigint, int[], bigint[], text[], text, bigint[], boolean, boolean)"
        )
    op.drop_index("ix_accounts_leaderboard", table_name="accounts")
