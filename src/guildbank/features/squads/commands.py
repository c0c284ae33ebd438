"""``/squads list|join|leave|info|members|leaderboard``: teams tied to Discord roles.

The API decides (prices, capacity, refusals) and queues the role changes in Discord with the
membership (the outbox: the worker grants the new squad's role and removes the previous one;
a refusal shows on the dashboard's Sync page for an admin). Writes carry an idempotency key
from the command's interaction id, so a retried or redelivered command never pays twice.
"""

from __future__ import annotations

from collections.abc import Sequence

import hikari
import lightbulb
import structlog
from lightbulb.components import Menu, MenuContext, TextSelectOption

from guildbank.bot.checks import IN_GUILDS, toggled_by
from guildbank.bot.errors import explain_on_prompt
from guildbank.bot.menus import MENU_TIMEOUT_SECONDS, Confirmation
from guildbank.bot.state import BotState
from guildbank.bot.transport import ApiError
from guildbank.features.guilds.render import money
from guildbank.features.squads.client import SquadsClient
from guildbank.features.squads.render import (
    join_summary,
    leaderboard_embed,
    members_embed,
    squad_embed,
    squad_label,
    squads_embed,
)
from guildbank.features.squads.schemas import SquadJoinOut, SquadOut

__all__ = ["loader"]

MAX_OPTIONS = 25
log = structlog.get_logger(__name__)

loader = lightbulb.Loader()
squads_group = lightbulb.Group(
    "squads",
    "Teams tied to roles: join one, see who leads",
    contexts=IN_GUILDS,
)


def _ids(ctx: lightbulb.Context | MenuContext) -> tuple[str, str]:
    return str(ctx.guild_id), str(ctx.user.id)


def _find(squads: Sequence[SquadOut], value: str) -> SquadOut | None:
    """An autocomplete pick (the id) or a typed name, case-insensitively."""
    wanted = value.strip()
    by_id = next((s for s in squads if str(s.id) == wanted), None)
    folded = wanted.casefold()
    return by_id or next((s for s in squads if s.name.casefold() == folded), None)


@lightbulb.di.with_di
async def squad_choices(
    ctx: lightbulb.AutocompleteContext[str], state: BotState = lightbulb.di.INJECTED
) -> None:
    """Squads whose name contains what was typed, labelled with the member's price."""
    guild, user = str(ctx.interaction.guild_id), str(ctx.interaction.user.id)
    typed = str(ctx.focused.value or "").casefold()
    try:
        squads = await state.client(SquadsClient).squads(guild, user_id=user)
        config = await state.config(guild)
    except ApiError as error:
        log.warning("squad autocomplete failed", guild_id=guild, error=repr(error))
        await ctx.respond([])
        return
    matches = [s for s in squads if typed in s.name.casefold()][:MAX_OPTIONS]
    await ctx.respond([(squad_label(s, config), str(s.id)) for s in matches])


def _squad_option(description: str) -> str | None:
    return lightbulb.string("squad", description, default=None, autocomplete=squad_choices)


async def _resolve(
    ctx: lightbulb.Context, state: BotState, value: str | None, *, include_inactive: bool
) -> SquadOut | None:
    """The named squad, or the member's own when ``value`` is None; None after telling them."""
    guild, user = _ids(ctx)
    if value is None:
        mine = await state.client(SquadsClient).member_squad(guild, user)
        if mine is None:
            await ctx.respond("You are not in a squad yet: try `/squads join`.", ephemeral=True)
            return None
        value = str(mine.squad.id)
    squads = await state.client(SquadsClient).squads(
        guild, include_inactive=include_inactive, user_id=user
    )
    squad = _find(squads, value)
    if squad is None:
        await ctx.respond(f"There is no squad called {value!r}.", ephemeral=True)
    return squad


async def _joined(state: BotState, result: SquadJoinOut) -> hikari.Embed:
    """The join's summary (its role change is on its way through the outbox)."""
    return join_summary(result, await state.config(result.guild_id))


@squads_group.register
class ListSquads(
    lightbulb.SlashCommand, name="list", description="The squads, yours marked, with prices"
):
    @lightbulb.invoke
    async def invoke(self, ctx: lightbulb.Context, state: BotState) -> None:
        guild, user = _ids(ctx)
        squads = await state.client(SquadsClient).squads(guild, user_id=user)
        await ctx.respond(embed=squads_embed(squads, await state.config(guild)))


@squads_group.register
class Join(lightbulb.SlashCommand, name="join", description="Join a squad (first one is free)"):
    squad = _squad_option("Which squad (pick from a menu when empty)")

    @lightbulb.invoke
    async def invoke(
        self, ctx: lightbulb.Context, state: BotState, client: lightbulb.Client
    ) -> None:
        if self.squad is None:
            await _pick_and_join(ctx, state, client)
            return
        squad = await _resolve(ctx, state, self.squad, include_inactive=False)
        if squad is None:
            return
        guild, user = _ids(ctx)
        result = await state.client(SquadsClient).join_squad(
            guild, squad.id, user, idempotency_key=f"squad-join:{ctx.interaction.id}"
        )
        await ctx.respond(embed=await _joined(state, result))


