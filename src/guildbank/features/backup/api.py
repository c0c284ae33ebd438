"""``GET /api/guilds/{guild_id}/export``: the whole guild as one JSON document (admin scope).

Streamed as it is read (``dump.py``), so a large guild costs the server no more memory than
a small one; ``guildbank import FILE`` loads it into another database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import StreamingResponse

from guildbank.api.deps import Admin, GuildId, api_state
from guildbank.features.backup.dump import export_chunks, guild_exists
from guildbank.features.guilds.errors import GuildNotFound
from guildbank.platform.uow import unit_of_work

__all__ = ["router"]

router = APIRouter(prefix="/guilds/{guild_id}", tags=["backup"])

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The guild export (format `guildbank.guild-export`, version 1)",
        "content": {"application/json": {}},
    },
    404: {"description": "Unknown guild (`guild_not_found`)"},
}


@router.get("/export", dependencies=[Admin], response_class=StreamingResponse, responses=_RESPONSES)
async def export_guild(request: Request, guild_id: GuildId) -> StreamingResponse:
    """Everything of the guild: settings, channels and roles, accounts, the ledger with its
    entries, squads, shop, tasks, announcements, embeds, custom commands. One consistent
    snapshot, streamed; load it with `guildbank import FILE`."""
    services = api_state(request).services
    async with unit_of_work(services, read_only=True) as uow:
        if not await guild_exists(uow, guild_id):
            raise GuildNotFound(guild_id)
    now = services.clock()

    async def body() -> AsyncIterator[bytes]:
        async with unit_of_work(services, read_only=True) as uow:
            async for chunk in export_chunks(uow, guild_id=guild_id, now=now):
                yield chunk

    filename = f"guildbank-{guild_id}-{now:%Y%m%d-%H%M%S}.json"
    return StreamingResponse(
        body(),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
