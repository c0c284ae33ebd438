"""API keys for integrators, limited to this server: a server admin lists, creates and revokes
them here. A new key's token is shown once, on the page that answers the creation (never
stored, never redirected through the session). Keys covering other servers too are the
operator's: shown, not revocable here (``guildbank revoke-api-key``)."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from guildbank.core.errors import GuildbankError
from guildbank.platform import apikeys
from guildbank.platform.uow import unit_of_work
from guildbank.web.guard import Ctx, page

__all__ = ["routes"]

MAX_ID_DIGITS = 18


async def _keys_page(
    ctx: Ctx, *, token: str = "", name: str = "", error: str = "", status: int = 200
) -> Response:
    async with unit_of_work(ctx.state.services, read_only=True) as uow:
        keys = await apikeys.list_api_keys(uow, guild_id=ctx.guild_id)
        await uow.commit()
    return await ctx.render(
        "api_keys.html",
        nav="api-keys",
        keys=keys,
        scopes=apikeys.ALL_SCOPES,
        token=token,
        name=name,
        error=error,
        status=status,
    )


async def list_keys(ctx: Ctx) -> Response:
    return await _keys_page(ctx)


async def create_key(ctx: Ctx) -> Response:
    """Create a key for this server only; the answer shows its token once."""
    assert ctx.form is not None
    name = ctx.field("name")
    scopes = tuple(s for s in ctx.form.getlist("scope") if isinstance(s, str))
    try:
        async with unit_of_work(ctx.state.services) as uow:
            principal, token = await apikeys.create_api_key(
                uow,
                name=name,
                scopes=scopes,
                guild_ids=[ctx.guild_id],
                created_by=ctx.session.actor_id,
            )
            await uow.commit()
    except GuildbankError as error:
        return await _keys_page(ctx, name=name, error=error.message, status=400)
    return await _keys_page(ctx, token=token, name=principal.name, status=201)


async def revoke_key(ctx: Ctx) -> Response:
    raw = str(ctx.request.path_params["key_id"])
    back = f"{ctx.base}/api-keys"
    if not (raw.isdigit() and len(raw) <= MAX_ID_DIGITS):
        return await ctx.redirect(back, flash=("error", "No such key."))
    try:
        async with unit_of_work(ctx.state.services) as uow:
            row = await apikeys.revoke_guild_key(uow, guild_id=ctx.guild_id, key_id=int(raw))
            await uow.commit()
    except GuildbankError as error:
        return await ctx.redirect(back, flash=("error", error.message))
    return await ctx.redirect(back, flash=("ok", f"Key {row.name} revoked."))


routes = [
    Route("/guilds/{guild_id}/api-keys", page(list_keys), methods=["GET"], name="api_keys"),
    Route("/guilds/{guild_id}/api-keys", page(create_key), methods=["POST"]),
    Route("/guilds/{guild_id}/api-keys/{key_id}/revoke", page(revoke_key), methods=["POST"]),
]
