"""Idempotency keys per API key, and the keyed transfer in one statement (PostgreSQL).

* ``idempotency_records`` is keyed by (API key, Idempotency-Key) instead of (guild, key): two
  integrators never share a key (SPEC §4.1). A record also keeps what the key was used for
  (method, path, canonical JSON body) to name what differs when the key comes back with
  another request, and a BRIN index on ``created_at`` for the purge after the retention
  period. Records of the old shape are dropped: they were scoped to a guild, not to a key,
  so nothing says whose they were (upgrade while no client is retrying).
* ``guildbank_transfer`` (PostgreSQL) is a whole transfer between two members in one
  autocommitted statement: recall the key (replay), resolve and lock both accounts by
  (guild, user), refuse an overdraft, post through ``guildbank_post``, store the ``transfer``
  event, the ``role.grant`` outbox jobs of reward roles the receiver's total crossed (and
  their ``outbox.ready`` event), and the key's record. Twins of one key take turns on a
  transaction-scoped advisory lock, so the second finds the first's record. Members without
  an account yet (``missing``) and refusals other than an overdraft are left to the
  transactional path (``ledger/posting.py``), which opens accounts and names the refusal.

The event data and the record's body are built here with the fields of ``TransferMade``
and ``TransferOut``, the jobs as ``outbox.service.enqueue_role_grants`` writes them:
tests/ledger/test_transfers.py compares all of them with the transactional path's.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TRANSFER_FUNCTION = """
CREATE FUNCTION guildbank_transfer(
    p_guild text, p_giver text, p_receiver text, p_amount bigint, p_reason text,
    p_now timestamptz, p_role_ids text[], p_role_thresholds bigint[], p_role_reason text,
    p_key_owner bigint, p_key text, p_fingerprint text, p_method text, p_path text,
    p_request json
) RETURNS TABLE (
    o_status text, o_tx bigint, o_giver_balance bigint, o_receiver_balance bigint,
    o_roles text[], o_stored json
) LANGUAGE plpgsql AS $$
DECLARE
    v_giver bigint;
    v_receiver bigint;
    v_available bigint;
    v_received bigint;
    v_role text;
    v_job bigint;
    v_first_job bigint;
