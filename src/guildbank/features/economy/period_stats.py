"""Economy statistics over time: a period's flows (``GET …/transactions/statistics``), the
money supply at any moment, and the overview's daily money supply, velocity and Gini
coefficient.

Balances in the past are never summed from the beginning of history: the ledger archive moves
old entries out of the hot tables into per-account checkpoints, so the beginning is not there
to sum. A member's balance at a moment T is their current balance minus their entries in
transactions created at or after T; that stays exact for every T after the archive's cut-off,
and costs entries newer than T, not the whole history. Nothing is stored: past days' figures are
computed on demand and, being history (the ledger is append-only), cached per process.
docs/statistics.md explains the choices and their cost.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from typing import Any, Literal

from sqlalchemy import case, func, or_, select
from sqlalchemy.engine import Engine

from guildbank.core.errors import InvalidInput
from guildbank.core.ids import is_snowflake
from guildbank.features.economy.schemas import PeriodStatisticsOut, TypeStatisticsOut
from guildbank.features.guilds.queries import get_config
from guildbank.platform.cache import TtlCache
from guildbank.platform.models.ledger import Account, LedgerEntry, LedgerTransaction
from guildbank.platform.uow import UnitOfWork

__all__ = [
    "PERIODS",
    "EconomyDay",
    "Period",
    "economy_series",
    "gini_at",
    "period_statistics",
    "supply_at",
]

Period = Literal["day", "week", "month", "all"]
# Rolling windows ending now; "all" is every transaction still in the hot tables.
PERIODS: dict[Period, timedelta | None] = {
    "day": timedelta(days=1),
    "week": timedelta(days=7),
    "month": timedelta(days=30),
    "all": None,
}
MAX_SERIES_DAYS = 90
# A day's figures are cached once the day has been over this long (a transaction stamped
# 23:59:59 may still be committing just after midnight).
SETTLED_AFTER = timedelta(minutes=5)
# Past days never change (append-only ledger): kept long; today's point only briefly.
PAST_DAY_SECONDS = 6 * 3600.0
TODAY_SECONDS = 60.0
CACHED_POINTS = 50_000


def _guild_members(guild_id: str) -> list[Any]:
    return [Account.guild_id == guild_id, ~Account.is_system]


def _since(at: datetime | None) -> list[Any]:
    return [] if at is None else [LedgerTransaction.created_at >= at]


async def _member_flows_since(
    uow: UnitOfWork, guild_id: str, at: datetime | None, user_id: str | None = None
) -> int:
    """What member accounts (or one member's) gained in net from ``at`` on (None: in every
    transaction the hot tables hold)."""
    conditions = [*_guild_members(guild_id), *_since(at)]
    if user_id is not None:
        conditions.append(Account.user_id == user_id)
    found = (
        await uow.session.execute(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0))
            .select_from(LedgerEntry)
            .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
            .join(Account, Account.id == LedgerEntry.account_id)
            .where(LedgerTransaction.guild_id == guild_id, *conditions)
        )
    ).scalar_one()
    return int(found)


async def _current_supply(uow: UnitOfWork, guild_id: str, user_id: str | None = None) -> int:
    conditions = _guild_members(guild_id)
    if user_id is not None:
        conditions.append(Account.user_id == user_id)
    found = (
        await uow.session.execute(
            select(func.coalesce(func.sum(Account.balance), 0)).where(*conditions)
        )
    ).scalar_one()
    return int(found)


async def supply_at(uow: UnitOfWork, *, guild_id: str, at: datetime | None) -> int:
    """What members held at the moment ``at``: today's balances minus every member entry of
    the transactions created at or after ``at`` (never a sum from the beginning of history,
    which the ledger archive moves out of the hot tables). ``None`` is the moment before the
    oldest transaction still held: the archive's checkpoints (0 while nothing is archived).

    Exact for any ``at`` after the archive's cut-off; costs one index range of the guild's
    transactions newer than ``at`` (``ix_ledger_transactions_guild_created``)."""
    current = await _current_supply(uow, guild_id)
    return current - await _member_flows_since(uow, guild_id, at)


def _check_user(user_id: str | None) -> None:
    if user_id is not None and not is_snowflake(user_id):
        raise InvalidInput(f"{user_id!r} is not a Discord user id", code="invalid_id")


async def period_statistics(
    uow: UnitOfWork, *, guild_id: str, period: Period, user_id: str | None = None
) -> PeriodStatisticsOut:
    """Earned, spent and per-type figures over a rolling period ending now, for the guild's
    members or one member, with the guild's active members and money supply at both ends.

    Earned is what reached member accounts, spent what left them (a transfer between members
    is both); for the whole guild, earned - spent = supply at the end - supply at the start."""
    await get_config(uow, guild_id)
    _check_user(user_id)
    end = uow.now.astimezone(UTC)
    length = PERIODS[period]
    start = None if length is None else end - length
    scope = [*_guild_members(guild_id), *_since(start)]
    if user_id is not None:
        scope.append(Account.user_id == user_id)
    earned = func.coalesce(func.sum(case((LedgerEntry.amount > 0, LedgerEntry.amount), else_=0)), 0)
    spent = func.coalesce(func.sum(case((LedgerEntry.amount < 0, -LedgerEntry.amount), else_=0)), 0)
    flows = (
        await uow.session.execute(
            select(
                LedgerTransaction.type,
                func.count(func.distinct(LedgerTransaction.id)),
                earned,
                spent,
            )
            .select_from(LedgerEntry)
            .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
            .join(Account, Account.id == LedgerEntry.account_id)
            .where(LedgerTransaction.guild_id == guild_id, *scope)
            .group_by(LedgerTransaction.type)
        )
    ).all()
    # Volume per type: each transaction's amount once (a join with its legs would repeat it).
    volume_query = select(
        LedgerTransaction.type, func.count(), func.coalesce(func.sum(LedgerTransaction.amount), 0)
    ).where(LedgerTransaction.guild_id == guild_id, *_since(start))
    if user_id is not None:
        volume_query = volume_query.where(
            LedgerTransaction.id.in_(
                select(LedgerEntry.transaction_id)
                .join(Account, Account.id == LedgerEntry.account_id)
                .where(Account.guild_id == guild_id, Account.user_id == user_id)
            )
        )
    volumes = {
        kind: (int(count), int(volume))
        for kind, count, volume in (
            await uow.session.execute(volume_query.group_by(LedgerTransaction.type))
        ).all()
    }
    moved = {kind: (int(e), int(s)) for kind, _, e, s in flows}
    by_type = [
        TypeStatisticsOut(
            type=kind,
            transactions=volumes[kind][0],
            volume=volumes[kind][1],
            earned=moved.get(kind, (0, 0))[0],
            spent=moved.get(kind, (0, 0))[1],
        )
        for kind in sorted(volumes)
    ]
    active = (
        await uow.session.execute(
            select(func.count(func.distinct(LedgerEntry.account_id)))
            .select_from(LedgerEntry)
            .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
            .join(Account, Account.id == LedgerEntry.account_id)
            .where(LedgerTransaction.guild_id == guild_id, *_guild_members(guild_id))
            .where(*_since(start))
        )
    ).scalar_one()
    supply_end = await _current_supply(uow, guild_id)
    supply_start = supply_end - await _member_flows_since(uow, guild_id, start)
    balance_start = balance_end = None
    if user_id is not None:
        balance_end = await _current_supply(uow, guild_id, user_id)
        balance_start = balance_end - await _member_flows_since(uow, guild_id, start, user_id)
    return PeriodStatisticsOut(
        guild_id=guild_id,
        user_id=user_id,
        period=period,
        start=start,
        end=end,
        transactions=sum(t.transactions for t in by_type),
        volume=sum(t.volume for t in by_type),
        earned=sum(t.earned for t in by_type),
        spent=sum(t.spent for t in by_type),
        by_type=by_type,
        active_members=int(active),
        money_supply_start=supply_start,
        money_supply_end=supply_end,
        balance_start=balance_start,
        balance_end=balance_end,
    )


def gini(count: int, total: int, weighted: int) -> float:
    """The Gini coefficient of ``count`` non-negative balances from their ``total`` and the
    sum of each balance times its rank in ascending order: 2·Σ i·x_i / (n·Σx) - (n+1)/n."""
    if count == 0 or total <= 0:
        return 0.0
    return float(Fraction(2 * weighted, count * total) - Fraction(count + 1, count))


async def gini_at(uow: UnitOfWork, *, guild_id: str, at: datetime) -> tuple[int, float]:
    """The members at the moment ``at`` and the Gini coefficient of their balances then.

    Members then: accounts opened by ``at`` and still in the guild at ``at`` (active now or
    left after it; a member who left before ``at`` and came back later counts as present).
    Each balance is today's minus the account's entries in transactions created at or after
    ``at`` (see ``supply_at``). One statement: the guild's entries newer than ``at`` summed
    per account, joined to its accounts, ranked by a window ``row_number() OVER (ORDER BY
    balance)`` and folded into three numbers: the database sorts the n balances (O(n log n),
    ~1 s for a million members on PostgreSQL) and nothing but three integers reaches Python.
    """
    moved = (
        select(LedgerEntry.account_id, func.sum(LedgerEntry.amount).label("delta"))
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(LedgerTransaction.guild_id == guild_id, LedgerTransaction.created_at >= at)
        .group_by(LedgerEntry.account_id)
        .subquery()
    )
    balance = (Account.balance - func.coalesce(moved.c.delta, 0)).label("balance")
    balances = (
        select(balance)
        .select_from(Account)
        .outerjoin(moved, moved.c.account_id == Account.id)
        .where(
            *_guild_members(guild_id),
            Account.created_at <= at,
            or_(Account.is_active, Account.left_at > at),
        )
        .subquery()
    )
    ranked = select(
        balances.c.balance,
        func.row_number().over(order_by=balances.c.balance).label("position"),
    ).subquery()
    count, total, weighted = (
        await uow.session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(ranked.c.balance), 0),
                func.coalesce(func.sum(ranked.c.position * ranked.c.balance), 0),
            )
        )
    ).one()
    return int(count), gini(int(count), int(total), int(weighted))


@dataclass(frozen=True, slots=True)
class EconomyDay:
    """One UTC day of the overview: at its end (today: now) what members held, how many
    there were and how unequal their balances were; during it, what left member accounts and
    the velocity (spent / supply at the end of the day; 0 when nobody held anything)."""

    day: date
    supply: int
    spent: int
    velocity: float
    members: int
    gini: float


_Points = TtlCache[tuple[str, date], tuple[int, float]]
# Per database (engine), so test databases and processes never share figures.
_CACHES: weakref.WeakKeyDictionary[Engine, tuple[_Points, _Points]] = weakref.WeakKeyDictionary()


def _caches(uow: UnitOfWork) -> tuple[_Points, _Points]:
    engine = uow.services.engine.sync_engine
    found = _CACHES.get(engine)
    if found is None:
        found = _CACHES[engine] = (
            TtlCache(PAST_DAY_SECONDS, CACHED_POINTS),
            TtlCache(TODAY_SECONDS, CACHED_POINTS),
        )
    return found


async def _gini_of_day(
    uow: UnitOfWork, guild_id: str, day: date, end: datetime, now: datetime
) -> tuple[int, float]:
    past, today = _caches(uow)
    settled = now - end >= SETTLED_AFTER
    cache = past if settled else today
    found = cache.get((guild_id, day))
    if found is None:
        found = await gini_at(uow, guild_id=guild_id, at=end)  # today: so far
        cache.put((guild_id, day), found)
    return found


def _utc_day(uow: UnitOfWork, column: Any) -> Any:
    if uow.services.dialect == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)


async def economy_series(uow: UnitOfWork, *, guild_id: str, days: int = 30) -> list[EconomyDay]:
    """The overview's last ``days`` UTC days: supply, spending, velocity, members and Gini.

    Supply walks back from today's balances by each day's member flows (two grouped queries);
    the Gini costs one ranked aggregate per day (``gini_at``), cached per process once the
    day is over, so a page view computes today's point (at most once a minute) only."""
    await get_config(uow, guild_id)
    if not 1 <= days <= MAX_SERIES_DAYS:
        raise InvalidInput(f"days must be between 1 and {MAX_SERIES_DAYS}", code="invalid_days")
    now = uow.now.astimezone(UTC)
    first = now.date() - timedelta(days=days - 1)
    since = datetime.combine(first, time.min, UTC)
    day = _utc_day(uow, LedgerTransaction.created_at)
    rows = (
        await uow.session.execute(
            select(
                day,
                func.sum(LedgerEntry.amount),
                func.sum(case((LedgerEntry.amount < 0, -LedgerEntry.amount), else_=0)),
            )
            .select_from(LedgerEntry)
            .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
            .join(Account, Account.id == LedgerEntry.account_id)
            .where(LedgerTransaction.guild_id == guild_id, *_guild_members(guild_id))
            .where(LedgerTransaction.created_at >= since)
            .group_by(day)
        )
    ).all()
    flows = {
        d if isinstance(d, date) else date.fromisoformat(str(d)): (int(net), int(out))
        for d, net, out in rows
    }
    supply = await _current_supply(uow, guild_id)
    points: list[EconomyDay] = []
    for offset in range(days - 1, -1, -1):
        d = first + timedelta(days=offset)
        net, spent = flows.get(d, (0, 0))
        end = datetime.combine(d + timedelta(days=1), time.min, UTC)
        members, coefficient = await _gini_of_day(uow, guild_id, d, end, now)
        velocity = spent / supply if supply > 0 else 0.0
        points.append(EconomyDay(d, supply, spent, velocity, members, coefficient))
        supply -= net
    points.reverse()
    return points
