"""Squads for members: listing, joining (a switch pays the guild's sink), leaving, rosters.

Concurrency
-----------
Lock order everywhere: squad rows (ascending id), then the member's membership row, then
accounts (the ledger posting locks those in id order). A join locks its target squad before
counting its members, so capacity holds however many joins race (PostgreSQL: ``SELECT …
FOR UPDATE``; SQLite: the unit of work's ``BEGIN IMMEDIATE`` already serialises writers).
A first join inserts the membership with ``ON CONFLICT DO NOTHING``: when two first joins
of one member race, the loser waits for the winner's commit, finds its row and continues
as a switch, charged once. The unique (guild, user) constraint keeps one squad per member.

Role changes are returned (and emitted after commit) for the bot to apply in Discord.
Admin CRUD lives in ``services.squad_admin``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, cast, func, select, update

from guildbank.db import ledger
from guildbank.db.models import Account, Squad, SquadMembership
from guildbank.db.upsert import insert_ignore
from guildbank.domain.errors import (
    InsufficientBalance,
    InvalidInput,
    NotInSquad,
    SquadConflict,
    SquadNotFound,
)
from guildbank.domain.ids import is_snowflake
from guildbank.domain.ledger import transfer_legs
from guildbank.domain.squads import check_can_join, join_cost
from guildbank.schemas import SquadOut
from guildbank.services.accounts import ensure_account, system_account_id
from guildbank.services.guilds import get_config
from guildbank.services.reports import as_utc
from guildbank.services.uow import UnitOfWork

__all__ = [
    "JoinResult",
    "LeaveResult",
    "MembershipView",
    "SquadMemberView",
    "SquadRanking",
    "SquadView",
    "count_members",
    "get_squad",
    "get_squad_or_raise",
    "join_squad",
    "leave_squad",
    "list_squads",
    "member_squad",
    "squad_leaderboard",
    "squad_members",
    "squad_view",
]


# A squad as read: the API's own response model (guildbank.schemas, the shared contract).
SquadView = SquadOut


@dataclass(frozen=True, slots=True)
class JoinResult:
    guild_id: str
    user_id: str
    squad: SquadView
    previous_squad_id: int | None
    cost: int
    balance: int
    transaction_id: int | None
    role_added: str
    role_removed: str | None


@dataclass(frozen=True, slots=True)
class LeaveResult:
    guild_id: str
    user_id: str
    squad_id: int
    squad_name: str
    role_removed: str


@dataclass(frozen=True, slots=True)
class MembershipView:
    guild_id: str
    user_id: str
    joined_at: datetime
    squad: SquadView


@dataclass(frozen=True, slots=True)
class SquadMemberView:
    user_id: str
    joined_at: datetime
    balance: int


@dataclass(frozen=True, slots=True)
class SquadRanking:
    rank: int
    squad_id: int
    name: str
    emoji: str | None
    role_id: str
    members: int
    total_bytes: int


def squad_view(row: Squad, members: int) -> SquadView:
    """The read model of a squad row with its member count."""
    return SquadView(
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


async def get_squad(uow: UnitOfWork, *, guild_id: str, squad_id: int) -> SquadView:
    await get_config(uow, guild_id)
    row = await get_squad_or_raise(uow, guild_id=guild_id, squad_id=squad_id)
    return squad_view(row, await count_members(uow, row.id))


async def list_squads(
    uow: UnitOfWork, *, guild_id: str, include_inactive: bool = False, user_id: str | None = None
) -> list[SquadView]:
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


async def _locked_membership(
    uow: UnitOfWork, guild_id: str, user_id: str
) -> tuple[int, int | None] | None:
    """The member's (membership id, squad id or None after leaving), row-locked; None if new."""
    row = (
        await uow.session.execute(
            select(SquadMembership.id, SquadMembership.squad_id)
            .where(SquadMembership.guild_id == guild_id, SquadMembership.user_id == user_id)
            .with_for_update()
        )
    ).one_or_none()
    return None if row is None else (row[0], row[1])


async def _balance(uow: UnitOfWork, account: int) -> int:
    return (
        await uow.session.execute(select(Account.balance).where(Account.id == account))
    ).scalar_one()