class SquadPicker(Menu):
    """A select menu of the squads the member could join."""

    def __init__(self, user_id: hikari.Snowflake, options: Sequence[TextSelectOption]) -> None:
        self.user_id = user_id
        self.select = self.add_text_select(options, self.on_select, placeholder="Choose a squad")
        self.chosen: str | None = None
        self.pressed: MenuContext | None = None

    async def predicate(self, ctx: MenuContext) -> bool:
        return ctx.user.id == self.user_id

    async def on_select(self, ctx: MenuContext) -> None:
        self.chosen, self.pressed = ctx.selected_values_for(self.select)[0], ctx
        ctx.stop_interacting()


async def _pick_and_join(ctx: lightbulb.Context, state: BotState, client: lightbulb.Client) -> None:
    """Select menu, then a confirmation showing the price, then the join (all ephemeral)."""
    guild, user = _ids(ctx)
    config = await state.config(guild)
    squads = [
        s for s in await state.client(SquadsClient).squads(guild, user_id=user) if not s.is_member
    ]
    if not squads:
        await ctx.respond("There is no other squad to join right now.", ephemeral=True)
        return
    picker = SquadPicker(
        ctx.user.id,
        [TextSelectOption(squad_label(s, config), str(s.id)) for s in squads[:MAX_OPTIONS]],
    )
    message = await ctx.respond(
        "Which squad do you want to join?", components=picker, ephemeral=True
    )
    try:
        await picker.attach(client, timeout=MENU_TIMEOUT_SECONDS)
    except TimeoutError:
        await ctx.edit_response(message, "Timed out: you did not join a squad.", components=[])
        return
    squad = _find(squads, picker.chosen or "")
    assert squad is not None
    assert picker.pressed is not None
    price = (
        f"It costs {money(squad.join_cost, config)}." if squad.join_cost else "It's free for you."
    )
    confirm = Confirmation(
        ctx.user.id,
        confirm_label="Join",
        refusal="Only the member who asked can answer this.",
        not_done="you did not join a squad",
    )
    await picker.pressed.respond(f"Join **{squad.name}**? {price}", edit=True, components=confirm)
    pressed = await confirm.wait_for_confirm(client, ctx, message)
    if pressed is None:
        return
    try:
        result = await state.client(SquadsClient).join_squad(
            guild, squad.id, user, idempotency_key=f"squad-join:{ctx.interaction.id}"
        )
    except ApiError as error:
        await explain_on_prompt(pressed, error, "squads join (confirmed)")
        return
    await pressed.respond("", embed=await _joined(state, result), edit=True, components=[])


@squads_group.register
class Leave(lightbulb.SlashCommand, name="leave", description="Leave your squad (free)"):
    @lightbulb.invoke
    async def invoke(self, ctx: lightbulb.Context, state: BotState) -> None:
        guild, user = _ids(ctx)
        result = await state.client(SquadsClient).leave_squad(
            guild, user, idempotency_key=f"squad-leave:{ctx.interaction.id}"
        )
        await ctx.respond(
            f"You left **{result.squad_name}**. Joining a squad again costs its switch cost."
        )


@squads_group.register
class Info(lightbulb.SlashCommand, name="info", description="About a squad (yours when empty)"):
    squad = _squad_option("Which squad (yours when empty)")

    @lightbulb.invoke
    async def invoke(self, ctx: lightbulb.Context, state: BotState) -> None:
        squad = await _resolve(ctx, state, self.squad, include_inactive=True)
        if squad is not None:
            await ctx.respond(embed=squad_embed(squad, await state.config(str(ctx.guild_id))))


@squads_group.register
class Members(
    lightbulb.SlashCommand, name="members", description="Who is in a squad (yours when empty)"
):
    squad = _squad_option("Which squad (yours when empty)")

    @lightbulb.invoke
    async def invoke(self, ctx: lightbulb.Context, state: BotState) -> None:
        squad = await _resolve(ctx, state, self.squad, include_inactive=True)
        if squad is None:
            return
        guild = str(ctx.guild_id)
        members = await state.client(SquadsClient).squad_members(guild, squad.id, limit=MAX_OPTIONS)
        await ctx.respond(embed=members_embed(squad, members, await state.config(guild)))


@squads_group.register
class Leaderboard(
    lightbulb.SlashCommand, name="leaderboard", description="Squads by their members' bytes"
):
    @lightbulb.invoke
    async def invoke(self, ctx: lightbulb.Context, state: BotState) -> None:
        guild = str(ctx.guild_id)
        rows = await state.client(SquadsClient).squad_leaderboard(guild, limit=10)
        await ctx.respond(embed=leaderboard_embed(rows, await state.config(guild)))


loader.command(squads_group)
# Each answers "disabled on this server" while the guild has squads off.
toggled_by("squads", "squads")
