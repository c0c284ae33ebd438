"""Reads only the dashboard needs (summaries, daily activity, money supply, member search,
filtered transactions and their export); the reads the API and the bot share live in
``queries``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import aliased

from guildbank.core.errors import InvalidInput
from guildbank.core.ids import is_snowflake
from guildbank.features.economy.queries import TransactionSort
from guildbank.features.guilds.queries import get_config
from guildbank.platform.clock import as_utc
from guildbank.platform.models.ledger import Account, LedgerEntry, LedgerTransaction
from guildbank.platform.uow import UnitOfWork

__all__ = [
    "DayPoint",
    "ExportRow",
    "GuildSummary",
    "MemberPage",
    "MemberRow",
    "MemberSort",
    "MemberStatus",
    "TransactionFilter",
    "count_transactions",
    "daily_activity",
    "export_batch",
    "guild_summary",
    "reversal_of",
    "search_members",
]

MemberStatus = Literal["active", "inactive", "all"]
MemberSort = Literal["balance", "received", "sent", "streak", "newest", "oldest"]
MAX_DAYS = 366


@dataclass(frozen=True, slots=True)
class GuildSummary:
    guild_id: str
    members: int
    inactive_members: int
    money_supply: int
    transactions: int
    transactions_today: int


@dataclass(frozen=True, slots=True)
class DayPoint:
    day: date
    transactions: int
    volume: int


@dataclass(frozen=True, slots=True)
class MemberRow:
    user_id: str
    balance: int
    total_received: int
    total_sent: int
    streak_count: int
    last_daily: date | None
    is_active: bool
    left_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class MemberPage:
    total: int
    rows: list[MemberRow]


@dataclass(frozen=True, slots=True)
class TransactionFilter:
    """The transaction log's filters, shared by the page, its count and the CSV export."""

    user_id: str | None = None
    type: str | None = None
    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True, slots=True)
class ExportRow:
    id: int
    created_at: datetime
    type: str
    amount: int
    reason: str | None
    actor_id: str | None
    reverses_id: int | None
    debited: list[str]
    credited: list[str]


def _as_date(value: Any) -> date:
    """SQLite's date() answers text, PostgreSQL's a date."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _utc_day(uow: UnitOfWork, column: Any) -> ColumnElement[Any]:
    if uow.services.dialect == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)


def _members(guild_id: str) -> list[ColumnElement[bool]]:
    return [Account.guild_id == guild_id, ~Account.is_system]


async def guild_summary(uow: UnitOfWork, *, guild_id: str) -> GuildSummary:
    """Headline numbers of a guild's overview."""
    await get_config(uow, guild_id)
    active, inactive, supply = (
        await uow.session.execute(
            select(
                func.count().filter(Account.is_active),
                func.count().filter(~Account.is_active),
                func.coalesce(func.sum(Account.balance), 0),
            ).where(*_members(guild_id))
        )
    ).one()
    midnight = datetime.combine(uow.now.astimezone(UTC).date(), datetime.min.time(), UTC)
    total, today = (
        await uow.session.execute(
            select(
                func.count(),
                func.count().filter(LedgerTransaction.created_at >= midnight),
            ).where(LedgerTransaction.guild_id == guild_id)
        )
    ).one()
    return GuildSummary(guild_id, active, inactive, supply, total, today)


def _window(uow: UnitOfWork, days: int) -> tuple[date, datetime]:
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"days must be between 1 and {MAX_DAYS}", code="invalid_days")
    first = uow.now.astimezone(UTC).date() - timedelta(days=days - 1)
    return first, datetime.combine(first, datetime.min.time(), UTC)


async def daily_activity(uow: UnitOfWork, *, guild_id: str, days: int = 30) -> list[DayPoint]:
    """Transactions and moved amount per UTC day over the last ``days`` days (zeros included)."""
    await get_config(uow, guild_id)
    first, since = _window(uow, days)
    day = _utc_day(uow, LedgerTransaction.created_at)
    rows = (
        await uow.session.execute(
            select(day, func.count(), func.coalesce(func.sum(LedgerTransaction.amount), 0))
            .where(LedgerTransaction.guild_id == guild_id, LedgerTransaction.created_at >= since)
            .group_by(day)
        )
    ).all()
    found = {_as_date(d): (count, volume) for d, count, volume in rows}
    return [
        DayPoint(d, *found.get(d, (0, 0))) for d in (first + timedelta(days=i) for i in range(days))
    ]


_MEMBER_ORDER: dict[MemberSort, tuple[Any, ...]] = {
    "balance": (Account.balance.desc(), Account.id.asc()),
    "received": (Account.total_received.desc(), Account.id.asc()),
    "sent": (Account.total_sent.desc(), Account.id.asc()),
    "streak": (Account.streak_count.desc(), Account.id.asc()),
    "newest": (Account.id.desc(),),
    "oldest": (Account.id.asc(),),
}


