"""Colours and medals every embed shares."""

from __future__ import annotations

import hikari

__all__ = []

GREEN = hikari.Color(0x2ECC71)
BLUE = hikari.Color(0x3498DB)
GOLD = hikari.Color(0xF1C40F)
MEDALS = {1: "🥇", 2: "🥈", 3: "🥉"}
