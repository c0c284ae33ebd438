"""The tables, one module per table group; importing this package registers them all."""

from __future__ import annotations

# Modules whose tables are imported by name from the module itself (registered here).
from guildbank.platform.models import archive as archive
from guildbank.platform.models import imported as imported
from guildbank.platform.models.access import ApiKey, IdempotencyRecord
from guildbank.platform.models.announcements import (
    Announcement,
    CustomCommand,
    EmbedTemplate,
    OperatorSetting,
)
from guildbank.platform.models.base import Base
from guildbank.platform.models.events import EventLogEntry, EventRelayCursor
from guildbank.platform.models.guilds import Guild, GuildChannel, GuildRole, GuildSettings
from guildbank.platform.models.ledger import Account, LedgerEntry, LedgerTransaction
from guildbank.platform.models.outbox import OutboxJob, OutboxMessage
from guildbank.platform.models.shop import ShopInventory, ShopItem, ShopItemSales, ShopPurchase
from guildbank.platform.models.squads import Squad, SquadMembership
from guildbank.platform.models.tasks import MemberTask, SchedulerLease, Task, TaskSettings

__all__ = [
    "Account",
    "Announcement",
    "ApiKey",
    "Base",
    "CustomCommand",
    "EmbedTemplate",
    "EventLogEntry",
    "EventRelayCursor",
    "Guild",
    "GuildChannel",
    "GuildRole",
    "GuildSettings",
    "IdempotencyRecord",
    "LedgerEntry",
    "LedgerTransaction",
    "MemberTask",
    "OperatorSetting",
    "OutboxJob",
    "OutboxMessage",
    "SchedulerLease",
    "ShopInventory",
    "ShopItem",
    "ShopItemSales",
    "ShopPurchase",
    "Squad",
    "SquadMembership",
    "Task",
    "TaskSettings",
]
