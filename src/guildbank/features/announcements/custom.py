"""Custom commands (writes): ``/name`` answered with a text and/or a saved embed.

Every change bumps the guild's ``custom_command_sets.version`` in the same transaction (one
conditional update, no read-modify-write), and bots waiting in ``/api/bot/sync`` register
the guild's commands again when the version they hold differs.
"""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from guildbank.core.text import check_text
from guildbank.features.announcements.errors import CommandNameTaken, InvalidCommand
from guildbank.features.announcements.events import CustomCommandsChanged
from guildbank.features.announcements.queries import (
    command_set,
    get_command_or_raise,
    get_embed_or_raise,
)
from guildbank.features.announcements.rules import command_name_problem
from guildbank.features.announcements.schemas import CustomCommandOut
from guildbank.features.guilds.queries import get_config
from guildbank.platform.models.announcements import CustomCommand, CustomCommandSet
from guildbank.platform.uow import UnitOfWork
from guildbank.platform.upsert import insert_ignore

__all__ = ["bump_version", "create_command", "delete_command"]


async def bump_version(uow: UnitOfWork, guild_id: str) -> int:
    """The guild's next custom command version (the row is created at 1)."""
    if await insert_ignore(
        uow.session,
        CustomCommandSet,
        {"guild_id": guild_id, "version": 1, "updated_at": uow.now},
        ["guild_id"],
    ):
        version = 1
    else:
        version = (
            await uow.session.execute(
                update(CustomCommandSet)
                .where(CustomCommandSet.guild_id == guild_id)
                .values(version=CustomCommandSet.version + 1, updated_at=uow.now)
                .returning(CustomCommandSet.version),
                execution_options={"synchronize_session": False},
            )
        ).scalar_one()
    uow.emit(CustomCommandsChanged(guild_id=guild_id, version=version))
    return version


async def create_command(
    uow: UnitOfWork,
    *,
    guild_id: str,
    name: str,
    description: str,
    response: str = "",
    embed_id: int | None = None,
) -> CustomCommandOut:
    await get_config(uow, guild_id)
    problem = command_name_problem(name)
    if problem is not None:
        raise InvalidCommand(problem, field="name", name=name)
    check_text(description, field="description")
    check_text(response, field="response", multiline=True)
    if not response.strip() and embed_id is None:
        raise InvalidCommand("A custom command answers with a response, an embed, or both.")
    if embed_id is not None:
        await get_embed_or_raise(uow, guild_id=guild_id, embed_id=embed_id)
    taken = await uow.session.scalar(
        select(CustomCommand.id).where(
            CustomCommand.guild_id == guild_id, CustomCommand.name == name
        )
    )
    if taken is not None:
        raise CommandNameTaken(name)
    row = CustomCommand(
        guild_id=guild_id,
        name=name,
        description=description,
        response=response,
        embed_id=embed_id,
        created_at=uow.now,
        updated_at=uow.now,
    )
    uow.session.add(row)
    try:
        await uow.session.flush()
    except IntegrityError:
        raise CommandNameTaken(name) from None
    await bump_version(uow, guild_id)
    return next(c for c in (await command_set(uow, guild_id=guild_id)).commands if c.name == name)


async def delete_command(uow: UnitOfWork, *, guild_id: str, name: str) -> CustomCommandOut:
    await get_config(uow, guild_id)
    row = await get_command_or_raise(uow, guild_id=guild_id, name=name)
    out = CustomCommandOut.model_validate(row)
    await uow.session.execute(delete(CustomCommand).where(CustomCommand.id == row.id))
    await bump_version(uow, guild_id)
    return out
