"""Reads of the members tools: the list (search, sort, page), a member's page with what the
other features know of them (squad, inventory, tasks, history), and the members who left."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select

from guildbank.core.errors import InvalidInput
from guildbank.core.ids import is_snowflake
from guildbank.features.economy import queries as economy
from guildbank.features.guilds.queries import get_config
from guildbank.features.members.errors import MemberNotFound
from guildbank.features.members.rules import (
    MAX_PER_PAGE,
    MemberSort,
    MemberStatus,
    check_days,
    check_search,
)
from guildbank.features.members.schemas import (
    InactiveListOut,
    InactiveMemberOut,
    MemberDetailOut,
    MemberListOut,
    MemberOut,
    MemberSquadOut,
)
from guildbank.features.shop import queries as shop
from guildbank.features.squads import queries as squads
from guildbank.features.squads.errors import NotInSquad
from guildbank.features.tasks import queries as tasks
from guildbank.platform.clock import as_utc
from guildbank.platform.models.ledger import Account
from guildbank.platform.uow import UnitOfWork

__all__ = [
    "cutoff_for",
    "inactive_members",
    "list_members",
    "member_detail",
    "member_row",
]

RECENT_TRANSACTIONS = 10

_ORDER: dict[MemberSort, tuple[Any, ...]] = {
    "balance": (Account.balance.desc(), Account.id.asc()),
    "received": (Account.total_received.desc(), Account.id.asc()),
    "sent": (Account.total_sent.desc(), Account.id.asc()),
    "streak": (Account.streak_count.desc(), Account.id.asc()),
    # Joined: the order accounts were opened in (the first time the member appeared).
    "joined": (Account.id.asc(),),
    "oldest": (Account.id.asc(),),
    "newest": (Account.id.desc(),),
}

_COLUMNS = (
    Account.user_id,
    Account.display_name,
    Account.balance,
    Account.total_received,
    Account.total_sent,
    Account.streak_count,
    Account.last_daily,
    Account.is_active,
    Account.left_at,
    Account.created_at,
)


def _member(row: Any) -> MemberOut:
    return MemberOut(
        user_id=row[0],
        display_name=row[1],
        balance=row[2],
        total_received=row[3],
        total_sent=row[4],
        streak_count=row[5],
        last_daily=row[6],
        is_active=row[7],
        left_at=as_utc(row[8]) if row[8] is not None else None,
        joined_at=as_utc(row[9]),
    )


def _matching(search: str, user_ids: Sequence[str] | None) -> ColumnElement[bool]:
    """Any part of the name the member goes by (any case), any part of their id, or one of
    ``user_ids`` (members Discord found by name). No index serves ``LIKE '%…%'``, but the
    guild's own accounts are all it scans (the guild_id index narrows first)."""
    found: list[ColumnElement[bool]] = [
        func.lower(Account.display_name).contains(search.lower(), autoescape=True)
    ]
    if search.isascii() and search.isdigit():
        found.append(Account.user_id.contains(search))
    if user_ids:
        found.append(Account.user_id.in_(list(user_ids)))
    return or_(*found)


