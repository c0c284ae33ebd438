"""Reading squads: lists, members, a member's squad, the squad leaderboard."""

from __future__ import annotations

from sqlalchemy import BigInteger, cast, func, select

from guildbank.core.errors import InvalidInput
from guildbank.core.ids import is_snowflake
from guildbank.features.guilds.queries import get_config
from guildbank.features.squads.errors import NotInSquad, SquadNotFound
from guildbank.features.squads.rules import join_cost
from guildbank.features.squads.schemas import (
    SquadMemberOut,
    SquadMembershipOut,
    SquadOut,
    SquadRankingOut,
)
from guildbank.platform.clock import as_utc
from guildbank.platform.models.ledger import Account
from guildbank.platform.models.squads import Squad, SquadMembership
from guildbank.platform.uow import UnitOfWork

__all__ = [
    "count_members",
    "get_squad",
    "get_squad_or_raise",
    "list_squads",
    "member_squad",
    "squad_leaderboard",
    "squad_members",
    "squad_view",
]


def squad_view(row: Squad, members: int) -> SquadOut:
    """The read model of a squad row with its member count."""
    return SquadOut(
        id=row.id,
        guild_id=row.guild_id,
        role_id=row.role_id,
        name=row.name,
        description=row.description,
        emoji=row.emoji,
        switch_cost=row.switch_cost,
        max_members=row.max_members,
        is_active=row.is_active,
        member_count=members,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
    )


def _check_user(user_id: str) -> None:
    if not is_snowflake(user_id):
        raise InvalidInput(f"{user_id!r} is not a Discord user id", code="invalid_id")


async def count_members(uow: UnitOfWork, squad_id: int) -> int:
    """Members counted toward capacity (members who left the server still hold their place)."""
    return (
        await uow.session.execute(select(func.count()).where(SquadMembership.squad_id == squad_id))
    ).scalar_one()


async def get_squad_or_raise(
    uow: UnitOfWork, *, guild_id: str, squad_id: int, lock: bool = False
) -> Squad:
    """The guild's squad (row-locked when ``lock``); SquadNotFound for another guild's id."""
    query = select(Squad).where(Squad.id == squad_id, Squad.guild_id == guild_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    row = (await uow.session.execute(query)).scalar_one_or_none()
    if row is None:
        raise SquadNotFound(squad_id)
    return row


async def get_squad(uow: UnitOfWork, *, guild_id: str, squad_id: int) -> SquadOut:
    await get_config(uow, guild_id)
    row = await get_squad_or_raise(uow, guild_id=guild_id, squad_id=squad_id)
    return squad_view(row, await count_members(uow, row.id))


async def list_squads(
    uow: UnitOfWork, *, guild_id: str, include_inactive: bool = False, user_id: str | None = None
) -> list[SquadOut]:
    """The guild's squads by name with member counts; for ``user_id``, theirs and join costs."""
    await get_config(uow, guild_id)
    counts = (
        select(SquadMembership.squad_id, func.count().label("members"))
        .where(SquadMembership.guild_id == guild_id)
        .group_by(SquadMembership.squad_id)
        .subquery()
    )
    query = (
        select(Squad, func.coalesce(counts.c.members, 0))
        .outerjoin(counts, counts.c.squad_id == Squad.id)
        .where(Squad.guild_id == guild_id)
        .order_by(Squad.name, Squad.id)
    )
    if not include_inactive:
        query = query.where(Squad.is_active)
    views = [squad_view(row, members) for row, members in (await uow.session.execute(query)).all()]
    if user_id is None:
        return views
    _check_user(user_id)
    membership = (
        await uow.session.execute(
            select(SquadMembership.squad_id).where(
                SquadMembership.guild_id == guild_id, SquadMembership.user_id == user_id
            )
        )
    ).one_or_none()
    current = None if membership is None else membership[0]
    return [
        view.model_copy(
            update={
                "is_member": view.id == current,
                "join_cost": None
                if view.id == current
                else join_cost(first_join=membership is None, switch_cost=view.switch_cost),
            }
        )
        for view in views
    ]


async def member_squad(uow: UnitOfWork, *, guild_id: str, user_id: str) -> SquadMembershipOut:
    """The member's squad; NotInSquad when they have none."""
    await get_config(uow, guild_id)
    _check_user(user_id)
    row = (
        await uow.session.execute(
            select(SquadMembership.joined_at, Squad)
            .join(Squad, Squad.id == SquadMembership.squad_id)
            .where(SquadMembership.guild_id == guild_id, SquadMembership.user_id == user_id)
        )
    ).one_or_none()
    if row is None:
        raise NotInSquad(user_id)
    joined_at, squad = row
    squad_out = squad_view(squad, await count_members(uow, squad.id))
    return SquadMembershipOut(
        guild_id=guild_id, user_id=user_id, joined_at=as_utc(joined_at), squad=squad_out
    )


async def squad_members(
    uow: UnitOfWork, *, guild_id: str, squad_id: int, limit: int = 50, offset: int = 0
) -> list[SquadMemberOut]:
    """A squad's members in joining order, with their balances."""
    await get_config(uow, guild_id)
    await get_squad_or_raise(uow, guild_id=guild_id, squad_id=squad_id)
    rows = (
        await uow.session.execute(
            select(
                SquadMembership.user_id,
                SquadMembership.joined_at,
                func.coalesce(Account.balance, 0),
            )
            .outerjoin(
                Account,
                (Account.guild_id == SquadMembership.guild_id)
                & (Account.user_id == SquadMembership.user_id),
            )
            .where(SquadMembership.squad_id == squad_id)
            .order_by(SquadMembership.joined_at, SquadMembership.id)
            .limit(limit)
            .offset(offset)
        )
    ).all()
    return [
        SquadMemberOut(user_id=user, joined_at=as_utc(joined), balance=balance)
        for user, joined, balance in rows
    ]


async def squad_leaderboard(
    uow: UnitOfWork, *, guild_id: str, limit: int = 10
) -> list[SquadRankingOut]:
    """Active squads by their members' total bytes; members who left the server don't count."""
    await get_config(uow, guild_id)
    members = func.count(Account.id)
    total = cast(func.coalesce(func.sum(Account.balance), 0), BigInteger)
    rows = (
        await uow.session.execute(
            select(Squad.id, Squad.name, Squad.emoji, Squad.role_id, members, total)
            .outerjoin(SquadMembership, SquadMembership.squad_id == Squad.id)
            .outerjoin(
                Account,
                (Account.guild_id == SquadMembership.guild_id)
                & (Account.user_id == SquadMembership.user_id)
                & Account.is_active,
            )
            .where(Squad.guild_id == guild_id, Squad.is_active)
            .group_by(Squad.id, Squad.name, Squad.emoji, Squad.role_id)
            .order_by(total.desc(), members.desc(), Squad.id)
            .limit(limit)
        )
    ).all()
    return [
        SquadRankingOut(
            rank=rank,
            squad_id=squad_id,
            name=name,
            emoji=emoji,
            role_id=role_id,
            members=count,
            total_bytes=amount,
        )
        for rank, (squad_id, name, emoji, role_id, count, amount) in enumerate(rows, start=1)
    ]
