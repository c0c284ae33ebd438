"""A member's leaderboard rank in milliseconds at any guild size (docs/hot-paths.md).

An exact rank counts the leaderboard index entries ahead of the member, ~0.1-0.3 µs each: fine
near the top, far too slow deep in a guild of a million (a B-tree keeps no subtree counts). So:

* **exact** when fewer than ``rank_exact_limit`` (K) entries are ahead (a count stopped at K),
  and for every member of a guild with fewer than ``rank_snapshot_min_members`` (T) members;
* **approximate** deeper in a large guild: a per-guild *snapshot* holds the leaderboard
  position (balance, account id) at every Q-th rank (``rank_snapshot_step``), computed in the
  database in one index pass. The rank is the rank of the nearest boundary strictly ahead of the
  member, as of the snapshot, plus a live exact count of the entries between that boundary and
  the member (an index range of about Q entries). Only the boundary's rank can be stale: it is
  off by the net number of members who crossed that position (balance changes, accounts opened
  or leaving) since the snapshot was built.

Snapshots live in this process's memory (``Services.rank_snapshots``, an LRU of
``rank_snapshot_guilds`` guilds). The first request that needs one builds it; once it is older
than ``rank_snapshot_seconds`` the next request starts a rebuild in the background and keeps
answering from the old one meanwhile. Positions order as ``(-balance, id)`` ascending, the
leaderboard's order (richest first, ties to the oldest account), so ties rank as the exact
count ranks them.
"""

from __future__ import annotations

import asyncio
import bisect
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeAlias

import structlog
from sqlalchemy import (
    BigInteger,
    BindParameter,
    ColumnElement,
    Dialect,
    Integer,
    Select,
    String,
    bindparam,
    func,
    literal,
    select,
)

from guildbank.features.economy.schemas import LeaderboardEntryOut
from guildbank.platform.models.ledger import Account
from guildbank.platform.uow import Services, UnitOfWork, unit_of_work

__all__ = [
    "Snapshot",
    "Standing",
    "build_snapshot",
    "ranked_members",
    "settle",
    "standing",
]

log = structlog.get_logger(__name__)

_Select: TypeAlias = "Select[*tuple[Any, ...]]"
Position = tuple[int, int]
"""A place on the leaderboard, ``(-balance, account id)``: ascending is leaderboard order."""


def ranked_members(guild_id: str | BindParameter[str]) -> list[Any]:
    """Who is on the leaderboard; ``ix_accounts_leaderboard`` (migration 0009) holds exactly
    these rows in leaderboard order, so every count here is a range of that index. (SQLite
    matches a partial index's terms as written: keep them spelled like this.)"""
    return [Account.guild_id == guild_id, ~Account.is_system, Account.is_active]


@dataclass(frozen=True)
class Snapshot:
    """Every ``step``-th leaderboard position of one guild, as of ``built_at``."""

    built_at: datetime
    members: int
    step: int
    boundaries: tuple[Position, ...]  # the positions at ranks step, 2 * step, ...

    def boundary_ahead(self, position: Position) -> tuple[int, Position] | None:
        """The nearest boundary strictly ahead of ``position`` and its rank, or None when
        the position comes before the first boundary."""
        index = bisect.bisect_left(self.boundaries, position)
        if index == 0:
            return None
        return index * self.step, self.boundaries[index - 1]


@dataclass(frozen=True)
class Standing:
    """A member's rank (None when not on the leaderboard) and the guild's member count."""

    entry: LeaderboardEntryOut | None
    members: int
    members_exact: bool


@dataclass
class _Slot:
    """One guild's entry in ``Services.rank_snapshots``: its snapshot and the rebuild, if any."""

    snapshot: Snapshot | None = None
    task: asyncio.Task[Snapshot] | None = None
    tried_at: datetime | None = None


# Rebuilds in progress, held here too: the event loop keeps only weak references to tasks.
_RUNNING: set[asyncio.Task[Snapshot]] = set()


# --------------------------------------------------------------------------- statements
#
# Every statement is built once with named parameters. On PostgreSQL a unit that has not begun
# runs it on the driver pool (one autocommitted round trip, no ORM, no BEGIN/COMMIT: ~0.25 ms
# instead of ~2 ms for the same two statements through a session); elsewhere in the session.