async def search_members(
    uow: UnitOfWork,
    *,
    guild_id: str,
    user_ids: Sequence[str] | None = None,
    id_prefix: str | None = None,
    id_part: str | None = None,
    status: MemberStatus = "active",
    sort: MemberSort = "balance",
    limit: int = 25,
    offset: int = 0,
) -> MemberPage:
    """Member accounts matching ids (e.g. found by name in Discord), an id prefix or any part of
    the id (``id_part``), paged.

    Any part of an id is a ``LIKE '%digits%'``: no index serves it, but the guild's own accounts
    are all it scans (the guild_id index narrows first), a few milliseconds at 10,000 members."""
    await get_config(uow, guild_id)
    conditions = _members(guild_id)
    if status != "all":
        conditions.append(Account.is_active.is_(status == "active"))
    if user_ids is not None:
        conditions.append(Account.user_id.in_(list(user_ids)))
    for digits in (id_prefix, id_part):
        if digits and not (digits.isascii() and digits.isdigit()):
            raise InvalidInput("An id search takes digits only.", code="invalid_id")
    if id_prefix:
        conditions.append(Account.user_id.startswith(id_prefix))
    if id_part:
        conditions.append(Account.user_id.contains(id_part))
    total = (await uow.session.execute(select(func.count()).where(*conditions))).scalar_one()
    rows = (
        await uow.session.execute(
            select(
                Account.user_id,
                Account.balance,
                Account.total_received,
                Account.total_sent,
                Account.streak_count,
                Account.last_daily,
                Account.is_active,
                Account.left_at,
                Account.created_at,
            )
            .where(*conditions)
            .order_by(*_MEMBER_ORDER[sort])
            .limit(limit)
            .offset(offset)
        )
    ).all()
    return MemberPage(
        total,
        [
            MemberRow(*r[:7], left_at=as_utc(r[7]) if r[7] else None, created_at=as_utc(r[8]))
            for r in rows
        ],
    )


def _filtered(guild_id: str, where: TransactionFilter) -> Select[Any]:
    query = select(LedgerTransaction).where(LedgerTransaction.guild_id == guild_id)
    if where.user_id is not None:
        if not is_snowflake(where.user_id):
            raise InvalidInput(f"{where.user_id!r} is not a Discord user id", code="invalid_id")
        member = aliased(Account)
        query = query.where(
            LedgerTransaction.id.in_(
                select(LedgerEntry.transaction_id)
                .join(member, member.id == LedgerEntry.account_id)
                .where(member.guild_id == guild_id, member.user_id == where.user_id)
            )
        )
    if where.type is not None:
        query = query.where(LedgerTransaction.type == where.type)
    # SQLite compares timestamps as UTC text: bounds in another offset must be converted
    # (as ``queries.list_transactions`` does, so the export matches the list row for row).
    if where.start is not None:
        query = query.where(LedgerTransaction.created_at >= as_utc(where.start).astimezone(UTC))
    if where.end is not None:
        query = query.where(LedgerTransaction.created_at < as_utc(where.end).astimezone(UTC))
    return query


async def count_transactions(uow: UnitOfWork, *, guild_id: str, where: TransactionFilter) -> int:
    """How many transactions the log's filters match (for paging)."""
    await get_config(uow, guild_id)
    inner = _filtered(guild_id, where).with_only_columns(LedgerTransaction.id).subquery()
    return (await uow.session.execute(select(func.count()).select_from(inner))).scalar_one()


# Each sort of the transaction log as (key column, descending): the export pages through it
# by keyset on (key, id), in exactly the order ``queries.list_transactions`` answers.
_EXPORT_ORDER: dict[TransactionSort, tuple[Any, bool]] = {
    "newest": (LedgerTransaction.created_at, True),
    "oldest": (LedgerTransaction.created_at, False),
    "largest": (LedgerTransaction.amount, True),
    "smallest": (LedgerTransaction.amount, False),
}


def _sort_key(row: ExportRow, sort: TransactionSort) -> object:
    return row.created_at if sort in ("newest", "oldest") else row.amount


async def export_batch(
    uow: UnitOfWork,
    *,
    guild_id: str,
    where: TransactionFilter,
    sort: TransactionSort = "newest",
    after: ExportRow | None = None,
    limit: int = 500,
) -> list[ExportRow]:
    """One page of the export in the log's ``sort``, continuing after the row ``after`` (the
    last of the previous page: keyset paging, so each page costs the same however deep).

    newest/oldest walk the (guild_id, created_at) index; largest/smallest have no index on
    the amount, so each page sorts what the filters leave (a top-``limit`` sort: fine for a
    filtered export, slow for a whole million-transaction guild; docs/statistics.md)."""
    await get_config(uow, guild_id)
    key, descending = _EXPORT_ORDER[sort]
    query = _filtered(guild_id, where)
    if after is not None:
        value = _sort_key(after, sort)
        if descending:
            query = query.where(
                or_(key < value, and_(key == value, LedgerTransaction.id < after.id))
            )
        else:
            query = query.where(
                or_(key > value, and_(key == value, LedgerTransaction.id > after.id))
            )
    order = (
        (key.desc(), LedgerTransaction.id.desc())
        if descending
        else (key.asc(), LedgerTransaction.id.asc())
    )
    transactions = list(
        (await uow.session.execute(query.order_by(*order).limit(limit))).scalars().all()
    )
    if not transactions:
        return []
    legs: dict[int, tuple[list[str], list[str]]] = {t.id: ([], []) for t in transactions}
    for tx_id, user_id, amount in (
        await uow.session.execute(
            select(LedgerEntry.transaction_id, Account.user_id, LedgerEntry.amount)
            .join(Account, Account.id == LedgerEntry.account_id)
            .where(LedgerEntry.transaction_id.in_(list(legs)))
            .order_by(LedgerEntry.id)
        )
    ).all():
        legs[tx_id][0 if amount < 0 else 1].append(user_id)
    return [
        ExportRow(
            t.id,
            as_utc(t.created_at),
            t.type,
            t.amount,
            t.reason,
            t.actor_id,
            t.reverses_id,
            *legs[t.id],
        )
        for t in transactions
    ]


async def reversal_of(uow: UnitOfWork, *, guild_id: str, transaction_id: int) -> int | None:
    """The id of the transaction that reversed this one, if any."""
    await get_config(uow, guild_id)
    return (
        await uow.session.execute(
            select(LedgerTransaction.id).where(
                LedgerTransaction.guild_id == guild_id,
                LedgerTransaction.reverses_id == transaction_id,
            )
        )
    ).scalar_one_or_none()
