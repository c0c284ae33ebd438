"""Dashboard → Embeds: saved embeds with the editor and its live preview like Discord's,
posting one in a channel, deleting it, and the guild's custom commands below them."""

from __future__ import annotations

from starlette.responses import Response

from guildbank.core.errors import GuildbankError
from guildbank.features.announcements import custom, embeds, queries
from guildbank.features.announcements.errors import EmbedNameTaken, InvalidEmbed, StaleVersion
from guildbank.features.announcements.forms import EmbedForm
from guildbank.features.announcements.url_ids import path_id
from guildbank.features.guilds.pickers import picker_for
from guildbank.platform.uow import unit_of_work
from guildbank.web.forms import parse_whole
from guildbank.web.guard import Ctx

__all__ = [
    "command_create",
    "command_delete",
    "embed_delete",
    "embed_edit",
    "embed_list",
    "embed_post",
    "embed_save",
]


async def _embeds_page(
    ctx: Ctx, form: EmbedForm, *, embed_id: int = 0, status: int = 200, command_error: str = ""
) -> Response:
    async with unit_of_work(ctx.state.services, read_only=True) as uow:
        saved = await queries.list_embeds(uow, guild_id=ctx.guild_id)
        commands = await queries.command_set(uow, guild_id=ctx.guild_id)
        current = (
            await queries.get_embed(uow, guild_id=ctx.guild_id, embed_id=embed_id)
            if embed_id
            else None
        )
        await uow.commit()
    return await ctx.render(
        "embeds.html",
        nav="embeds",
        saved=saved,
        commands=commands.commands,
        command_error=command_error,
        current=current,
        form=form,
        picker=await picker_for(ctx),
        status=status,
    )


async def embed_list(ctx: Ctx) -> Response:
    return await _embeds_page(ctx, EmbedForm.blank())


async def embed_edit(ctx: Ctx) -> Response:
    embed_id = path_id(ctx, "embed_id")
    async with unit_of_work(ctx.state.services, read_only=True) as uow:
        view = await queries.get_embed(uow, guild_id=ctx.guild_id, embed_id=embed_id)
        await uow.commit()
    return await _embeds_page(
        ctx, EmbedForm.from_embed(view.name, view.embed, view.version), embed_id=embed_id
    )


async def embed_save(ctx: Ctx) -> Response:
    """Create (no id in the URL) or save an embed; every violation is shown."""
    assert ctx.form is not None
    embed_id = path_id(ctx, "embed_id") if "embed_id" in ctx.request.path_params else 0
    form = EmbedForm.from_form(ctx.form)
    embed = form.validated()
    if embed is None:
        return await _embeds_page(ctx, form, embed_id=embed_id, status=400)
    name = form.values["name"].strip()
    try:
        async with unit_of_work(ctx.state.services) as uow:
            if embed_id:
                view = await embeds.update_embed(
                    uow,
                    guild_id=ctx.guild_id,
                    embed_id=embed_id,
                    name=name,
                    embed=embed,
                    expected_version=form.version or None,
                )
            else:
                view = await embeds.create_embed(uow, guild_id=ctx.guild_id, name=name, embed=embed)
            await uow.commit()
    except InvalidEmbed as error:
        form.refused(error)
        return await _embeds_page(ctx, form, embed_id=embed_id, status=400)
    except (EmbedNameTaken, StaleVersion) as error:
        form.errors["name" if isinstance(error, EmbedNameTaken) else "form"] = error.message
        return await _embeds_page(ctx, form, embed_id=embed_id, status=409)
    shown = " and its message is being updated" if view.channel_id else ""
    return await ctx.redirect(
        f"{ctx.base}/embeds/{view.id}", flash=("ok", f"Embed {view.name} saved{shown}.")
    )


async def embed_post(ctx: Ctx) -> Response:
    embed_id = path_id(ctx, "embed_id")
    back = f"{ctx.base}/embeds/{embed_id}"
    channel = ctx.field("channel_id")
    if not channel.isdigit():
        return await ctx.redirect(back, flash=("error", "Choose the channel to post in."))
    try:
        async with unit_of_work(ctx.state.services) as uow:
            await embeds.post_embed(
                uow, guild_id=ctx.guild_id, embed_id=embed_id, channel_id=channel
            )
            await uow.commit()
    except GuildbankError as error:
        return await ctx.redirect(back, flash=("error", error.message))
    return await ctx.redirect(back, flash=("ok", "Posting: the bot shows it in a moment."))


async def embed_delete(ctx: Ctx) -> Response:
    embed_id = path_id(ctx, "embed_id")
    try:
        async with unit_of_work(ctx.state.services) as uow:
            view = await embeds.delete_embed(uow, guild_id=ctx.guild_id, embed_id=embed_id)
            await uow.commit()
    except GuildbankError as error:
        return await ctx.redirect(f"{ctx.base}/embeds/{embed_id}", flash=("error", error.message))
    return await ctx.redirect(f"{ctx.base}/embeds", flash=("ok", f"Embed {view.name} deleted."))


async def command_create(ctx: Ctx) -> Response:
    """Define a custom command (the bots register it within seconds)."""
    embed_id = parse_whole(ctx.field("embed_id"), max_digits=15) if ctx.field("embed_id") else None
    raw = ctx.form.get("response", "") if ctx.form is not None else ""
    try:
        async with unit_of_work(ctx.state.services) as uow:
            made = await custom.create_command(
                uow,
                guild_id=ctx.guild_id,
                name=ctx.field("name"),
                description=ctx.field("description")[:100] or "A custom command",
                response=raw.replace("\r\n", "\n")[:2000] if isinstance(raw, str) else "",
                embed_id=embed_id,
            )
            await uow.commit()
    except GuildbankError as error:
        return await _embeds_page(ctx, EmbedForm.blank(), command_error=error.message, status=400)
    return await ctx.redirect(
        f"{ctx.base}/embeds", flash=("ok", f"/{made.name} saved: the bot registers it shortly.")
    )


async def command_delete(ctx: Ctx) -> Response:
    name = str(ctx.request.path_params["name"])
    try:
        async with unit_of_work(ctx.state.services) as uow:
            await custom.delete_command(uow, guild_id=ctx.guild_id, name=name)
            await uow.commit()
    except GuildbankError as error:
        return await ctx.redirect(f"{ctx.base}/embeds", flash=("error", error.message))
    return await ctx.redirect(f"{ctx.base}/embeds", flash=("ok", f"/{name} deleted."))
