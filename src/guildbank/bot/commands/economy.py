"""``/economy add|remove|set`` for server admins (Manage Server or Administrator)."""

from __future__ import annotations

from typing import Literal

import hikari
import lightbulb

from guildbank.bot.checks import economy_admin
from guildbank.bot.render import money
from guildbank.bot.state import BotState
from guildbank.domain.economy import MAX_AMOUNT, MAX_REASON_LENGTH

__all__ = ["loader"]

loader = lightbulb.Loader()
economy = lightbulb.Group(
    "economy",
    "Admin tools for members' balances",
    contexts=[hikari.ApplicationContextType.GUILD],
    default_member_permissions=hikari.Permissions.MANAGE_GUILD,
)


async def _adjust(
    ctx: lightbulb.Context,
    state: BotState,
    action: Literal["add", "remove", "set"],
    user: hikari.User,
    amount: int,
    reason: str,
) -> None:
    guild = str(ctx.guild_id)
    if user.is_bot:
        await ctx.respond("Bots don't hold bytes.", ephemeral=True)
        return
    result = await state.api.adjust(
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


@economy.register
class Add(
    lightbulb.SlashCommand,
    name="add",
    hooks=[economy_admin],
    description="Add to a member's balance",
):
    user = lightbulb.user("user", "The member")
    amount = lightbulb.integer("amount", "How many", min_value=1, max_value=MAX_AMOUNT)
    reason = lightbulb.string(
        "reason", "Why (recorded in the ledger)", min_length=1, max_length=MAX_REASON_LENGTH
    )

    @lightbulb.invoke
    async def invoke(self, ctx: lightbulb.Context, state: BotState) -> None:
        await _adjust(ctx, state, "add", self.user, self.amount, self.reason)


@economy.register
class Remove(
    lightbulb.SlashCommand,
    name="remove",
    hooks=[economy_admin],
    description="Remove from a member's balance",
):
    user = lightbulb.user("user", "The member")
    amount = lightbulb.integer("amount", "How many", min_value=1, max_value=MAX_AMOUNT)
    reason = lightbulb.string(
        "reason", "Why (recorded in the ledger)", min_length=1, max_length=MAX_REASON_LENGTH
    )

    @lightbulb.invoke
    async def invoke(self, ctx: lightbulb.Context, state: BotState) -> None:
        await _adjust(ctx, state, "remove", self.user, self.amount, self.reason)


@economy.register
class Set(
    lightbulb.SlashCommand, name="set", hooks=[economy_admin], description="Set a member's balance"
):
    user = lightbulb.user("user", "The member")
    amount = lightbulb.integer("amount", "The new balance", min_value=0, max_value=MAX_AMOUNT)
    reason = lightbulb.string(
        "reason", "Why (recorded in the ledger)", min_length=1, max_length=MAX_REASON_LENGTH
    )

    @lightbulb.invoke
    async def invoke(self, ctx: lightbulb.Context, state: BotState) -> None:
        await _adjust(ctx, state, "set", self.user, self.amount, self.reason)


loader.command(economy)
