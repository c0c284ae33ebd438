"""Role rewards: grant the roles a member's total received has earned."""

from __future__ import annotations

from collections.abc import Iterable

import hikari
import structlog

__all__ = ["grant_roles"]

log = structlog.get_logger(__name__)


async def grant_roles(
    rest: hikari.api.RESTClient, guild_id: str, user_id: str, role_ids: Iterable[str]
) -> list[str]:
    """Add each role; returns those Discord refused (logged for an admin to fix)."""
    refused = []
    for role_id in role_ids:
        try:
            await rest.add_role_to_member(
                int(guild_id), int(user_id), int(role_id), reason="guildbank role reward"
            )
        except (hikari.ForbiddenError, hikari.NotFoundError) as error:
            refused.append(role_id)
            log.warning(
                "role reward refused by Discord",
                guild_id=guild_id,
                user_id=user_id,
                role_id=role_id,
                error=str(error),
            )
    return refused
