"""The typed API client with every feature's methods: what the bot and integrators use.

One code path, two transports: in the embedded single-process mode the client calls the
ASGI app in-process; in split mode it speaks HTTP with a bearer service key. Writes carry
an ``Idempotency-Key`` (the bot derives it from the Discord event id), which is what makes
retrying them safe: a retried write never pays twice.
"""

from __future__ import annotations

from guildbank.bot.transport import ApiError, ApiUnavailable
from guildbank.features.economy.client import EconomyClient
from guildbank.features.guilds.client import GuildsClient
from guildbank.features.squads.client import SquadsClient

__all__ = ["ApiError", "ApiUnavailable", "GuildbankClient"]


class GuildbankClient(GuildsClient, EconomyClient, SquadsClient):
    """Every feature's client methods over one transport."""
