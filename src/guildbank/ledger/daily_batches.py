"""Daily claims of one guild, batched: one statement, one lock of the mint, one commit for many.

Every claim of a guild moves money out of the guild's mint, so on PostgreSQL each takes the
mint's row lock and holds it until its commit is on disk. One claim per statement, the mint
let through one commit (one WAL flush) at a time, whatever the number of clients. So the
claims of a guild that arrive while one of its statements runs wait, in arrival order, and go
together as the next statement: ``guildbank_claim_dailies`` (migration 0017) locks the mint
once and pays them one after the other with the entries and events each claim alone would
write (the mint's balance chain included), then commits them together. A lone claim (no
statement of its guild running) goes at once, as ``guildbank_claim_daily`` (migration 0009):
batching never makes a claim wait for a timer, only for the statement before it.

Each batch is its own autocommitted statement on the driver pool, run by a task of the
process; callers wait for their own row. What a claim answers is what it would have answered
alone:

* a member claiming twice at once: the second claim waits for the next batch, where it
  reads as claimed;
* a member whose row another transaction holds (``busy``: the batch never waits for a member
  row) is claimed alone, in a task of its own beside the batches, waiting for that row as
  ``guildbank_claim_daily`` does;
* when the batch statement is refused as a whole (a bound of money crossed by one claim, a
  deadlock) nothing of it was written, and each of its claims runs alone, so only the claim
  at fault is refused, with its own error;
* any other failure (the connection lost, say) is every waiting caller's error, as it would
  have been each one's alone.

Batches belong to one process; claims from several processes still queue on the mint, a
batch at a time.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import asyncpg

from guildbank.platform.engine import DriverPool

__all__ = ["ClaimTerms", "claim_on_pool"]

# The most claims one statement pays (the rest wait for the next).
MAX_BATCH = 64

_PG_CLAIM_ONE = (
    "SELECT o_status, o_account, o_opened, o_streak, o_award, o_balance, o_received, o_sent, "
    "o_transaction FROM guildbank_claim_daily($1, $2, $3, $4, $5, $6, $7::int[], "
    "$8::bigint[], $9::text[], $10, $11::bigint[], true, true)"
)
_PG_CLAIM_MANY = (
    "SELECT o_user, o_status, o_account, o_opened, o_streak, o_award, o_balance, o_received, "
    "o_sent, o_transaction FROM guildbank_claim_dailies($1, $2::text[], $3::timestamptz[], $4, "
    "$5, $6, $7::int[], $8::bigint[], $9::text[], $10, $11::bigint[])"
)

# A batch refused as a whole wrote nothing: its claims are retried one by one.
_RETRY_ALONE = (asyncpg.IntegrityConstraintViolationError, asyncpg.TransactionRollbackError)


@dataclass(frozen=True, slots=True)
class ClaimTerms:
    """What the claims of one batch share: the guild, the day, and the economy's rules."""

    guild_id: str
    today: date
    starting_balance: int
    daily_amount: int
    thresholds: tuple[int, ...]
    multipliers: tuple[int, ...]
    names: tuple[str, ...]
    reason: str
    role_thresholds: tuple[int, ...]

    def arguments(self) -> tuple[Any, ...]:
        """The rules as the functions' parameters 5 to 11."""
        return (
            self.starting_balance,
            self.daily_amount,
            list(self.thresholds),
            list(self.multipliers),
            list(self.names),
            self.reason,
            list(self.role_thresholds),
        )


@dataclass(slots=True)
class _Claim:
    user_id: str
    now: datetime
    answer: asyncio.Future[tuple[Any, ...]]


@dataclass(slots=True)
class _Queue:
    pool: asyncpg.Pool
    waiting: deque[_Claim] = field(default_factory=deque)
    runner: asyncio.Task[None] | None = None


# Per process (per driver pool): the queue of each guild's claims while a batch runs.
_queues: weakref.WeakKeyDictionary[DriverPool, dict[ClaimTerms, _Queue]] = (
    weakref.WeakKeyDictionary()
)