BEGIN
    o_roles := '{}';
    IF p_key IS NOT NULL THEN
        -- Twins take turns here; the second sees the first's record once it committed.
        PERFORM pg_advisory_xact_lock(hashtextextended(p_key, p_key_owner));
        SELECT json_build_object(
                'method', r.method, 'path', r.path, 'request', r.request,
                'fingerprint', r.fingerprint, 'status_code', r.status_code, 'body', r.body)
            INTO o_stored
            FROM idempotency_records r
            WHERE r.api_key_id = p_key_owner AND r.key = p_key;
        IF FOUND THEN
            o_status := 'replay';
            RETURN NEXT;
            RETURN;
        END IF;
    END IF;
    SELECT max(a.id) FILTER (WHERE a.user_id = p_giver),
           max(a.balance) FILTER (WHERE a.user_id = p_giver),
           max(a.id) FILTER (WHERE a.user_id = p_receiver)
        INTO v_giver, v_available, v_receiver
        FROM (SELECT id, user_id, balance FROM accounts
              WHERE guild_id = p_guild AND user_id IN (p_giver, p_receiver) AND NOT is_system
              ORDER BY id FOR UPDATE) a;
    IF v_giver IS NULL OR v_receiver IS NULL THEN
        o_status := 'missing';
        RETURN NEXT;
        RETURN;
    END IF;
    IF v_available < p_amount THEN
        o_status := 'insufficient';
        o_giver_balance := v_available;
        RETURN NEXT;
        RETURN;
    END IF;
    SELECT max(p.o_tx),
           max(p.o_after) FILTER (WHERE p.o_account = v_giver),
           max(p.o_after) FILTER (WHERE p.o_account = v_receiver),
           max(p.o_received) FILTER (WHERE p.o_account = v_receiver)
        INTO o_tx, o_giver_balance, o_receiver_balance, v_received
        FROM guildbank_post(
            p_guild, 'transfer', p_amount, p_reason, p_giver, NULL, p_now,
            CASE WHEN v_giver < v_receiver THEN ARRAY[v_giver, v_receiver]
                 ELSE ARRAY[v_receiver, v_giver] END,
            CASE WHEN v_giver < v_receiver THEN ARRAY[-p_amount, p_amount]
                 ELSE ARRAY[p_amount, -p_amount] END,
            CASE WHEN v_giver < v_receiver THEN ARRAY[0, p_amount]
                 ELSE ARRAY[p_amount, 0] END,
            CASE WHEN v_giver < v_receiver THEN ARRAY[p_amount, 0]
                 ELSE ARRAY[0, p_amount] END) p;
    IF cardinality(p_role_ids) > 0 THEN
        SELECT coalesce(array_agg(x.role ORDER BY x.threshold, x.role COLLATE "C"), '{}')
            INTO o_roles
            FROM unnest(p_role_ids, p_role_thresholds) AS x(role, threshold)
            WHERE x.threshold > v_received - p_amount AND x.threshold <= v_received;
    END IF;
    INSERT INTO event_log (guild_id, name, data, created_at) VALUES (
        p_guild, 'transfer',
        json_build_object(
            'transaction_id', o_tx, 'giver_id', p_giver, 'receiver_id', p_receiver,
            'amount', p_amount, 'reason', p_reason, 'giver_balance', o_giver_balance,
            'receiver_balance', o_receiver_balance, 'roles_earned', o_roles),
        p_now);
    FOREACH v_role IN ARRAY o_roles LOOP
        INSERT INTO outbox_jobs (
                guild_id, kind, payload, dedupe_key, status, attempts, next_attempt_at,
                created_at, updated_at)
            VALUES (
                p_guild, 'role.grant',
                json_build_object('user_id', p_receiver, 'role_id', v_role, 'reason', p_role_reason),
                'role.grant:' || p_receiver || ':' || v_role, 'pending', 0, p_now, p_now, p_now)
            ON CONFLICT (guild_id, dedupe_key) WHERE status IN ('pending', 'running') DO NOTHING
            RETURNING id INTO v_job;
        v_first_job := coalesce(v_first_job, v_job);
    END LOOP;
    IF v_first_job IS NOT NULL THEN
        INSERT INTO event_log (guild_id, name, data, created_at) VALUES (
            p_guild, 'outbox.ready', json_build_object('job_id', v_first_job, 'kind', 'role.grant'),
            p_now);
    END IF;
    IF p_key IS NOT NULL THEN
        INSERT INTO idempotency_records (
                api_key_id, key, guild_id, method, path, request, fingerprint, status_code,
                body, created_at)
            VALUES (
                p_key_owner, p_key, p_guild, p_method, p_path, p_request, p_fingerprint, 200,
                json_build_object(
                    'id', o_tx, 'guild_id', p_guild, 'type', 'transfer', 'amount', p_amount,
                    'reason', p_reason, 'giver_id', p_giver, 'receiver_id', p_receiver,
                    'giver_balance', o_giver_balance, 'receiver_balance', o_receiver_balance,
                    'created_at',
                    to_char(p_now AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                    'roles_earned', o_roles),
                p_now);
    END IF;
    o_status := 'posted';
    RETURN NEXT;
END
$$;
"""

DROP_TRANSFER_FUNCTION = (
    "DROP FUNCTION IF EXISTS guildbank_transfer(text, text, text, bigint, text, timestamptz, "
    "text[], bigint[], text, bigint, text, text, text, text, json)"
)


def upgrade() -> None:
    op.drop_table("idempotency_records")
    op.create_table(
        "idempotency_records",
        sa.Column("api_key_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("guild_id", sa.String(20), nullable=False),
        sa.Column("method", sa.String(10), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("request", sa.JSON(), nullable=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("api_key_id", "key", name="pk_idempotency_records"),
    )
    op.create_index(
        "ix_idempotency_records_created_at",
        "idempotency_records",
        ["created_at"],
        postgresql_using="brin",
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(TRANSFER_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(DROP_TRANSFER_FUNCTION)
    op.drop_table("idempotency_records")
    op.create_table(
        "idempotency_records",
        sa.Column("scope", sa.String(40), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("scope", "key", name="pk_idempotency_records"),
    )