_GUILD = bindparam("guild", type_=String)
_USER = bindparam("user", type_=String)
_BALANCE = bindparam("balance", type_=BigInteger)  # the member's position
_ACCOUNT = bindparam("account", type_=BigInteger)
_TOP = bindparam("top", type_=BigInteger)  # the snapshot boundary's position
_TOP_ID = bindparam("top_id", type_=BigInteger)
_LIMIT = bindparam("limit", type_=Integer)
_ORDER = (Account.balance.desc(), Account.id)

_MEMBER = select(Account.id, Account.balance, Account.total_received).where(
    *ranked_members(_GUILD), Account.user_id == _USER
)
_FIRST = (
    select(Account.user_id, Account.balance, Account.total_received)
    .where(*ranked_members(_GUILD))
    .order_by(*_ORDER)
    .limit(_LIMIT)
)


def _count(*where: Any) -> ColumnElement[int]:
    """The leaderboard entries matching ``where``: one range of the index."""
    return select(func.count()).where(*ranked_members(_GUILD), *where).scalar_subquery()


def _bounded(limit: BindParameter[int], *where: Any) -> ColumnElement[int]:
    """Like ``_count`` but stops at ``limit`` (read in index order: with a bare LIMIT the
    planner may scan the table instead)."""
    first = (
        select(Account.id)
        .where(*ranked_members(_GUILD), *where)
        .order_by(*_ORDER)
        .limit(limit)
        .subquery()
    )
    return select(func.count()).select_from(first).scalar_subquery()


_RICHER = (Account.balance > _BALANCE,)
_TIED_BEFORE = (Account.balance == _BALANCE, Account.id < _ACCOUNT)

# The counts a rank needs, by name; a statement selects several of them (one round trip).
_COUNTS: dict[str, ColumnElement[int]] = {
    # Everything ahead of the member: richer, or as rich and older (the exact rank - 1).
    "ahead": _count(*_RICHER) + _count(*_TIED_BEFORE),
    # The same, each range stopped at :limit (exact when below it).
    "ahead_bounded": _bounded(_LIMIT, *_RICHER) + _bounded(_LIMIT, *_TIED_BEFORE),
    # The guild's members, stopped at :small.
    "members_bounded": _bounded(bindparam("small", type_=Integer)),
    # Strictly between the boundary (:top, :top_id) and the member, the boundary richer ...
    "between": _count(Account.balance < _TOP, Account.balance > _BALANCE)
    + _count(Account.balance == _TOP, Account.id > _TOP_ID)
    + _count(*_TIED_BEFORE),
    # ... or as rich (:top = :balance).
    "between_tied": _count(Account.balance == _BALANCE, Account.id > _TOP_ID, *_TIED_BEFORE[1:]),
}


@functools.cache
def _counts(names: tuple[str, ...]) -> _Select:
    return select(*(_COUNTS[name].label(name) for name in names))


@functools.lru_cache(maxsize=64)  # a few statements per engine: bounded for test runs
def _pg_sql(statement: _Select, dialect: Dialect) -> tuple[str, tuple[tuple[str, Any], ...]]:
    """The statement as asyncpg runs it, compiled once: its SQL, and its parameters in order,
    each with its value when the statement holds one (a literal)."""
    compiled = statement.compile(dialect=dialect)
    values = compiled.params
    return str(compiled), tuple((name, values.get(name)) for name in compiled.positiontup or ())


async def _rows(uow: UnitOfWork, statement: _Select, **params: Any) -> Sequence[Sequence[Any]]:
    """The statement's rows: on the driver pool while the unit has not begun, else (SQLite,
    or a unit that already read through its session) in the unit's session."""
    pool = None if uow.began else await uow.services.standalone_pool()
    if pool is None:
        every: Sequence[Sequence[Any]] = (await uow.session.execute(statement, params)).all()
        return every
    sql, names = _pg_sql(statement, uow.services.engine.dialect)
    rows: Sequence[Sequence[Any]] = await pool.fetch(
        sql, *(params.get(name, value) for name, value in names)
    )
    return rows


