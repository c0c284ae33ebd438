"""``/economy add|remove|set`` for server admins (Manage Server or Administrator)."""

from __future__ import annotations

import types
from typing import Any

import hikari
import lightbulb

from guildbank.bot.checks import IN_GUILDS, economy_admin, toggled_by
from guildbank.bot.state import BotState
from guildbank.core.limits import MAX_AMOUNT, MAX_REASON_LENGTH
from guildbank.features.economy.client import EconomyClient
from guildbank.features.economy.rules import AdjustAction
from guildbank.features.guilds.render import money

__all__ = ["loader"]

loader = lightbulb.Loader()
economy = lightbulb.Group(
    "economy",
    "Admin tools for members' balances",
    contexts=IN_GUILDS,
    default_member_permissions=hikari.Permissions.MANAGE_GUILD,
)


async def _adjust(
    ctx: lightbulb.Context,
    state: BotState,
    action: AdjustAction,
    user: hikari.User,
    amount: int,
    reason: str,
) -> None:
    guild = str(ctx.guild_id)
    if user.is_bot:
        await ctx.respond("Bots don't hold bytes.", ephemeral=True)
        return
    result = await state.client(EconomyClient).adjust(
        guild,
        user_id=str(user.id),
        action=action,
        amount=amount,
        reason=reason,
        actor_id=str(ctx.user.id),
        idempotency_key=f"adjust:{ctx.interaction.id}",
    )
    config = await state.config(guild)
    change = f"{result.delta:+,}" if result.delta else "no change"
    await ctx.respond(
        f"{user.mention} now has {money(result.balance, config)} ({change}). Reason: {reason}",
        ephemeral=True,
    )


def _adjust_command(
    action: AdjustAction, description: str, amount: str, minimum: int
) -> type[lightbulb.SlashCommand]:
    """``/economy <action>``: the three tools share their options and differ in the action."""

    async def invoke(self: Any, ctx: lightbulb.Context, state: BotState) -> None:
        await _adjust(ctx, state, action, self.user, self.amount, self.reason)

    body = {
        "user": lightbulb.user("user", "The member"),
        "amount": lightbulb.integer("amount", amount, min_value=minimum, max_value=MAX_AMOUNT),
        "reason": lightbulb.string(
            "reason", "Why (recorded in the ledger)", min_length=1, max_length=MAX_REASON_LENGTH
        ),
        "invoke": lightbulb.invoke(invoke),
    }
    options = {"name": action, "description": description, "hooks": [economy_admin]}
    return types.new_class(
        action.title(), (lightbulb.SlashCommand,), options, lambda namespace: namespace.update(body)
    )


for _command in (
    _adjust_command("add", "Add to a member's balance", "How many", 1),
    _adjust_command("remove", "Remove from a member's balance", "How many", 1),
    _adjust_command("set", "Set a member's balance", "The new balance", 0),
):
    economy.register(_command)

loader.command(economy)
toggled_by("economy", "economy")
