"""Dashboard pages of the guilds feature: the server list and the settings form."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from guildbank.core.errors import InvalidInput
from guildbank.features.guilds.directory import list_guilds
from guildbank.features.guilds.forms import SCALAR_FIELDS, SettingsForm
from guildbank.features.guilds.queries import get_config
from guildbank.features.guilds.service import update_config
from guildbank.platform.uow import unit_of_work
from guildbank.web.guard import Ctx, page

__all__ = ["routes"]


async def server_list(ctx: Ctx) -> Response:
    """Registered servers this user may manage, and the ones where guildbank is not installed."""
    async with unit_of_work(ctx.state.services, read_only=True) as uow:
        rows = await list_guilds(uow, ids=ctx.access.guild_ids)
        await uow.commit()
    names = {}
    for row in rows:
        names[row.id] = (
            ctx.access.guilds.get(row.id)
            or await ctx.state.directory.guild_name(row.id)
            or row.name
            or row.id
        )
    rows.sort(key=lambda row: (names[row.id].casefold(), row.id))
    registered = {row.id for row in rows}
    missing = sorted(
        (name, gid) for gid, name in ctx.access.guilds.items() if gid not in registered
    )
    return await ctx.render("servers.html", guilds=rows, names=names, missing=missing)


async def _settings_page(ctx: Ctx, form: SettingsForm, *, status: int = 200) -> Response:
    roles = await ctx.state.directory.roles(ctx.guild_id)
    return await ctx.render(
        "settings.html",
        nav="settings",
        form=form,
        fields=SCALAR_FIELDS,
        roles=roles,
        status=status,
    )


async def settings_form(ctx: Ctx) -> Response:
    async with unit_of_work(ctx.state.services, read_only=True) as uow:
        config = await get_config(uow, ctx.guild_id)
        await uow.commit()
    return await _settings_page(ctx, SettingsForm.from_config(config))


async def save_settings(ctx: Ctx) -> Response:
    """Validate every field, show messages next to the fields, or save and say so."""
    assert ctx.form is not None
    form = SettingsForm.from_form(ctx.form)
    changes = form.changes()
    if changes is None:
        return await _settings_page(ctx, form, status=400)
    try:
        async with unit_of_work(ctx.state.services) as uow:
            await update_config(
                uow, guild_id=ctx.guild_id, changes=changes, actor_id=ctx.session.actor_id
            )
            await uow.commit()
    except InvalidInput as error:
        form.refused(error)
        return await _settings_page(ctx, form, status=400)
    return await ctx.redirect(f"{ctx.base}/settings", flash=("ok", "Settings saved."))


routes = [
    Route("/", page(server_list, guild=False), methods=["GET"], name="servers"),
    Route("/guilds/{guild_id}/settings", page(settings_form), methods=["GET"], name="settings"),
    Route("/guilds/{guild_id}/settings", page(save_settings), methods=["POST"]),
]
