"""Build the services a web process needs from its settings (the composition root's core)."""

from __future__ import annotations

from guildbank.features.economy.admin_actions import ADMIN_ACTIONS
from guildbank.platform.bus import EventBus, InProcessBus
from guildbank.platform.engine import create_engine
from guildbank.platform.ratelimit import SharedLimiter
from guildbank.platform.uow import Services
from guildbank.settings import Settings

__all__ = ["build_services"]


def build_bus(settings: Settings) -> EventBus:
    if settings.redis_url:
        from guildbank.platform.redis_bus import RedisBus  # noqa: PLC0415 - only when configured

        return RedisBus(settings.redis_url)
    return InProcessBus()


def build_services(settings: Settings) -> Services:
    """Engine, bus and rate limits from settings: Redis-backed when a Redis URL is set."""
    engine = create_engine(settings.database_url, pool_size=settings.database_pool_size)
    return Services(
        engine=engine,
        bus=build_bus(settings),
        config_cache_seconds=settings.guild_config_cache_seconds,
        event_retention_hours=settings.event_retention_hours,
        kept_event_names=frozenset(ADMIN_ACTIONS),
        account_cache_size=settings.account_cache_size,
        rank_exact_limit=settings.rank_exact_limit,
        rank_snapshot_min_members=settings.rank_snapshot_min_members,
        rank_snapshot_step=settings.rank_snapshot_step,
        rank_snapshot_seconds=settings.rank_snapshot_seconds,
        rank_snapshot_guilds=settings.rank_snapshot_guilds,
        limits=SharedLimiter(settings.redis_url),
    )