async def _row(uow: UnitOfWork, statement: _Select, **params: Any) -> Sequence[Any] | None:
    rows = await _rows(uow, statement, **params)
    return rows[0] if rows else None


async def _scalars(uow: UnitOfWork, *names: str, **params: Any) -> list[int]:
    """The named counts, in one statement."""
    row = await _row(uow, _counts(names), **params)
    assert row is not None  # a SELECT of scalar subqueries returns one row
    return [int(value) for value in row]


async def first_entries(uow: UnitOfWork, guild_id: str, limit: int) -> Sequence[Sequence[Any]]:
    """The first ``limit`` leaderboard entries (user id, balance, total received): the first
    entries of the index, one round trip."""
    return await _rows(uow, _FIRST, guild=guild_id, limit=limit)


# --------------------------------------------------------------------------- snapshots


_STEP = bindparam("step", type_=Integer)
_NUMBERED = (
    select(
        Account.balance,
        Account.id,
        func.row_number().over(order_by=_ORDER).label("n"),
        func.lead(literal(1)).over(order_by=_ORDER).label("more"),
    )
    .where(*ranked_members(_GUILD))
    .subquery("numbered")
)
# Unordered: the few rows are sorted in Python, so the plan holds no sort at all.
_BOUNDARIES = select(_NUMBERED.c.balance, _NUMBERED.c.id, _NUMBERED.c.n).where(
    (_NUMBERED.c.n % _STEP == 0) | _NUMBERED.c.more.is_(None)
)


async def build_snapshot(uow: UnitOfWork, guild_id: str, step: int) -> Snapshot:
    """One pass over the guild's leaderboard index, numbered by a window function; only the
    step-th positions and the last (for the member count) come back."""
    rows = sorted(await _rows(uow, _BOUNDARIES, guild=guild_id, step=step), key=lambda r: r[2])
    return Snapshot(
        built_at=uow.now,
        members=int(rows[-1][2]) if rows else 0,
        step=step,
        boundaries=tuple((-balance, id_) for balance, id_, n in rows if n % step == 0),
    )


async def _rebuild(services: Services, guild_id: str) -> Snapshot:
    async with unit_of_work(services, read_only=True) as uow:
        snapshot = await build_snapshot(uow, guild_id, services.rank_snapshot_step)
        await uow.commit()
    return snapshot


def _slot(services: Services, guild_id: str) -> _Slot:
    slot: _Slot | None = services.rank_snapshots.get(guild_id)
    if slot is None:
        slot = _Slot()
        services.rank_snapshots.put(guild_id, slot)
    return slot


def _start(services: Services, guild_id: str, slot: _Slot, now: datetime) -> asyncio.Task[Snapshot]:
    """Start (or join) the guild's rebuild; its result replaces the slot's snapshot, and a
    guild that shrank below the threshold is forgotten (counted exactly again)."""
    if slot.task is not None:
        return slot.task
    slot.tried_at = now
    task = asyncio.create_task(_rebuild(services, guild_id), name=f"rank snapshot {guild_id}")
    slot.task = task
    _RUNNING.add(task)

    def done(finished: asyncio.Task[Snapshot]) -> None:
        _RUNNING.discard(finished)
        slot.task = None
        if finished.cancelled():
            return
        error = finished.exception()
        if error is not None:
            log.warning("rank_snapshot_failed", guild_id=guild_id, error=repr(error))
            return
        slot.snapshot = finished.result()
        small = slot.snapshot.members < services.rank_snapshot_min_members
        if small and services.rank_snapshots.get(guild_id) is slot:
            services.rank_snapshots.discard(guild_id)

    task.add_done_callback(done)
    return task


async def _snapshot(uow: UnitOfWork, guild_id: str) -> Snapshot:
    """The guild's snapshot, built now if this process has none (awaited: the one time a
    request waits for it; concurrent requests share the build)."""
    slot = _slot(uow.services, guild_id)
    if slot.snapshot is not None:
        return slot.snapshot
    return await asyncio.shield(_start(uow.services, guild_id, slot, uow.now))


