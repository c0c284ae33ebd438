"""A transfer between two members in one round trip (PostgreSQL): the busiest write.

``transfer_standalone`` runs the whole transfer as the unit of work's only write, one
autocommitted call of ``guildbank_transfer`` (migration 0007) on the driver pool. In that one
statement it recalls the ``Idempotency-Key`` (a replay moves nothing), resolves and locks
both accounts by (guild, user), refuses an overdraft, posts through ``guildbank_post``, and
stores what the transactional path would store at commit: the ``transfer`` event, the
``role.grant`` outbox jobs of reward roles the receiver's total crossed (with their
``outbox.ready`` event) and the key's record. Nothing is written afterwards.

It answers None when the transfer must take the transactional path instead, which does the
same in the unit's transaction: SQLite (no driver pool), a member without an account yet
(it is opened there with the starting balance), or a refusal other than an overdraft (the
transactional path names it). A None costs no write, so the fallback stays exactly-once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from guildbank.ledger.errors import InsufficientBalance
from guildbank.platform import idempotency
from guildbank.platform.idempotency import IdempotentRequest, Replayed
from guildbank.platform.uow import UnitOfWork

__all__ = ["PostedTransfer", "transfer_standalone"]

_PG_TRANSFER = (
    "SELECT o_status, o_tx, o_giver_balance, o_receiver_balance, o_roles, o_stored "
    "FROM guildbank_transfer($1, $2, $3, $4, $5, $6, $7::text[], $8::bigint[], $9, $10, $11, "
    "$12, $13, $14, $15::json)"
)
_RECORD_KEY = "pk_idempotency_records"


@dataclass(frozen=True, slots=True)
class PostedTransfer:
    """What a transfer did: its transaction, both balances after, the reward roles earned."""

    transaction_id: int
    created_at: datetime
    giver_balance: int
    receiver_balance: int
    roles_earned: list[str]


def _key_columns(keyed: IdempotentRequest | None) -> tuple[Any, ...]:
    if keyed is None:
        return (None, None, None, None, None, None)
    return (
        keyed.owner,
        keyed.key,
        keyed.fingerprint,
        keyed.method,
        keyed.path,
        keyed.canonical,
    )


async def transfer_standalone(
    uow: UnitOfWork,
    *,
    guild_id: str,
    giver_id: str,
    receiver_id: str,
    amount: int,
    reason: str | None,
    currency: str,
    role_rewards: Mapping[str, int],
    role_reason: str,
    keyed: IdempotentRequest | None = None,
) -> PostedTransfer | None:
    """The transfer in one statement, or None for the transactional path (module docstring).

    Raises InsufficientBalance for an overdraft, Replayed with the key's first response for a
    repeat, IdempotencyKeyReused for a key that answered another request. The unit must not
    have begun its transaction; after a posting it refuses any other write.
    """
    pool = await uow.standalone_pool()
    if pool is None:
        return None
    try:
        rows = await pool.fetch(
            _PG_TRANSFER,
            guild_id,
            giver_id,
            receiver_id,
            amount,
            reason,
            uow.now,
            list(role_rewards),
            list(role_rewards.values()),
            role_reason,
            *_key_columns(keyed),
        )
    except asyncpg.UniqueViolationError as error:
        if keyed is None or error.constraint_name != _RECORD_KEY:
            raise
        # A twin on the transactional path recorded the key first; this statement undid
        # itself. Answer with the twin's response.
        stored = await idempotency.recall(uow, keyed)
        assert stored is not None
        raise Replayed(stored) from None
    except asyncpg.IntegrityConstraintViolationError:
        return None  # e.g. a balance bound: the transactional path refuses it by name
    row = rows[0]
    status = row[0]
    if status == "posted":
        uow.wrote_standalone(events_stored=True)
        return PostedTransfer(row[1], uow.now, row[2], row[3], list(row[4]))
    if status == "insufficient":
        raise InsufficientBalance(available=row[2], needed=amount, currency=currency, verb="send")
    if status == "replay":
        assert keyed is not None
        raise Replayed(keyed.answer(orjson.loads(row[5])))
    return None  # "missing": a member has no account yet
