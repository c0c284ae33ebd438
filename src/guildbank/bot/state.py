"""What the bot keeps per process: the API client, a config cache and the daily memo."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from guildbank.features.guilds.client import GuildsClient
from guildbank.features.guilds.schemas import ConfigOut

__all__ = ["BotState", "DailyMemo"]

CONFIG_TTL_SECONDS = 60.0
C = TypeVar("C")


def utc_now() -> datetime:
    return datetime.now(UTC)


class DailyMemo:
    """Members who already claimed today, per guild-day, so repeat messages cost no API call."""

    def __init__(self) -> None:
        self._claimed: dict[tuple[str, date], set[str]] = {}

    def has(self, guild_id: str, day: date, user_id: str) -> bool:
        members = self._claimed.get((guild_id, day))
        return members is not None and user_id in members

    def add(self, guild_id: str, day: date, user_id: str) -> None:
        key = (guild_id, day)
        if key not in self._claimed:
            # A new day for this guild: forget its older days.
            for old in [k for k in self._claimed if k[0] == guild_id]:
                del self._claimed[old]
            self._claimed[key] = set()
        self._claimed[key].add(user_id)


@dataclass
class BotState:
    api: GuildsClient
    memo: DailyMemo = field(default_factory=DailyMemo)
    # Where "today" for the daily memo comes from: the wall clock (tests share the API's clock).
    clock: Callable[[], datetime] = utc_now
    _configs: dict[str, tuple[float, ConfigOut]] = field(default_factory=dict)
    _zones: dict[str, ZoneInfo] = field(default_factory=dict)
    _loading: dict[str, asyncio.Task[ConfigOut]] = field(default_factory=dict)

    async def config(self, guild_id: str) -> ConfigOut:
        cached = self._configs.get(guild_id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        # One request per guild however many events wait for it (a burst after a cold start).
        loading = self._loading.get(guild_id)
        if loading is None:
            loading = self._loading[guild_id] = asyncio.create_task(self._load(guild_id))
        return await asyncio.shield(loading)

    async def _load(self, guild_id: str) -> ConfigOut:
        try:
            config = await self.api.config(guild_id)
            self._configs[guild_id] = (time.monotonic() + CONFIG_TTL_SECONDS, config)
            return config
        finally:
            del self._loading[guild_id]

    def client(self, kind: type[C]) -> C:
        """The process's API client seen through one feature's methods (it carries them all)."""
        if not isinstance(self.api, kind):
            msg = f"the bot's API client has no {kind.__name__} methods"
            raise TypeError(msg)
        return self.api

    def forget_config(self, guild_id: str) -> None:
        self._configs.pop(guild_id, None)

    def today(self, config: ConfigOut, now: datetime | None = None) -> date:
        zone = self._zones.get(config.timezone)
        if zone is None:
            zone = self._zones[config.timezone] = ZoneInfo(config.timezone)
        return (now or self.clock()).astimezone(zone).date()