async def list_members(
    uow: UnitOfWork,
    *,
    guild_id: str,
    search: str | None = None,
    user_ids: Sequence[str] | None = None,
    status: MemberStatus = "active",
    sort: MemberSort = "balance",
    page: int = 1,
    per_page: int = 25,
) -> MemberListOut:
    """A page of the guild's members, matching ``search`` (name or id) when given."""
    await get_config(uow, guild_id)
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise InvalidInput(f"per_page must be 1 to {MAX_PER_PAGE}", code="invalid_per_page")
    if page < 1:
        raise InvalidInput("page must be 1 or more", code="invalid_page")
    search = check_search(search)
    conditions: list[ColumnElement[bool]] = [Account.guild_id == guild_id, ~Account.is_system]
    if status != "all":
        conditions.append(Account.is_active.is_(status == "active"))
    if search is not None:
        conditions.append(_matching(search, user_ids))
    total = (await uow.session.execute(select(func.count()).where(*conditions))).scalar_one()
    rows = (
        await uow.session.execute(
            select(*_COLUMNS)
            .where(*conditions)
            .order_by(*_ORDER[sort])
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    ).all()
    return MemberListOut(
        guild_id=guild_id,
        page=page,
        per_page=per_page,
        total=total,
        pages=max(1, -(-total // per_page)),
        members=[_member(row) for row in rows],
    )


async def member_row(uow: UnitOfWork, *, guild_id: str, user_id: str) -> MemberOut | None:
    """The member's account as the list shows it; None when they have none."""
    if not is_snowflake(user_id):
        raise InvalidInput(f"{user_id!r} is not a Discord user id", code="invalid_id")
    row = (
        await uow.session.execute(
            select(*_COLUMNS).where(
                Account.guild_id == guild_id, Account.user_id == user_id, ~Account.is_system
            )
        )
    ).one_or_none()
    return None if row is None else _member(row)


async def member_detail(
    uow: UnitOfWork, *, guild_id: str, user_id: str, recent: int = RECENT_TRANSACTIONS
) -> MemberDetailOut:
    """Everything about one member: money, streak, rank, squad, inventory, tasks, history."""
    await get_config(uow, guild_id)
    row = await member_row(uow, guild_id=guild_id, user_id=user_id)
    if row is None:
        raise MemberNotFound(user_id)
    balance = await economy.get_balance(uow, guild_id=guild_id, user_id=user_id)
    rank = await economy.rank_of(uow, guild_id=guild_id, user_id=user_id)
    try:
        membership = await squads.member_squad(uow, guild_id=guild_id, user_id=user_id)
        squad: MemberSquadOut | None = MemberSquadOut(
            id=membership.squad.id,
            name=membership.squad.name,
            emoji=membership.squad.emoji,
            joined_at=membership.joined_at,
        )
    except NotInSquad:
        squad = None
    held = await shop.inventory(uow, guild_id=guild_id, user_id=user_id)
    claims = await tasks.member_claims(uow, guild_id=guild_id, user_id=user_id)
    history = await economy.history(uow, guild_id=guild_id, user_id=user_id, limit=recent)
    return MemberDetailOut(
        **row.model_dump(),
        guild_id=guild_id,
        tier=balance.tier,
        multiplier=balance.multiplier,
        daily_available=balance.daily_available,
        rank=rank.rank if rank else None,
        rank_exact=rank.rank_exact if rank else True,
        squad=squad,
        inventory=held.items,
        tasks=claims,
        recent_transactions=history,
    )


def cutoff_for(uow: UnitOfWork, days: int) -> datetime:
    """The moment a member must have left by to count as gone ``days`` days."""
    return uow.now - timedelta(days=check_days(days))


async def inactive_members(
    uow: UnitOfWork,
    *,
    guild_id: str,
    days: int = 0,
    page: int = 1,
    per_page: int = 100,
) -> InactiveListOut:
    """Members who left at least ``days`` days ago, longest gone first, with their leave dates."""
    await get_config(uow, guild_id)
    if not 1 <= per_page <= MAX_PER_PAGE or page < 1:
        raise InvalidInput(
            f"page must be 1 or more and per_page 1 to {MAX_PER_PAGE}", code="invalid_page"
        )
    cutoff = cutoff_for(uow, days)
    conditions: list[ColumnElement[bool]] = [
        Account.guild_id == guild_id,
        ~Account.is_system,
        ~Account.is_active,
    ]
    if days > 0:
        conditions.append(Account.left_at <= cutoff)
    total = (await uow.session.execute(select(func.count()).where(*conditions))).scalar_one()
    rows = (
        await uow.session.execute(
            select(Account.user_id, Account.display_name, Account.balance, Account.left_at)
            .where(*conditions)
            .order_by(Account.left_at.asc(), Account.id.asc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    ).all()
    members = []
    for user_id, name, balance, left in rows:
        left_at = as_utc(left) if left is not None else None
        gone = None if left_at is None else max(0, (uow.now - left_at).days)
        members.append(
            InactiveMemberOut(
                user_id=user_id, display_name=name, balance=balance, left_at=left_at, days_gone=gone
            )
        )
    return InactiveListOut(guild_id=guild_id, days=days, total=total, members=members)