def _cached(uow: UnitOfWork, guild_id: str) -> Snapshot | None:
    """The guild's snapshot if this process holds one; an old one starts its rebuild in the
    background (at most once per ``rank_snapshot_seconds``, even when rebuilds fail)."""
    services = uow.services
    slot: _Slot | None = services.rank_snapshots.get(guild_id)
    if slot is None or slot.snapshot is None:
        return None
    age = timedelta(seconds=services.rank_snapshot_seconds)
    if uow.now - slot.snapshot.built_at >= age and (
        slot.tried_at is None or uow.now - slot.tried_at >= age
    ):
        _start(services, guild_id, slot, uow.now)
    return slot.snapshot


async def settle() -> None:
    """Wait for the snapshot rebuilds in progress on this event loop (tests, benchmarks)."""
    loop = asyncio.get_running_loop()
    await asyncio.gather(*(t for t in _RUNNING if t.get_loop() is loop), return_exceptions=True)


# --------------------------------------------------------------------------- ranks


async def standing(uow: UnitOfWork, *, guild_id: str, user_id: str) -> Standing:
    """The member's rank and the member count, each saying whether it is exact.

    Two short statements as a rule: the member's row, then one of counts (a count stopped at
    K, or the live range below a snapshot boundary). A small guild's member more than K deep
    takes a third, the full exact count; a large guild's first request builds its snapshot.
    """
    services = uow.services
    small = services.rank_snapshot_min_members
    row = await _row(uow, _MEMBER, guild=guild_id, user=user_id)
    snapshot = _cached(uow, guild_id)
    if row is None:
        if snapshot is not None:
            return Standing(None, snapshot.members, members_exact=False)
        (members,) = await _scalars(uow, "members_bounded", guild=guild_id, small=small)
        if members < small:
            return Standing(None, members, members_exact=True)
        snapshot = await _snapshot(uow, guild_id)
        return Standing(None, snapshot.members, members_exact=False)

    account, balance, received = row
    me = _Member(guild_id, balance, account)
    members_exact = False
    if snapshot is None:
        ahead, members = await _scalars(
            uow,
            "ahead_bounded",
            "members_bounded",
            **me.params(limit=services.rank_exact_limit, small=small),
        )
        exact = True
        if members < small:
            members_exact = True
            if ahead >= services.rank_exact_limit:
                (ahead,) = await _scalars(uow, "ahead", **me.params())
        else:
            snapshot = await _snapshot(uow, guild_id)
            members = snapshot.members
            if ahead >= services.rank_exact_limit:
                ahead, exact = await _ahead_of(uow, snapshot, me)
    else:
        members = snapshot.members
        ahead, exact = await _ahead_of(uow, snapshot, me)
    ranked = LeaderboardEntryOut(
        rank=ahead + 1, user_id=user_id, balance=balance, total_received=received, rank_exact=exact
    )
    return Standing(ranked, members, members_exact=members_exact)


@dataclass(frozen=True)
class _Member:
    guild_id: str
    balance: int
    account: int

    @property
    def position(self) -> Position:
        return (-self.balance, self.account)

    def params(self, **more: Any) -> dict[str, Any]:
        return {"guild": self.guild_id, "balance": self.balance, "account": self.account, **more}


async def _ahead_of(uow: UnitOfWork, snapshot: Snapshot, me: _Member) -> tuple[int, bool]:
    """How many entries are ahead of ``me``, and whether that is exact: it is above the first
    boundary (all of them are counted) and when a count stopped at K finds fewer than K
    (tried only when the snapshot puts the member's boundary within the first K)."""
    limit = uow.services.rank_exact_limit
    found = snapshot.boundary_ahead(me.position)
    if found is None:
        (ahead,) = await _scalars(uow, "ahead", **me.params())
        return ahead, True
    boundary_rank, (top, top_id) = found
    if -top == me.balance:
        between, params = "between_tied", me.params(top_id=top_id)
    else:
        between, params = "between", me.params(top=-top, top_id=top_id)
    if boundary_rank >= limit:
        (count,) = await _scalars(uow, between, **params)
        return boundary_rank + count, False
    bounded, count = await _scalars(uow, "ahead_bounded", between, limit=limit, **params)
    if bounded < limit:
        return bounded, True
    return boundary_rank + count, False
