"""The tables, one module per table group; importing this package registers them all."""

from __future__ import annotations

from guildbank.platform.models.access import ApiKey, IdempotencyRecord
from guildbank.platform.models.base import Base
from guildbank.platform.models.guilds import Guild, GuildSettings
from guildbank.platform.models.ledger import Account, LedgerEntry, LedgerTransaction
from guildbank.platform.models.squads import Squad, SquadMembership

__all__ = [
    "Account",
    "ApiKey",
    "Base",
    "Guild",
    "GuildSettings",
    "IdempotencyRecord",
    "LedgerEntry",
    "LedgerTransaction",
    "Squad",
    "SquadMembership",
]
