"""Squad administration: create, update and delete squads (admin scope in the API).

Names (case-insensitively) and roles are unique per guild: a friendly check refuses
duplicates first, and the unique constraints settle a race. A squad with members is deleted
only with an explicit move (free for the members, capacity permitting) or kick; kicked
members keep a free first join, since they did not choose to leave.

Members' squad roles follow in Discord through the outbox, written in the same transaction:
a squad's new role replaces the old one on every member, and a deletion moves members to the
target's role or takes the role away, whether or not a bot runs at that moment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields as dataclass_fields
from dataclasses import replace
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from guildbank.core.errors import InvalidInput
from guildbank.features.guilds.catalog import check_assignable_role
from guildbank.features.guilds.queries import get_config
from guildbank.features.guilds.service import acted_by
from guildbank.features.squads.errors import (
    BelowMemberCount,
    SquadConflict,
    SquadFull,
    SquadInactive,
    SquadNotEmpty,
    SquadNotFound,
    StaleSquad,
)
from guildbank.features.squads.events import SquadCreated, SquadDeleted, SquadUpdated
from guildbank.features.squads.queries import count_members, get_squad_or_raise, squad_view
from guildbank.features.squads.rules import DEFAULT_SWITCH_COST, SquadFields, validate_squad
from guildbank.features.squads.schemas import SquadDeleteOut, SquadOut, squad_version
from guildbank.outbox.service import enqueue_message, enqueue_role_change
from guildbank.platform.models.squads import Squad, SquadMembership
from guildbank.platform.uow import UnitOfWork

__all__ = ["BelowMemberCount", "StaleSquad", "create_squad", "delete_squad", "update_squad"]

EDITABLE = frozenset(f.name for f in dataclass_fields(SquadFields))
NULLABLE = frozenset({"emoji", "max_members"})


def _who(actor_id: str | None) -> str:
    """The actor as the log channel names it (a mention there never pings)."""
    return f" by {acted_by(actor_id)}" if actor_id else ""


async def _log(uow: UnitOfWork, guild_id: str, text: str) -> None:
    """An admin action's line in the guild's log channel (if set), in the same transaction."""
    config = await get_config(uow, guild_id)
    if config.log_channel_id:
        await enqueue_message(
            uow, guild_id=guild_id, channel_id=config.log_channel_id, content=text
        )


async def _refuse_duplicates(
    uow: UnitOfWork, guild_id: str, fields: SquadFields, exclude_id: int | None
) -> None:
    """A friendly refusal before the unique constraints would refuse (names case-insensitively)."""
    query = select(Squad.name, Squad.role_id).where(
        Squad.guild_id == guild_id,
        (func.lower(Squad.name) == fields.name.lower()) | (Squad.role_id == fields.role_id),
    )
    if exclude_id is not None:
        query = query.where(Squad.id != exclude_id)
    for name, role_id in (await uow.session.execute(query)).all():
        if role_id == fields.role_id:
            raise SquadConflict(
                f"Role {role_id} already belongs to squad {name}.",
                code="squad_role_taken",
                role_id=role_id,
            )
        raise SquadConflict(
            f"A squad named {name} already exists.", code="squad_name_taken", name=name
        )


async def _flush_unique(uow: UnitOfWork, fields: SquadFields) -> None:
    """Flush, turning a lost race on a unique constraint into the same refusal as above."""
    try:
        await uow.session.flush()
    except IntegrityError as error:
        await uow.rollback()
        if "role" in str(error.orig):
            raise SquadConflict(
                f"Role {fields.role_id} already belongs to another squad.",
                code="squad_role_taken",
                role_id=fields.role_id,
            ) from None
        raise SquadConflict(
            f"A squad named {fields.name} already exists.", code="squad_name_taken"
        ) from None


async def create_squad(
    uow: UnitOfWork,
    *,
    guild_id: str,
    role_id: str,
    name: str,
    description: str = "",
    emoji: str | None = None,
    switch_cost: int = DEFAULT_SWITCH_COST,
    max_members: int | None = None,
    is_active: bool = True,
    actor_id: str | None = None,
) -> SquadOut:
    await get_config(uow, guild_id)
    fields = validate_squad(
        SquadFields(role_id, name, description, emoji, switch_cost, max_members, is_active)
    )
    await _refuse_duplicates(uow, guild_id, fields, None)
    await check_assignable_role(uow, guild_id, fields.role_id)  # a role the bot can give
    row = Squad(guild_id=guild_id, created_at=uow.now, updated_at=uow.now, **_columns(fields))
    uow.session.add(row)
    await _flush_unique(uow, fields)
    await _log(uow, guild_id, f"🛡️ Squad {row.name} created{_who(actor_id)}.")
    uow.emit(
        SquadCreated(guild_id=guild_id, squad_id=row.id, squad_name=row.name, actor_id=actor_id)
    )
    return squad_view(row, 0)


def _columns(fields: SquadFields) -> dict[str, Any]:
    return {name: getattr(fields, name) for name in EDITABLE}


async def update_squad(
    uow: UnitOfWork,
    *,
    guild_id: str,
    squad_id: int,
    changes: Mapping[str, Any],
    actor_id: str | None = None,
    expected_version: str | None = None,
    strict_capacity: bool = False,
) -> SquadOut:
    """Change some fields. ``expected_version``: the version the caller edited (refused when
    the squad changed since). ``strict_capacity`` (the API and the dashboard): a member limit
    below the current count is refused; without it the members stay, over the limit."""
    await get_config(uow, guild_id)
    unknown = set(changes) - EDITABLE
    if unknown:
        raise InvalidInput(
            f"Unknown squad fields: {', '.join(sorted(unknown))}", code="unknown_field"
        )
    required = sorted(k for k, v in changes.items() if v is None and k not in NULLABLE)
    if required:
        raise InvalidInput(f"These fields cannot be empty: {', '.join(required)}")
    row = await get_squad_or_raise(uow, guild_id=guild_id, squad_id=squad_id, lock=True)
    current = SquadFields(**{name: getattr(row, name) for name in EDITABLE})
    if expected_version is not None:
        now = squad_version(**_columns(current))
        if now != expected_version:
            raise StaleSquad(squad_id=row.id, expected=expected_version, current=now)
    fields = validate_squad(replace(current, **changes))
    lowered = fields.max_members is not None and fields.max_members != current.max_members
    if strict_capacity and lowered and fields.max_members is not None:
        members = await count_members(uow, row.id)
        if fields.max_members < members:
            raise BelowMemberCount(
                name=fields.name, members=members, max_members=fields.max_members
            )
    if (fields.name.lower(), fields.role_id) != (current.name.lower(), current.role_id):
        await _refuse_duplicates(uow, guild_id, fields, row.id)
    if fields.role_id != current.role_id:
        await check_assignable_role(uow, guild_id, fields.role_id)  # a role the bot can give
    for name, value in _columns(fields).items():
        setattr(row, name, value)
    row.updated_at = uow.now
    await _flush_unique(uow, fields)
    if row.role_id != current.role_id:
        await _swap_roles(
            uow,
            guild_id,
            await _member_ids(uow, row.id),
            add=row.role_id,
            remove=current.role_id,
            reason=f"guildbank: squad {row.name} changed its role",
        )
    differ = sorted(n for n in EDITABLE if getattr(current, n) != getattr(fields, n))
    changed = ", ".join(differ) or "nothing"
    await _log(uow, guild_id, f"🛡️ Squad {row.name} changed ({changed}){_who(actor_id)}.")
    uow.emit(
        SquadUpdated(
            guild_id=guild_id,
            squad_id=row.id,
            changed=sorted(changes),
            old_role_id=current.role_id,
            role_id=row.role_id,
            actor_id=actor_id,
        )
    )
    return squad_view(row, await count_members(uow, row.id))


async def delete_squad(
    uow: UnitOfWork,
    *,
    guild_id: str,
    squad_id: int,
    move_to: int | None = None,
    kick_members: bool = False,
    actor_id: str | None = None,
) -> SquadDeleteOut:
    """Delete a squad; its members must be moved (free, capacity permitting) or removed."""
    await get_config(uow, guild_id)
    if move_to is not None and kick_members:
        raise InvalidInput(
            "Either move the members or remove them, not both.", code="invalid_input"
        )
    if move_to == squad_id:
        raise InvalidInput(
            "Members cannot be moved into the squad being deleted.", code="invalid_input"
        )
    wanted = sorted({squad_id} if move_to is None else {squad_id, move_to})
    rows = {
        row.id: row
        for row in (
            await uow.session.execute(
                select(Squad)
                .where(Squad.guild_id == guild_id, Squad.id.in_(wanted))
                .order_by(Squad.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).scalars()
    }
    for wanted_id in (squad_id, move_to):
        if wanted_id is not None and wanted_id not in rows:
            raise SquadNotFound(wanted_id)
    squad = rows[squad_id]
    members = list(
        (
            await uow.session.execute(
                select(SquadMembership.user_id)
                .where(SquadMembership.squad_id == squad_id)
                .order_by(SquadMembership.joined_at, SquadMembership.id)
            )
        ).scalars()
    )
    target = rows.get(move_to) if move_to is not None else None
    if members and target is None and not kick_members:
        raise SquadNotEmpty(squad_id=squad_id, members=len(members))
    if members and target is not None:
        if not target.is_active:
            raise SquadInactive(squad_id=target.id, name=target.name)
        room = target.max_members
        if room is not None and await count_members(uow, target.id) + len(members) > room:
            raise SquadFull(squad_id=target.id, name=target.name, max_members=room)
        await uow.session.execute(
            update(SquadMembership)
            .where(SquadMembership.squad_id == squad_id)
            .values(squad_id=target.id)
        )
    elif members:
        await uow.session.execute(
            delete(SquadMembership).where(SquadMembership.squad_id == squad_id)
        )
    await uow.session.delete(squad)
    await uow.session.flush()
    await _swap_roles(
        uow,
        guild_id,
        members,
        add=target.role_id if target is not None else None,
        remove=squad.role_id,
        reason=f"guildbank: squad {squad.name} deleted",
    )
    result = SquadDeleteOut(
        guild_id=guild_id,
        squad_id=squad_id,
        role_id=squad.role_id,
        moved_to=target.id if target is not None else None,
        moved_to_role_id=target.role_id if target is not None else None,
        members=members,
    )
    moved = f", {len(members)} member(s) moved to {target.name}" if target and members else ""
    await _log(uow, guild_id, f"🛡️ Squad {squad.name} deleted{moved}{_who(actor_id)}.")
    uow.emit(
        SquadDeleted(
            guild_id=guild_id,
            squad_id=squad_id,
            role_id=squad.role_id,
            moved_to=result.moved_to,
            moved_to_role_id=result.moved_to_role_id,
            members=members,
            actor_id=actor_id,
        )
    )
    return result


async def _member_ids(uow: UnitOfWork, squad_id: int) -> list[str]:
    return list(
        (
            await uow.session.execute(
                select(SquadMembership.user_id).where(SquadMembership.squad_id == squad_id)
            )
        ).scalars()
    )


async def _swap_roles(
    uow: UnitOfWork,
    guild_id: str,
    members: list[str],
    *,
    add: str | None,
    remove: str,
    reason: str,
) -> None:
    """Role jobs for members whose squad role changes (none when it stays the same)."""
    if add == remove:
        return
    for user_id in members:
        await enqueue_role_change(
            uow, guild_id=guild_id, user_id=user_id, add=add, remove=remove, reason=reason
        )