async def join_squad(uow: UnitOfWork, *, guild_id: str, user_id: str, squad_id: int) -> JoinResult:
    """Join a squad: free the first time, the target's switch cost (to the sink) after that."""
    config = await get_config(uow, guild_id)
    account = await ensure_account(uow, guild_id, user_id, config)
    target = await get_squad_or_raise(uow, guild_id=guild_id, squad_id=squad_id, lock=True)
    members = await count_members(uow, target.id)

    def check(current: int | None) -> None:
        check_can_join(
            squad_id=target.id,
            name=target.name,
            is_active=target.is_active,
            max_members=target.max_members,
            members=members,
            current_squad_id=current,
        )

    current = await _locked_membership(uow, guild_id, user_id)
    if current is None:
        check(None)
        values = {
            "guild_id": guild_id,
            "squad_id": target.id,
            "user_id": user_id,
            "joined_at": uow.now,
        }
        if await insert_ignore(uow.session, SquadMembership, values, ["guild_id", "user_id"]):
            return _joined(
                uow, target, members, user_id, None, None, 0, await _balance(uow, account), None
            )
        # A concurrent first join of this member committed first: this one is now a switch.
        current = await _locked_membership(uow, guild_id, user_id)
        if current is None:
            raise SquadConflict(
                "Your squad changed while joining; please try again.", code="squad_changed"
            )
    check(current[1])
    cost = join_cost(first_join=False, switch_cost=target.switch_cost)
    balance, transaction_id = await _balance(uow, account), None
    if cost > 0:
        sink = await system_account_id(uow, guild_id, "sink")
        try:
            posted = await ledger.post(
                uow.session,
                guild_id=guild_id,
                type="squad_join",
                legs=transfer_legs(source=account, target=sink, amount=cost, counts=False),
                now=uow.now,
                reason=f"Switched to squad {target.name}",
                actor_id=user_id,
            )
        except ledger.Overdraft:
            await uow.rollback()
            committed = (
                await uow.session.execute(select(Account.balance).where(Account.id == account))
            ).scalar_one_or_none()
            raise InsufficientBalance(
                available=config.starting_balance if committed is None else committed,
                needed=cost,
                currency=config.currency_name,
                verb="pay",
            ) from None
        balance, transaction_id = posted.entry(account).balance_after, posted.id
    await uow.session.execute(
        update(SquadMembership)
        .where(SquadMembership.id == current[0])
        .values(squad_id=target.id, joined_at=uow.now, left_at=None)
    )
    previous = None if current[1] is None else await uow.session.get(Squad, current[1])
    previous_role = previous.role_id if previous is not None else None
    return _joined(
        uow, target, members, user_id, current[1], previous_role, cost, balance, transaction_id
    )


def _joined(
    uow: UnitOfWork,
    target: Squad,
    members_before: int,
    user_id: str,
    previous_id: int | None,
    previous_role: str | None,
    cost: int,
    balance: int,
    transaction_id: int | None,
) -> JoinResult:
    result = JoinResult(
        target.guild_id,
        user_id,
        squad_view(target, members_before + 1),
        previous_id,
        cost,
        balance,
        transaction_id,
        target.role_id,
        previous_role if previous_role != target.role_id else None,
    )
    uow.emit(
        "squad.joined",
        target.guild_id,
        user_id=user_id,
        squad_id=target.id,
        previous_squad_id=previous_id,
        cost=cost,
        balance=balance,
        transaction_id=transaction_id,
        role_added=result.role_added,
        role_removed=result.role_removed,
    )
    return result


async def leave_squad(uow: UnitOfWork, *, guild_id: str, user_id: str) -> LeaveResult:
    """Leave the current squad, free of charge (the row stays: the free first join is spent)."""
    await get_config(uow, guild_id)
    _check_user(user_id)
    current = await _locked_membership(uow, guild_id, user_id)
    squad_id = None if current is None else current[1]
    if current is None or squad_id is None:
        raise NotInSquad(user_id)
    await uow.session.execute(
        update(SquadMembership)
        .where(SquadMembership.id == current[0])
        .values(squad_id=None, left_at=uow.now)
    )
    squad = await get_squad_or_raise(uow, guild_id=guild_id, squad_id=squad_id)
    uow.emit("squad.left", guild_id, user_id=user_id, squad_id=squad_id, role_removed=squad.role_id)
    return LeaveResult(guild_id, user_id, squad_id, squad.name, squad.role_id)


async def member_squad(uow: UnitOfWork, *, guild_id: str, user_id: str) -> MembershipView:
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
    return MembershipView(
        guild_id, user_id, as_utc(joined_at), squad_view(squad, await count_members(uow, squad.id))
    )


async def squad_members(
    uow: UnitOfWork, *, guild_id: str, squad_id: int, limit: int = 50, offset: int = 0
) -> list[SquadMemberView]:
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
    return [SquadMemberView(user, as_utc(joined), balance) for user, joined, balance in rows]


async def squad_leaderboard(
    uow: UnitOfWork, *, guild_id: str, limit: int = 10
) -> list[SquadRanking]:
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
        SquadRanking(rank, squad_id, name, emoji, role_id, count, amount)
        for rank, (squad_id, name, emoji, role_id, count, amount) in enumerate(rows, start=1)
    ]
