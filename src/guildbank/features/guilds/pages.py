"""Dashboard pages of the guilds feature: the server list and the settings form (economy,
feature toggles, staff roles, channels), saved optimistically: a form made from an older
version of the settings is refused (409) rather than undoing someone else's change."""

from __future__ import annotations

from zoneinfo import available_timezones

from starlette.responses import Response
from starlette.routing import Route

from guildbank.core.errors import GuildbankError
from guildbank.features.guilds.directory import list_guilds
from guildbank.features.guilds.errors import StaleSettings
from guildbank.features.guilds.forms import CHANNEL_FIELDS, SCALAR_FIELDS, SettingsForm
from guildbank.features.guilds.pickers import picker_for
from guildbank.features.guilds.queries import get_config
from guildbank.features.guilds.service import update_config
from guildbank.platform.uow import unit_of_work
from guildbank.web.guard import Ctx, page

__all__ = ["routes"]

# The timezone field's picker: every IANA zone this Python knows (typing still works).
TIMEZONES = tuple(sorted(zone for zone in available_timezones() if "/" in zone or zone == "UTC"))


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
    return await ctx.render(
        "servers.html",
        guilds=rows,
        names=names,
        missing=missing,
        moderated=ctx.access.moderated,
    )


async def _settings_page(ctx: Ctx, form: SettingsForm, *, status: int = 200) -> Response:
    return await ctx.render(
        "settings.html",
        nav="settings",
        form=form,
        fields=SCALAR_FIELDS,
        channel_fields=CHANNEL_FIELDS,
        picker=await picker_for(ctx),
        timezones=TIMEZONES,
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
                uow,
                guild_id=ctx.guild_id,
                changes=changes,
                actor_id=ctx.actor,
                expected_version=form.expected_version,
            )
            await uow.commit()
    except StaleSettings:
        async with unit_of_work(ctx.state.services, read_only=True) as uow:
            form.stale(await get_config(uow, ctx.guild_id))
            await uow.commit()
        form.errors["form"] = (
            "The settings changed since you opened them; nothing was saved. What differs is "
            "listed below; your values are kept: save again to apply them."
        )
        return await _settings_page(ctx, form, status=409)
    except GuildbankError as error:
        if error.kind == "not_found":
            raise
        form.refused(error)
        return await _settings_page(ctx, form, status=409 if error.kind == "conflict" else 400)
    return await ctx.redirect(f"{ctx.base}/settings", flash=("ok", "Settings saved."))


routes = [
    Route("/", page(server_list, guild=False), methods=["GET"], name="servers"),
    Route("/guilds/{guild_id}/settings", page(settings_form), methods=["GET"], name="settings"),
    Route("/guilds/{guild_id}/settings", page(save_settings), methods=["POST"]),
]
