"""The backup feature as the runtime assembles it: the guild export route (the rest is the
``guildbank export``/``import FILE``/``backup``/``restore`` commands, ``command.py``)."""

from __future__ import annotations

from guildbank.core.feature import Feature
from guildbank.features.backup import api

__all__ = ["FEATURE"]

FEATURE = Feature(name="backup", api_routers=(api.router,))
