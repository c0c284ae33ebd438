"""Squad roles in Discord: a join grants the squad's role (and takes the previous one), a
leave takes it away.

The membership stands whatever Discord says: a refused or failed role change is logged for
an admin and explained to the member.
"""

from __future__ import annotations

import hikari
import structlog

__all__ = ["sync_roles"]

log = structlog.get_logger(__name__)


async def sync_roles(
    rest: hikari.api.RESTClient,
    guild_id: str,
    user_id: str,
    *,
    add: str | None = None,
    remove: str | None = None,
) -> list[str]:
    """Grant ``add`` and take ``remove``; returns what to tell the member about refusals."""
    notes: list[str] = []
    for role_id, adding in ((add, True), (remove, False)):
        if role_id is None:
            continue
        try:
            if adding:
                await rest.add_role_to_member(
                    int(guild_id), int(user_id), int(role_id), reason="guildbank squad joined"
                )
            else:
                await rest.remove_role_from_member(
                    int(guild_id), int(user_id), int(role_id), reason="guildbank squad left"
                )
        except hikari.HTTPError as error:
            # 403/404 are refusals (role above the bot, role deleted); anything else is an
            # outage that outlived hikari's retries. Either way the membership stands.
            refused = isinstance(error, hikari.ForbiddenError | hikari.NotFoundError)
            said = error.message if isinstance(error, hikari.HTTPResponseError) else ""
            status = int(error.status) if isinstance(error, hikari.HTTPResponseError) else None
            log.warning(
                "squad role out of sync: Discord refused the change"
                if refused
                else "squad role out of sync: Discord failed",
                guild_id=guild_id,
                user_id=user_id,
                role_id=role_id,
                action="add" if adding else "remove",
                status=status,
                error=said or repr(error),
            )
            verb = "give you" if adding else "take away"
            notes.append(
                f"⚠️ I couldn't {verb} the <@&{role_id}> role: Discord said "
                f"“{said or status or 'no answer'}”. An admin has been notified in the logs."
            )
    return notes
