"""Colours and medals every embed shares, so the features' embeds look like one bot."""

from __future__ import annotations

import hikari

__all__ = ["BLUE", "GOLD", "GREEN", "GREY", "medal"]

GREEN = hikari.Color(0x2ECC71)
BLUE = hikari.Color(0x3498DB)
GOLD = hikari.Color(0xF1C40F)
GREY = hikari.Color(0x95A5A6)
MEDALS = {1: "🥇", 2: "🥈", 3: "🥉"}


def medal(rank: int) -> str:
    """A leaderboard rank: a medal on the podium, ``#n`` (as inline code) below it."""
    return MEDALS.get(rank, f"`#{rank}`")
