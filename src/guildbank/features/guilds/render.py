"""How a guild writes its currency."""

from __future__ import annotations

from guildbank.features.guilds.schemas import ConfigOut

__all__ = ["money"]


def money(amount: int, config: ConfigOut) -> str:
    return f"{config.currency_emoji} **{amount:,}** {config.currency_name}"
