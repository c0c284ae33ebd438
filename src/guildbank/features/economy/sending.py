"""Sending bytes from Discord: checks Discord knows best, then confirmation for big amounts.

Used by ``/bytes send``, ``/give`` and the "Send bytes" user context menu. The transfer's
idempotency key is the original interaction's id, so however often Confirm is clicked (or
the event is redelivered) the money moves once.
"""

from __future__ import annotations

import hikari
import lightbulb
from lightbulb.components import MenuContext

from guildbank.bot.errors import explain_on_prompt
from guildbank.bot.menus import Confirmation
from guildbank.bot.state import BotState
from guildbank.features.economy.client import EconomyClient
from guildbank.features.economy.render import transfer_embed
from guildbank.features.guilds.render import money
from guildbank.features.guilds.schemas import ConfigOut

__all__ = ["send_bytes"]

Responder = lightbulb.Context | lightbulb.components.ModalContext[None]


def _refusal(ctx: Responder, receiver: hikari.User, receiver_is_member: bool) -> str | None:
    """Why Discord-side facts forbid this transfer, if they do."""
    if ctx.guild_id is None:
        return "Bytes can only be sent inside a server."
    if receiver.is_bot:
        return "Bots can't hold bytes; pick a member instead."
    if receiver.id == ctx.user.id:
        return "You cannot send bytes to yourself."
    if not receiver_is_member:
        return f"{receiver.username} is not a member of this server."
    return None


async def send_bytes(
    ctx: Responder,
    state: BotState,
    client: lightbulb.Client,
    *,
    receiver: hikari.User,
    receiver_is_member: bool,
    amount: int,
    reason: str | None,
) -> None:
    refusal = _refusal(ctx, receiver, receiver_is_member)
    if refusal is not None:
        await ctx.respond(refusal, ephemeral=True)
        return
    config = await state.config(str(ctx.guild_id))
    if amount < config.confirm_threshold:
        await _transfer(ctx, ctx, state, config, receiver, amount, reason)
        return
    menu = Confirmation(
        ctx.user.id,
        refusal="Only the sender can confirm this transfer.",
        not_done="nothing was sent",
    )
    prompt = f"Send {money(amount, config)} to {receiver.mention}?" + (
        f"\nReason: {reason}" if reason else ""
    )
    message = await ctx.respond(prompt, components=menu, ephemeral=True)
    pressed = await menu.wait_for_confirm(client, ctx, message)
    if pressed is None:
        return
    try:
        await _transfer(pressed, ctx, state, config, receiver, amount, reason)
    except Exception as error:
        await explain_on_prompt(pressed, error, "send (confirmed)")


async def _transfer(
    answer: Responder | MenuContext,
    origin: Responder,
    state: BotState,
    config: ConfigOut,
    receiver: hikari.User,
    amount: int,
    reason: str | None,
) -> None:
    """Move the money and answer ``answer``: the command itself, or the Confirm press
    (whose prompt then becomes the result)."""
    guild_id = str(origin.guild_id)
    result = await state.client(EconomyClient).transfer(
        guild_id,
        giver_id=str(origin.user.id),
        receiver_id=str(receiver.id),
        amount=amount,
        reason=reason,
        idempotency_key=f"transfer:{origin.interaction.id}",
    )
    embed = transfer_embed(result, config)
    if isinstance(answer, MenuContext):
        await answer.respond("", embed=embed, edit=True, components=[])
    else:
        await answer.respond(embed=embed)
    # Reward roles the receiver earned were queued with the transfer (outbox): no call here.
