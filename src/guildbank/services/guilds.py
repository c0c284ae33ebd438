"""Guild registration and per-guild economy settings (read through a cache)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, fields
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from guildbank.db.models import Account, Guild, GuildSettings
from guildbank.db.upsert import insert_ignore
from guildbank.domain.economy import EconomyConfig, validate_config
from guildbank.domain.errors import GuildNotFound, InvalidInput
from guildbank.domain.ids import is_snowflake
from guildbank.services.uow import UnitOfWork

__all__ = [
    "SYSTEM_ACCOUNTS",
    "admin_roles",
    "get_config",
    "register_guild",
    "require_guild",
    "update_config",
]

SYSTEM_ACCOUNTS = ("mint", "sink")


def _config_from_row(row: GuildSettings) -> EconomyConfig:
    return EconomyConfig(
        starting_balance=row.starting_balance,
        daily_amount=row.daily_amount,
        streak_bonuses={int(k): int(v) for k, v in row.streak_bonuses.items()},
        max_transfer=row.max_transfer,
        transfer_cooldown_hours=row.transfer_cooldown_hours,
        confirm_threshold=row.confirm_threshold,
        rate_limit_per_minute=row.rate_limit_per_minute,
        role_rewards=dict(row.role_rewards),
        currency_name=row.currency_name,
        currency_emoji=row.currency_emoji,
        timezone=row.timezone,
        admin_role_ids=tuple(str(r) for r in row.admin_role_ids or ()),
    )


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
    session.add_all(
        Account(
            guild_id=guild_id, user_id=name_, is_system=True, created_at=uow.now, updated_at=uow.now
        )
        for name_ in SYSTEM_ACCOUNTS
    )
    await session.flush()
    uow.emit("guild.registered", guild_id)
    return True


async def get_config(uow: UnitOfWork, guild_id: str) -> EconomyConfig:
    """The guild's settings; raises GuildNotFound for an unknown or malformed id."""
    cached = uow.services.configs.get(guild_id)
    if cached is not None:
        return cached
    if not is_snowflake(guild_id):
        raise GuildNotFound(guild_id)
    row = await uow.session.get(GuildSettings, guild_id)
    if row is None:
        raise GuildNotFound(guild_id)
    config = _config_from_row(row)
    uow.after_commit(lambda: uow.services.configs.put(guild_id, config))
    return config


async def admin_roles(uow: UnitOfWork, guild_ids: Iterable[str]) -> dict[str, frozenset[str]]:
    """The admin roles of those registered guilds that have any (one query, no cache)."""
    wanted = [g for g in dict.fromkeys(guild_ids) if is_snowflake(g)]
    if not wanted:
        return {}
    rows = await uow.session.execute(
        select(GuildSettings.guild_id, GuildSettings.admin_role_ids).where(
            GuildSettings.guild_id.in_(wanted)
        )
    )
    return {guild: frozenset(map(str, roles)) for guild, roles in rows.all() if roles}


async def require_guild(uow: UnitOfWork, guild_id: str) -> EconomyConfig:
    return await get_config(uow, guild_id)


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
    config = _validated_changes(_config_from_row(row), changes)
    for key, value in _settings_values(config).items():
        setattr(row, key, value)
    row.updated_at = uow.now
    await uow.session.flush()
    uow.after_commit(lambda: uow.services.configs.put(guild_id, config))
    uow.emit("config.changed", guild_id, changed=sorted(changes), actor_id=actor_id)
    return config
