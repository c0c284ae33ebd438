"""Sending bytes from Discord: checks Discord knows best, then confirmation for big amounts.

Used by ``/bytes send``, ``/give`` and the "Send bytes" user context menu. The transfer's
idempotency key is the original interaction's id, so however often Confirm is clicked (or
the event is redelivered) the money moves once.
"""

from __future__ import annotations

import hikari
import lightbulb
from lightbulb.components import Menu, MenuContext

from guildbank.bot.errors import explain, log_failure
from guildbank.bot.state import BotState
from guildbank.features.economy.client import EconomyClient
from guildbank.features.economy.render import transfer_embed
from guildbank.features.economy.roles import grant_roles
from guildbank.features.guilds.render import money
from guildbank.features.guilds.schemas import ConfigOut

__all__ = ["CONFIRM_TIMEOUT_SECONDS", "send_bytes"]

CONFIRM_TIMEOUT_SECONDS = 60.0
Responder = lightbulb.Context | lightbulb.components.ModalContext[None]


class ConfirmTransfer(Menu):
    """Confirm / Cancel buttons that only the sender may press."""

    def __init__(self, sender_id: hikari.Snowflake) -> None:
        self.sender_id = sender_id
        self.decision: bool | None = None
        self.confirm = self.add_interactive_button(
            hikari.ButtonStyle.SUCCESS, self.on_confirm, label="Confirm"
        )
        self.cancel = self.add_interactive_button(
            hikari.ButtonStyle.SECONDARY, self.on_cancel, label="Cancel"
        )
        self.pressed: MenuContext | None = None

    async def predicate(self, ctx: MenuContext) -> bool:
        if ctx.user.id != self.sender_id:
            await ctx.respond("Only the sender can confirm this transfer.", ephemeral=True)
            return False
        return True

    async def on_confirm(self, ctx: MenuContext) -> None:
        self.decision, self.pressed = True, ctx
        ctx.stop_interacting()

    async def on_cancel(self, ctx: MenuContext) -> None:
        self.decision, self.pressed = False, ctx
        ctx.stop_interacting()


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
    guild_id = ctx.guild_id
    config = await state.config(str(guild_id))
    if amount >= config.confirm_threshold:
        menu = ConfirmTransfer(ctx.user.id)
        prompt = f"Send {money(amount, config)} to {receiver.mention}?" + (
            f"\nReason: {reason}" if reason else ""
        )
        message = await ctx.respond(prompt, components=menu, ephemeral=True)
        try:
            await menu.attach(client, timeout=CONFIRM_TIMEOUT_SECONDS)
        except TimeoutError:
            menu.disable_all_components()
            await ctx.edit_response(message, "Timed out: nothing was sent.", components=menu)
            return
        pressed = menu.pressed
        assert pressed is not None
        if not menu.decision:
            await pressed.respond("Cancelled: nothing was sent.", edit=True, components=[])
            return
        try:
            await _transfer(
                pressed, state, config, str(guild_id), ctx, receiver, amount, reason, edit=True
            )
        except Exception as error:
            # Answer the press itself, on the prompt: its buttons must not stay clickable.
            log_failure(error, "send (confirmed)")
            await pressed.respond(explain(error), edit=True, components=[])
        return
    await _transfer(ctx, state, config, str(guild_id), ctx, receiver, amount, reason, edit=False)


async def _transfer(
    responder: Responder | MenuContext,
    state: BotState,
    config: ConfigOut,
    guild_id: str,
    origin: Responder,
    receiver: hikari.User,
    amount: int,
    reason: str | None,
    *,
    edit: bool,
) -> None:
    result = await state.client(EconomyClient).transfer(
        guild_id,
        giver_id=str(origin.user.id),
        receiver_id=str(receiver.id),
        amount=amount,
        reason=reason,
        idempotency_key=f"transfer:{origin.interaction.id}",
    )
    embed = transfer_embed(result, config)
    if isinstance(responder, MenuContext):
        await responder.respond("", embed=embed, edit=edit, components=[])
    else:
        await responder.respond(embed=embed)
    if result.roles_earned:
        await grant_roles(origin.client.rest, guild_id, result.receiver_id, result.roles_earned)
