"""Ids in the announcements pages' URLs (``/embeds/{embed_id}``, ``/announcements/{id}``)."""

from __future__ import annotations

from guildbank.web.forms import parse_whole
from guildbank.web.guard import Ctx

__all__ = ["path_id"]


def path_id(ctx: Ctx, name: str) -> int:
    """The positive whole number in the path parameter ``name``; 0 (found nowhere) otherwise."""
    found = parse_whole(str(ctx.request.path_params[name]), max_digits=18)
    return found if found is not None and found > 0 else 0
