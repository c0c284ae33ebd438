"""First dailies at scale (issue 11): many members' daily claims in one statement.

``guildbank_claim_dailies`` (PostgreSQL) is ``guildbank_claim_daily`` (migration 0009) for a
batch of members of one guild: it locks the guild's mint once, then pays each claim in the
batch's order, writing exactly the rows, ledger entries (the mint's balance_before/after
chain included) and events the one-member function writes for each, and updates the mint's
row once at the end. ``ledger/daily.py`` sends the claims that arrive while a batch of their
guild is running as the next batch, so the mint is held for one statement and one commit per
batch instead of per claim: the commit's WAL flush, which dominated, is shared (docs/hot-paths.md).

Lock order: the mint first (as every opening of an account, ``ledger/accounts.py``), then the
batch's existing members with ``SKIP LOCKED``: the batch never waits for a member row while
it holds others, so it adds no new waiting pattern. A member whose row another transaction
holds is answered ``busy``, and the caller runs that claim alone with
``guildbank_claim_daily``. A claim crossing a reward-role threshold is answered ``roles`` and
written not at all (the caller claims again in its unit's transaction, as with 0009).

No table changes: the ledger stays what ``ledger/integrity.py`` checks.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

CLAIM_DAILIES_FUNCTION = """
CREATE FUNCTION guildbank_claim_dailies(
    p_guild text, p_users text[], p_nows timestamptz[], p_today date,
    p_starting bigint, p_daily bigint,
    p_tier_thresholds int[], p_tier_multipliers bigint[], p_tier_names text[],
    p_reason text, p_role_thresholds bigint[]
) RETURNS TABLE (
    o_user text, o_status text, o_account bigint, o_opened boolean, o_streak int,
    o_award bigint, o_balance bigint, o_received bigint, o_sent bigint, o_transaction bigint
) LANGUAGE plpgsql AS $$
DECLARE
    v_i int;
    v_now timestamptz;
    v_account bigint;
    v_last date;
    v_old_streak int;
    v_received bigint;
    v_mint bigint;
    v_mint_balance bigint;
    v_taken bigint := 0;
    v_awarded bigint := 0;
    v_mult bigint;
    v_tier text;
    v_locked bigint[];
    v_starting_tx bigint;
