"""The API client with every feature's methods: what the bot and integrators use.

Each feature adds its typed methods as a mixin over ``bot.transport.ApiTransport``
(``features/<name>/client.py``); this class combines them, so one client with one
transport reaches the whole API. Commands see one feature's methods through
``state.client(EconomyClient)``.
"""

from __future__ import annotations

from guildbank.bot.transport import ApiError, ApiUnavailable
from guildbank.features.announcements.client import AnnouncementsClient
from guildbank.features.economy.client import EconomyClient
from guildbank.features.guilds.client import GuildsClient
from guildbank.features.shop.client import ShopClient
from guildbank.features.squads.client import SquadsClient
from guildbank.features.tasks.client import TasksClient
from guildbank.outbox.client import OutboxClient

__all__ = ["ApiError", "ApiUnavailable", "GuildbankClient"]


class GuildbankClient(
    GuildsClient,
    EconomyClient,
    SquadsClient,
    ShopClient,
    TasksClient,
    AnnouncementsClient,
    OutboxClient,
):
    """Every feature's client methods over one transport (in-process or HTTP)."""
