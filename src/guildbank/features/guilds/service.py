"""Registering a guild and changing its settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, fields
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from guildbank.core.errors import InvalidInput
from guildbank.core.ids import is_snowflake
from guildbank.features.guilds.events import ConfigChanged, GuildRegistered
from guildbank.features.guilds.queries import CONFIGS, config_from_row, get_config
from guildbank.features.guilds.rules import EconomyConfig, validate_config
from guildbank.ledger.accounts import open_system_accounts
from guildbank.platform.models.guilds import Guild, GuildSettings
from guildbank.platform.uow import UnitOfWork
from guildbank.platform.upsert import insert_ignore

__all__ = ["register_guild", "update_config"]


def _settings_values(config: EconomyConfig) -> dict[str, Any]:
    values = asdict(config)
    values["streak_bonuses"] = {str(k): v for k, v in config.streak_bonuses.items()}
    values["role_rewards"] = dict(config.role_rewards)
    values["admin_role_ids"] = list(config.admin_role_ids)
    return values


async def register_guild(uow: UnitOfWork, *, guild_id: str, name: str = "") -> bool:
    """Create the guild with default settings and its system accounts; True if it was new."""
    if not is_snowflake(guild_id):
        raise InvalidInput(f"{guild_id!r} is not a Discord id", code="invalid_id")
    session = uow.session
    created = await insert_ignore(session, Guild, {"id": guild_id, "name": name[:100]}, ["id"])
    if not created:
        guild = await session.get(Guild, guild_id)
        if guild is not None and ((name and guild.name != name[:100]) or not guild.is_active):
            guild.name = name[:100] or guild.name
            guild.is_active = True
        return False
    session.add(GuildSettings(guild_id=guild_id, **_settings_values(EconomyConfig())))
    await open_system_accounts(uow, guild_id)
    uow.emit(GuildRegistered(guild_id=guild_id))
    return True


def _validated_changes(current: EconomyConfig, changes: Mapping[str, Any]) -> EconomyConfig:
    known = {f.name for f in fields(EconomyConfig)}
    unknown = set(changes) - known
    if unknown:
        raise InvalidInput(
            f"Unknown settings: {', '.join(sorted(unknown))}", code="unknown_setting"
        )
    values = {**asdict(current), **changes}
    try:
        ZoneInfo(values["timezone"])
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidInput(
            f"Unknown timezone {values['timezone']!r}", code="invalid_timezone"
        ) from error
    values["admin_role_ids"] = tuple(dict.fromkeys(str(r) for r in values["admin_role_ids"]))
    for role in [*values["role_rewards"], *values["admin_role_ids"]]:
        if not is_snowflake(str(role)):
            raise InvalidInput(f"Role id {role!r} is not a Discord id", code="invalid_id")
    config = EconomyConfig(**values)
    validate_config(config)
    return config


async def update_config(
    uow: UnitOfWork, *, guild_id: str, changes: Mapping[str, Any], actor_id: str | None = None
) -> EconomyConfig:
    """Apply validated changes; other processes learn of them through the event bus."""
    await get_config(uow, guild_id)
    row = (
        await uow.session.execute(
            select(GuildSettings).where(GuildSettings.guild_id == guild_id).with_for_update()
        )
    ).scalar_one()
    config = _validated_changes(config_from_row(row), changes)
    for key, value in _settings_values(config).items():
        setattr(row, key, value)
    row.updated_at = uow.now
    await uow.session.flush()
    uow.after_commit(lambda: uow.services.caches[CONFIGS].put(guild_id, config))
    uow.emit(ConfigChanged(guild_id=guild_id, changed=sorted(changes), actor_id=actor_id))
    return config
