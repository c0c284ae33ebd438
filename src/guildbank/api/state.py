"""What the API keeps per process: services and the auth cache (rate limits live in
``Services``, so every adapter shares them)."""

from __future__ import annotations

from dataclasses import dataclass, field

from guildbank.platform.apikeys import Principal
from guildbank.platform.cache import TtlCache
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

    def __post_init__(self) -> None:
        self.principals = TtlCache(self.settings.api_key_cache_seconds)