async def claim_on_pool(
    source: DriverPool, pool: asyncpg.Pool, terms: ClaimTerms, user_id: str, now: datetime
) -> tuple[Any, ...]:
    """The member's claim, autocommitted, alone or in a batch of its guild's claims.

    Answers ``guildbank_claim_daily``'s row (status, account, opened, streak, award, balance,
    received, sent, transaction) with the status ``paid``, ``claimed`` or ``roles``; raises
    what the statement raised (asyncpg errors: the caller names the refusals).
    """
    queues = _queues.setdefault(source, {})
    queue = queues.get(terms)
    if queue is None:
        queue = queues[terms] = _Queue(pool)
    claim = _Claim(user_id, now, asyncio.get_running_loop().create_future())
    queue.waiting.append(claim)
    if queue.runner is None:
        queue.runner = asyncio.create_task(_run(queues, terms, queue))
    return await claim.answer


async def _run(queues: dict[ClaimTerms, _Queue], terms: ClaimTerms, queue: _Queue) -> None:
    """Send the waiting claims, a batch at a time, until none waits."""
    batch: list[_Claim] = []
    try:
        while batch := _next_batch(queue.waiting):
            await _send(queue.pool, terms, batch)
    except BaseException as error:  # cancelled with the loop: nobody waits in vain
        for claim in (*batch, *queue.waiting):
            _answer(claim, error=error)
        queue.waiting.clear()
        if not isinstance(error, Exception):
            raise
    finally:
        queue.runner = None
        if queues.get(terms) is queue and not queue.waiting:
            del queues[terms]


def _next_batch(waiting: deque[_Claim]) -> list[_Claim]:
    """The first waiting claim of each member, in arrival order (MAX_BATCH at most); the
    others stay. Claims whose caller gave up are dropped unsent."""
    batch: list[_Claim] = []
    members: set[str] = set()
    later: list[_Claim] = []
    while waiting and len(batch) < MAX_BATCH:
        claim = waiting.popleft()
        if claim.answer.done():
            continue
        if claim.user_id in members:
            later.append(claim)
        else:
            members.add(claim.user_id)
            batch.append(claim)
    waiting.extendleft(reversed(later))
    return batch


async def _send(pool: asyncpg.Pool, terms: ClaimTerms, batch: Sequence[_Claim]) -> None:
    if len(batch) == 1:
        await _alone(pool, terms, batch[0])
        return
    try:
        rows = await pool.fetch(
            _PG_CLAIM_MANY,
            terms.guild_id,
            [claim.user_id for claim in batch],
            [claim.now for claim in batch],
            terms.today,
            *terms.arguments(),
        )
    except _RETRY_ALONE:
        _each_alone(pool, terms, batch)
        return
    except Exception as error:
        for claim in batch:
            _answer(claim, error=error)
        return
    by_user = {row[0]: tuple(row)[1:] for row in rows}
    busy: list[_Claim] = []
    for claim in batch:
        row = by_user.get(claim.user_id)
        if row is None or row[0] == "busy":
            busy.append(claim)
        else:
            _answer(claim, row=row)
    _each_alone(pool, terms, busy)


# Claims run alone beside the batches (a busy member's row may be held for long).
_alone_tasks: set[asyncio.Task[None]] = set()


def _each_alone(pool: asyncpg.Pool, terms: ClaimTerms, claims: Sequence[_Claim]) -> None:
    """Run each claim as its own statement, without holding up the guild's next batch."""
    for claim in claims:
        task = asyncio.create_task(_alone(pool, terms, claim))
        _alone_tasks.add(task)
        task.add_done_callback(_alone_tasks.discard)


async def _alone(pool: asyncpg.Pool, terms: ClaimTerms, claim: _Claim) -> None:
    if claim.answer.done():
        return
    try:
        row = await pool.fetchrow(
            _PG_CLAIM_ONE, terms.guild_id, claim.user_id, claim.now, terms.today, *terms.arguments()
        )
    except BaseException as error:  # its caller's error (cancelled: the loop is closing)
        _answer(claim, error=error)
        if not isinstance(error, Exception):
            raise
        return
    assert row is not None
    _answer(claim, row=tuple(row))


def _answer(
    claim: _Claim, *, row: tuple[Any, ...] | None = None, error: BaseException | None = None
) -> None:
    if claim.answer.done():  # the caller gave up
        return
    if isinstance(error, asyncio.CancelledError):
        claim.answer.cancel()
    elif error is not None:
        claim.answer.set_exception(error)
    else:
        assert row is not None
        claim.answer.set_result(row)