BEGIN
    -- Every member already claimed today: answer without taking any lock.
    IF NOT EXISTS (
        SELECT 1 FROM unnest(p_users) AS u(user_id)
            LEFT JOIN accounts a ON a.guild_id = p_guild AND a.user_id = u.user_id
            WHERE a.id IS NULL OR a.last_daily IS NULL OR a.last_daily < p_today
    ) THEN
        RETURN QUERY SELECT a.user_id::text, 'claimed'::text, a.id, false, NULL::int,
                            NULL::bigint, NULL::bigint, NULL::bigint, 0::bigint, NULL::bigint
            FROM accounts a WHERE a.guild_id = p_guild AND a.user_id = ANY(p_users);
        RETURN;
    END IF;
    SELECT a.id, a.balance INTO v_mint, v_mint_balance FROM accounts a
        WHERE a.guild_id = p_guild AND a.user_id = 'mint' AND a.is_system FOR UPDATE;
    IF v_mint IS NULL THEN
        RAISE EXCEPTION 'guild % has no mint account', p_guild USING ERRCODE = 'no_data_found';
    END IF;
    -- The members' rows, never waited for: one held elsewhere is answered 'busy'.
    SELECT coalesce(array_agg(l.id), '{}') INTO v_locked FROM (
        SELECT a.id FROM accounts a WHERE a.guild_id = p_guild AND a.user_id = ANY(p_users)
            ORDER BY a.id FOR UPDATE SKIP LOCKED
    ) l;

    FOR v_i IN 1 .. coalesce(array_length(p_users, 1), 0) LOOP
        o_user := p_users[v_i]; v_now := p_nows[v_i];
        o_opened := false; o_sent := 0; o_transaction := NULL;
        o_streak := NULL; o_award := NULL; o_balance := NULL; o_received := NULL;
        SELECT a.id, a.last_daily, a.streak_count, a.total_received
            INTO v_account, v_last, v_old_streak, v_received
            FROM accounts a WHERE a.guild_id = p_guild AND a.user_id = o_user;
        o_account := v_account;
        IF v_account IS NOT NULL AND NOT v_account = ANY(v_locked) THEN
            o_status := 'busy'; RETURN NEXT; CONTINUE;
        END IF;
        IF v_account IS NOT NULL AND v_last >= p_today THEN
            o_status := 'claimed'; RETURN NEXT; CONTINUE;
        END IF;
        o_streak := CASE WHEN v_last = p_today - 1 THEN v_old_streak + 1 ELSE 1 END;
        v_mult := NULL; v_tier := NULL;
        SELECT t.m, t.n INTO v_mult, v_tier
            FROM unnest(p_tier_thresholds, p_tier_multipliers, p_tier_names) AS t(th, m, n)
            WHERE t.th <= o_streak ORDER BY t.th DESC LIMIT 1;
        v_mult := coalesce(v_mult, 1);
        o_award := p_daily * v_mult;
        v_received := coalesce(v_received, 0);
        o_received := v_received + o_award;
        IF o_award > 0 AND EXISTS (
            SELECT 1 FROM unnest(p_role_thresholds) AS r(th)
            WHERE r.th > v_received AND r.th <= o_received
        ) THEN
            -- Reward roles go through the outbox in the claim's transaction: the caller
            -- claims again inside its unit of work. Nothing was written for this member.
            o_status := 'roles'; RETURN NEXT; CONTINUE;
        END IF;

        IF v_account IS NULL THEN
            -- The mint lock orders every opening of an account (ledger/accounts.py).
            o_opened := true;
            o_balance := p_starting + o_award;
            INSERT INTO accounts (guild_id, user_id, is_system, balance, total_received,
                                  streak_count, last_daily, created_at, updated_at)
                VALUES (p_guild, o_user, false, o_balance, o_award, 1, p_today, v_now, v_now)
                RETURNING id INTO v_account;
            IF p_starting > 0 THEN
                INSERT INTO ledger_transactions (guild_id, type, amount, reason, created_at)
                    VALUES (p_guild, 'starting_balance', p_starting, 'Starting balance', v_now)
                    RETURNING id INTO v_starting_tx;
                INSERT INTO ledger_entries (transaction_id, account_id, amount, balance_before,
                                            balance_after)
                    VALUES (v_starting_tx, v_mint, -p_starting,
                            v_mint_balance, v_mint_balance - p_starting),
                           (v_starting_tx, v_account, p_starting, 0, p_starting);
                v_mint_balance := v_mint_balance - p_starting;
                v_taken := v_taken + p_starting;
            END IF;
            INSERT INTO event_log (guild_id, name, data, created_at)
                VALUES (p_guild, 'account.opened',
                        json_build_object('user_id', o_user, 'balance', p_starting), v_now);
        ELSE
            UPDATE accounts a SET streak_count = o_streak, last_daily = p_today,
                                  balance = a.balance + o_award,
                                  total_received = a.total_received + o_award, updated_at = v_now
                WHERE a.id = v_account RETURNING a.balance, a.total_sent INTO o_balance, o_sent;
        END IF;

        IF o_award > 0 THEN
            INSERT INTO ledger_transactions (guild_id, type, amount, reason, actor_id,
                                             created_at)
                VALUES (p_guild, 'daily', o_award, format(p_reason, o_streak, v_tier, v_mult),
                        o_user, v_now)
                RETURNING id INTO o_transaction;
            INSERT INTO ledger_entries (transaction_id, account_id, amount, balance_before,
                                        balance_after)
                VALUES (o_transaction, v_mint, -o_award,
                        v_mint_balance, v_mint_balance - o_award),
                       (o_transaction, v_account, o_award, o_balance - o_award, o_balance);
            v_mint_balance := v_mint_balance - o_award;
            v_taken := v_taken + o_award;
            v_awarded := v_awarded + o_award;
        END IF;
        INSERT INTO event_log (guild_id, name, data, created_at)
            VALUES (p_guild, 'daily.claimed',
                    json_build_object('user_id', o_user, 'amount', o_award, 'streak', o_streak,
                                      'balance', o_balance, 'roles_earned', json_build_array()),
                    v_now);
        o_status := 'paid'; o_account := v_account;
        RETURN NEXT;
    END LOOP;

    IF v_taken > 0 THEN
        -- The mint's row once for the batch; its entries above chain claim after claim.
        UPDATE accounts a SET balance = a.balance - v_taken,
                              total_sent = a.total_sent + v_awarded, updated_at = v_now
            WHERE a.id = v_mint;
    END IF;
END
$$;
"""

DROP_CLAIM_DAILIES = (
    "DROP FUNCTION IF EXISTS guildbank_claim_dailies(text, text[], timestamptz[], date, bigint, "
    "bigint, int[], bigint[], text[], text, bigint[])"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CLAIM_DAILIES_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(DROP_CLAIM_DAILIES)
