"""Squads: the list with member counts, create, edit, deactivate/reactivate, delete (moving or
removing the members, as the service allows) and a squad's roster with Discord names.

Domain refusals of a form (a name or role already used) show next to the field; those of a
button (delete a squad with members, move them into a full squad) come back as a flash.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from guildbank.core.errors import GuildbankError, InvalidInput
from guildbank.features.guilds.errors import BadRole, RoleNotAssignable
from guildbank.features.guilds.permissions import Level
from guildbank.features.guilds.pickers import picker_for
from guildbank.features.guilds.queries import get_config
from guildbank.features.squads import admin as squad_admin
from guildbank.features.squads import queries as squads
from guildbank.features.squads.admin import BelowMemberCount, StaleSquad
from guildbank.features.squads.errors import SquadConflict
from guildbank.features.squads.forms import SquadForm
from guildbank.platform.uow import unit_of_work
from guildbank.web.forms import parse_whole
from guildbank.web.guard import Ctx, page

__all__ = ["routes"]

ROSTER_SIZE = 50
MAX_ID_DIGITS = 18


def _squad_id(ctx: Ctx) -> int:
    """The squad id in the URL; 0 (no squad has it, so: not found) when it is not an id."""
    raw = str(ctx.request.path_params["squad_id"])
    found = parse_whole(raw, max_digits=MAX_ID_DIGITS)
    return found if found is not None and found > 0 else 0


async def _list_page(ctx: Ctx, form: SquadForm, *, status: int = 200) -> Response:
    async with unit_of_work(ctx.state.services, read_only=True) as uow:
        rows = await squads.list_squads(uow, guild_id=ctx.guild_id, include_inactive=True)
        await uow.commit()
    return await ctx.render(
        "squads.html",
        nav="squads",
        live=True,
        squads=rows,
        picker=await picker_for(ctx),
        form=form,
        status=status,
    )


async def squad_list(ctx: Ctx) -> Response:
    return await _list_page(ctx, SquadForm.blank())


async def create(ctx: Ctx) -> Response:
    assert ctx.form is not None
    form = SquadForm.from_form(ctx.form)
    fields = form.validated()
    if fields is None:
        return await _list_page(ctx, form, status=400)
    try:
        async with unit_of_work(ctx.state.services) as uow:
            view = await squad_admin.create_squad(
                uow, guild_id=ctx.guild_id, actor_id=ctx.actor, **fields
            )
            await uow.commit()
    except (InvalidInput, SquadConflict, BadRole, RoleNotAssignable) as error:
        form.refused(error)
        return await _list_page(ctx, form, status=409 if error.kind == "conflict" else 400)
    return await ctx.redirect(
        f"{ctx.base}/squads/{view.id}", flash=("ok", f"Squad {view.name} created.")
    )


async def _squad_page(
    ctx: Ctx, squad_id: int, form: SquadForm | None = None, *, status: int = 200
) -> Response:
    paging = ctx.paging(ROSTER_SIZE)
    async with unit_of_work(ctx.state.services, read_only=True) as uow:
        config = await get_config(uow, ctx.guild_id)
        view = await squads.get_squad(uow, guild_id=ctx.guild_id, squad_id=squad_id)
        roster = await squads.squad_members(
            uow,
            guild_id=ctx.guild_id,
            squad_id=squad_id,
            limit=paging.size,
            offset=paging.offset,
        )
        others = await squads.list_squads(uow, guild_id=ctx.guild_id, include_inactive=True)
        await uow.commit()
    await ctx.lookup_people([m.user_id for m in roster])
    return await ctx.render(
        "squad.html",
        nav="squads",
        live=True,
        config=config,
        squad=view,
        form=form or SquadForm.from_view(view),
        roster=roster,
        page=paging.number,
        pages=paging.count(view.member_count),
        targets=[s for s in others if s.id != view.id],
        picker=await picker_for(ctx),
        status=status,
    )


async def squad(ctx: Ctx) -> Response:
    return await _squad_page(ctx, _squad_id(ctx))


async def edit(ctx: Ctx) -> Response:
    """Save the edit form (everything but the active switch, which has its own button)."""
    assert ctx.form is not None
    squad_id = _squad_id(ctx)
    form = SquadForm.from_form(ctx.form)
    fields = form.validated()
    if fields is None:
        return await _squad_page(ctx, squad_id, form, status=400)
    fields.pop("is_active")
    try:
        async with unit_of_work(ctx.state.services) as uow:
            view = await squad_admin.update_squad(
                uow,
                guild_id=ctx.guild_id,
                squad_id=squad_id,
                changes=fields,
                actor_id=ctx.actor,
                expected_version=form.version or None,
                strict_capacity=True,
            )
            await uow.commit()
    except StaleSquad:
        async with unit_of_work(ctx.state.services, read_only=True) as uow:
            form.stale(await squads.get_squad(uow, guild_id=ctx.guild_id, squad_id=squad_id))
            await uow.commit()
        form.errors["form"] = (
            "This squad changed since you opened it; nothing was saved. What differs is "
            "listed below; your values are kept: save again to apply them."
        )
        return await _squad_page(ctx, squad_id, form, status=409)
    except (InvalidInput, SquadConflict, BadRole, RoleNotAssignable, BelowMemberCount) as error:
        form.refused(error)
        status = 409 if error.kind == "conflict" else 400
        return await _squad_page(ctx, squad_id, form, status=status)
    return await ctx.redirect(f"{ctx.base}/squads/{view.id}", flash=("ok", "Squad saved."))


async def set_active(ctx: Ctx) -> Response:
    """Deactivate (members stay, nobody can join) or reactivate a squad."""
    squad_id = _squad_id(ctx)
    active = ctx.field("active")
    back = f"{ctx.base}/squads/{squad_id}"
    if active not in {"0", "1"}:
        return await ctx.redirect(back, flash=("error", "Choose to activate or deactivate."))
    async with unit_of_work(ctx.state.services) as uow:
        view = await squad_admin.update_squad(
            uow,
            guild_id=ctx.guild_id,
            squad_id=squad_id,
            changes={"is_active": active == "1"},
            actor_id=ctx.actor,
        )
        await uow.commit()
    message = (
        f"{view.name} is active: members can join."
        if view.is_active
        else f"{view.name} is inactive: its members stay, nobody can join."
    )
    return await ctx.redirect(back, flash=("ok", message))


async def remove(ctx: Ctx) -> Response:
    """Delete a squad: empty, or with its members moved to another squad or removed."""
    squad_id = _squad_id(ctx)
    back = f"{ctx.base}/squads/{squad_id}"
    choice, target = ctx.field("members"), ctx.field("move_to")
    if ctx.field("confirm") != "yes":
        return await ctx.redirect(back, flash=("error", "Tick the box to confirm the deletion."))
    move_to = parse_whole(target, max_digits=MAX_ID_DIGITS)
    if choice not in {"", "move", "remove"} or (
        choice == "move" and (move_to is None or move_to < 1)
    ):
        return await ctx.redirect(back, flash=("error", "Choose the squad to move members to."))
    try:
        async with unit_of_work(ctx.state.services) as uow:
            result = await squad_admin.delete_squad(
                uow,
                guild_id=ctx.guild_id,
                squad_id=squad_id,
                move_to=move_to if choice == "move" else None,
                kick_members=choice == "remove",
                actor_id=ctx.actor,
            )
            moved = (
                None
                if result.moved_to is None
                else await squads.get_squad(uow, guild_id=ctx.guild_id, squad_id=result.moved_to)
            )
            await uow.commit()
    except GuildbankError as error:
        return await ctx.redirect(back, flash=("error", error.message))
    count = len(result.members)
    if not count:
        message = "Squad deleted."
    elif moved is not None:
        message = f"Squad deleted; {count} member(s) moved to {moved.name}."
    else:
        message = f"Squad deleted; {count} member(s) removed from it."
    return await ctx.redirect(f"{ctx.base}/squads", flash=("ok", message))


routes = [
    Route(
        "/guilds/{guild_id}/squads",
        page(squad_list, level=Level.MODERATOR, feature="squads"),
        methods=["GET"],
        name="squads",
    ),
    Route("/guilds/{guild_id}/squads", page(create, feature="squads"), methods=["POST"]),
    Route(
        "/guilds/{guild_id}/squads/{squad_id}",
        page(squad, level=Level.MODERATOR, feature="squads"),
        methods=["GET"],
        name="squad",
    ),
    Route("/guilds/{guild_id}/squads/{squad_id}", page(edit, feature="squads"), methods=["POST"]),
    Route(
        "/guilds/{guild_id}/squads/{squad_id}/active",
        page(set_active, feature="squads"),
        methods=["POST"],
    ),
    Route(
        "/guilds/{guild_id}/squads/{squad_id}/delete",
        page(remove, feature="squads"),
        methods=["POST"],
    ),
]
