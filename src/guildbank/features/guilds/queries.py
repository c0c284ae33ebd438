"""Reading a guild's settings (cached per process) and its admin and moderator roles."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from guildbank.core.ids import is_snowflake
from guildbank.features.guilds.errors import GuildNotFound
from guildbank.features.guilds.rules import EconomyConfig
from guildbank.platform.cache import CacheSlot
from guildbank.platform.models.guilds import GuildSettings
from guildbank.platform.uow import Services, UnitOfWork

__all__ = [
    "CONFIGS",
    "admin_roles",
    "config_from_row",
    "forget_all_configs",
    "forget_config",
    "get_config",
    "staff_roles",
]

# Each process's cache of guild settings, dropped on ``config.changed`` (runtime/app.py).
CONFIGS: CacheSlot[str, EconomyConfig] = CacheSlot("guild settings")


def config_from_row(row: GuildSettings) -> EconomyConfig:
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
        moderator_role_ids=tuple(str(r) for r in row.moderator_role_ids or ()),
        disabled_features=tuple(str(f) for f in row.disabled_features or ()),
        log_channel_id=row.log_channel_id,
        shop_channel_id=row.shop_channel_id,
        task_channel_id=row.task_channel_id,
        version=row.version,
    )


async def get_config(uow: UnitOfWork, guild_id: str) -> EconomyConfig:
    """The guild's settings; raises GuildNotFound for an unknown or malformed id."""
    cache = uow.services.caches[CONFIGS]
    cached = cache.get(guild_id)
    if cached is not None:
        return cached
    if not is_snowflake(guild_id):
        raise GuildNotFound(guild_id)
    row = await uow.session.get(GuildSettings, guild_id)
    if row is None:
        raise GuildNotFound(guild_id)
    config = config_from_row(row)
    uow.after_commit(lambda: cache.put(guild_id, config))
    return config


def forget_all_configs(services: Services) -> None:
    """Drop every cached guild setting of this process (changes may have been missed)."""
    services.caches[CONFIGS].clear()


def forget_config(services: Services, guild_id: str) -> None:
    """Drop this process's cached settings of the guild (another process changed them)."""
    services.caches[CONFIGS].discard(guild_id)


async def admin_roles(uow: UnitOfWork, guild_ids: Iterable[str]) -> dict[str, frozenset[str]]:
    """The admin roles of those registered guilds that have any (one query, no cache)."""
    return {
        guild: admins
        for guild, (admins, _) in (await staff_roles(uow, guild_ids)).items()
        if admins
    }


async def staff_roles(
    uow: UnitOfWork, guild_ids: Iterable[str]
) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    """(admin roles, moderator roles) of those registered guilds that have any (one query,
    no cache: the dashboard's access check must see a change at once)."""
    wanted = [g for g in dict.fromkeys(guild_ids) if is_snowflake(g)]
    if not wanted:
        return {}
    rows = await uow.session.execute(
        select(
            GuildSettings.guild_id,
            GuildSettings.admin_role_ids,
            GuildSettings.moderator_role_ids,
        ).where(GuildSettings.guild_id.in_(wanted))
    )
    return {
        guild: (frozenset(map(str, admins or ())), frozenset(map(str, moderators or ())))
        for guild, admins, moderators in rows.all()
        if admins or moderators
    }
