"""Joining and leaving squads: the membership and its fee change in one transaction.

The squad role follows in Discord through the outbox: the role jobs are written in the same
transaction, so a join made through the API or the dashboard reaches Discord even when no bot
runs at that moment.
"""

from __future__ import annotations

from sqlalchemy import select, update

from guildbank.features.guilds.queries import get_config
from guildbank.features.squads.errors import NotInSquad, SquadConflict
from guildbank.features.squads.events import SquadJoined, SquadLeft
from guildbank.features.squads.queries import (
    _check_user,
    count_members,
    get_squad_or_raise,
    squad_view,
)
from guildbank.features.squads.rules import check_can_join, join_cost
from guildbank.features.squads.schemas import SquadJoinOut, SquadLeaveOut
from guildbank.ledger import posting
from guildbank.ledger.accounts import ensure_account, read_balance, system_account_id
from guildbank.ledger.legs import transfer_legs
from guildbank.ledger.members import limit_balance_changes
from guildbank.ledger.types import TransactionType
from guildbank.outbox.service import enqueue_role_change
from guildbank.platform.models.squads import Squad, SquadMembership
from guildbank.platform.uow import UnitOfWork
from guildbank.platform.upsert import insert_ignore

__all__ = ["join_squad", "leave_squad"]


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


async def join_squad(
    uow: UnitOfWork, *, guild_id: str, user_id: str, squad_id: int
) -> SquadJoinOut:
    """Join a squad: free the first time, the target's switch cost (to the sink) after that."""
    config = await get_config(uow, guild_id)
    await limit_balance_changes(
        uow, guild_id=guild_id, user_id=user_id, per_minute=config.rate_limit_per_minute
    )
    account = await ensure_account(uow, guild_id, user_id, starting_balance=config.starting_balance)
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
            balance = await read_balance(uow, account)
            return await _joined(uow, target, members, user_id, None, None, 0, balance, None)
        # A concurrent first join of this member committed first: this one is now a switch.
        current = await _locked_membership(uow, guild_id, user_id)
        if current is None:
            raise SquadConflict(
                "Your squad changed while joining; please try again.", code="squad_changed"
            )
    check(current[1])
    cost = join_cost(first_join=False, switch_cost=target.switch_cost)
    balance, transaction_id = await read_balance(uow, account), None
    if cost > 0:
        sink = await system_account_id(uow, guild_id, "sink")
        posted = await posting.post(
            uow,
            guild_id=guild_id,
            type=TransactionType.SQUAD_JOIN,
            legs=transfer_legs(source=account, target=sink, amount=cost, counts=False),
            reason=f"Switched to squad {target.name}",
            actor_id=user_id,
            payer=posting.Payer(account, config.currency_name, config.starting_balance, verb="pay"),
        )
        balance, transaction_id = posted.entry(account).balance_after, posted.id
    await uow.session.execute(
        update(SquadMembership)
        .where(SquadMembership.id == current[0])
        .values(squad_id=target.id, joined_at=uow.now, left_at=None)
    )
    previous = None if current[1] is None else await uow.session.get(Squad, current[1])
    previous_role = previous.role_id if previous is not None else None
    return await _joined(
        uow, target, members, user_id, current[1], previous_role, cost, balance, transaction_id
    )


async def _joined(
    uow: UnitOfWork,
    target: Squad,
    members_before: int,
    user_id: str,
    previous_id: int | None,
    previous_role: str | None,
    cost: int,
    balance: int,
    transaction_id: int | None,
) -> SquadJoinOut:
    result = SquadJoinOut(
        guild_id=target.guild_id,
        user_id=user_id,
        squad=squad_view(target, members_before + 1),
        previous_squad_id=previous_id,
        cost=cost,
        balance=balance,
        transaction_id=transaction_id,
        role_added=target.role_id,
        role_removed=previous_role if previous_role != target.role_id else None,
    )
    await enqueue_role_change(
        uow,
        guild_id=target.guild_id,
        user_id=user_id,
        add=result.role_added,
        remove=result.role_removed,
        reason=f"guildbank: joined squad {target.name}",
    )
    uow.emit(
        SquadJoined(
            guild_id=target.guild_id,
            user_id=user_id,
            squad_id=target.id,
            previous_squad_id=previous_id,
            cost=cost,
            balance=balance,
            transaction_id=transaction_id,
            role_added=result.role_added,
            role_removed=result.role_removed,
        )
    )
    return result


async def leave_squad(uow: UnitOfWork, *, guild_id: str, user_id: str) -> SquadLeaveOut:
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
    await enqueue_role_change(
        uow,
        guild_id=guild_id,
        user_id=user_id,
        remove=squad.role_id,
        reason=f"guildbank: left squad {squad.name}",
    )
    uow.emit(
        SquadLeft(guild_id=guild_id, user_id=user_id, squad_id=squad_id, role_removed=squad.role_id)
    )
    return SquadLeaveOut(
        guild_id=guild_id,
        user_id=user_id,
        squad_id=squad_id,
        squad_name=squad.name,
        role_removed=squad.role_id,
    )
