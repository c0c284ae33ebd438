"""Every feature of guildbank, in the order their routes and commands are installed."""

from __future__ import annotations

from guildbank.core.feature import Feature
from guildbank.features.announcements.feature import FEATURE as ANNOUNCEMENTS
from guildbank.features.archive.feature import FEATURE as ARCHIVE
from guildbank.features.backup.feature import FEATURE as BACKUP
from guildbank.features.economy.feature import FEATURE as ECONOMY
from guildbank.features.guilds.feature import FEATURE as GUILDS
from guildbank.features.imports.feature import FEATURE as IMPORTS
from guildbank.features.members.feature import FEATURE as MEMBERS
from guildbank.features.shop.feature import FEATURE as SHOP
from guildbank.features.squads.feature import FEATURE as SQUADS
from guildbank.features.tasks.feature import FEATURE as TASKS
from guildbank.outbox.feature import FEATURE as OUTBOX

__all__ = ["FEATURES"]

FEATURES: tuple[Feature, ...] = (
    GUILDS,
    ECONOMY,
    MEMBERS,
    SQUADS,
    SHOP,
    TASKS,
    ANNOUNCEMENTS,
    ARCHIVE,
    IMPORTS,
    BACKUP,
    OUTBOX,
)
