"""Every feature of guildbank, in the order their routes and commands are installed."""

from __future__ import annotations

from guildbank.core.feature import Feature
from guildbank.features.economy.feature import FEATURE as ECONOMY
from guildbank.features.guilds.feature import FEATURE as GUILDS
from guildbank.features.squads.feature import FEATURE as SQUADS

__all__ = ["FEATURES"]

FEATURES: tuple[Feature, ...] = (GUILDS, ECONOMY, SQUADS)
