"""What the API keeps per process: services, the auth cache and the rate limiter."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from limits import RateLimitItemPerMinute

from guildbank.core.errors import RateLimited
from guildbank.platform.apikeys import Principal
from guildbank.platform.cache import TtlCache
from guildbank.platform.ratelimit import SharedLimiter
from guildbank.platform.uow import Services
from guildbank.settings import Settings

__all__ = ["ApiState"]


@dataclass
class ApiState:
    settings: Settings
    services: Services
    principals: TtlCache[str, Principal] = field(init=False)
    # Keys that live only in this process's memory, e.g. the embedded bot's in-process key.
    internal_keys: dict[str, Principal] = field(default_factory=dict)
    limits: SharedLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.principals = TtlCache(self.settings.api_key_cache_seconds)
        self.limits = SharedLimiter(self.settings.redis_url)

    async def limit_balance_changes(self, guild_id: str, user_id: str, per_minute: int) -> None:
        """Per-member limit on balance modifications (guild setting; 0 turns it off)."""
        if per_minute <= 0:
            return
        item = RateLimitItemPerMinute(per_minute)
        limiter = self.limits.limiter
        if not await limiter.hit(item, "balance", guild_id, user_id):
            stats = await limiter.get_window_stats(item, "balance", guild_id, user_id)

            raise RateLimited(retry_after_seconds=max(1, int(stats.reset_time - time.time()) + 1))
