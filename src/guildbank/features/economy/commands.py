"""``/bytes …``, ``/daily``, ``/give`` and the "Send bytes" user context menu."""

from __future__ import annotations

import types
from typing import Any

import hikari
import lightbulb
from lightbulb.components import Modal, ModalContext

from guildbank.bot.checks import IN_GUILDS, toggled_by
from guildbank.bot.errors import explain, log_failure
from guildbank.bot.state import BotState
from guildbank.core.limits import MAX_AMOUNT, MAX_REASON_LENGTH
from guildbank.core.text import parse_whole, single_line
from guildbank.features.economy.client import EconomyClient
from guildbank.features.economy.render import (
    balance_embed,
    daily_embed,
    history_embed,
    info_embed,
    leaderboard_embed,
)
from guildbank.features.economy.sending import send_bytes

__all__ = ["loader"]

MODAL_TIMEOUT_SECONDS = 300.0

loader = lightbulb.Loader()
bytes_group = lightbulb.Group(
    "bytes", "Your bytes: balance, sending, leaderboard", contexts=IN_GUILDS
)


def _guild(ctx: lightbulb.Context) -> str:
    if ctx.guild_id is None:
        msg = "guild-only command invoked outside a guild"
        raise lightbulb.exceptions.ExecutionException(msg)
    return str(ctx.guild_id)


def _is_member(ctx: lightbulb.Context, user: hikari.User) -> bool:
    resolved = ctx.interaction.resolved
    return resolved is not None and user.id in resolved.members


@bytes_group.register
class Balance(
    lightbulb.SlashCommand,
    name="balance",
    description="Your balance, totals, streak and whether your daily is ready",
):
    @lightbulb.invoke
    async def invoke(self, ctx: lightbulb.Context, state: BotState) -> None:
        guild = _guild(ctx)
        balance = await state.client(EconomyClient).balance(guild, str(ctx.user.id))
        config = await state.config(guild)
        await ctx.respond(
            embed=balance_embed(ctx.user.username, balance, config, own=True), ephemeral=True
        )


@bytes_group.register
class Check(lightbulb.SlashCommand, name="check", description="Someone's balance"):
    user = lightbulb.user("user", "Whose balance (you when empty)", default=None)

    @lightbulb.invoke
    async def invoke(self, ctx: lightbulb.Context, state: BotState) -> None:
        guild = _guild(ctx)
        target = self.user or ctx.user
        if target.is_bot:
            await ctx.respond("Bots don't hold bytes.", ephemeral=True)
            return
        balance = await state.client(EconomyClient).balance(guild, str(target.id))
        config = await state.config(guild)
        own = target.id == ctx.user.id
        await ctx.respond(embed=balance_embed(target.username, balance, config, own=own))


def _send_command(name: str, **options: Any) -> type[lightbulb.SlashCommand]:
    """``/bytes send`` and ``/give``: one command under two names."""

    async def invoke(
        self: Any, ctx: lightbulb.Context, state: BotState, client: lightbulb.Client
    ) -> None:
        await send_bytes(
            ctx,
            state,
            client,
            receiver=self.user,
            receiver_is_member=_is_member(ctx, self.user),
            amount=self.amount,
            reason=self.reason,
        )

    body = {
        "user": lightbulb.user("user", "Who receives them"),
        "amount": lightbulb.integer("amount", "How many", min_value=1),
        "reason": lightbulb.string(
            "reason", "Why (optional)", default=None, max_length=MAX_REASON_LENGTH
        ),
        "invoke": lightbulb.invoke(invoke),
    }
    return types.new_class(
        name.title(),
        (lightbulb.SlashCommand,),
        {"name": name, "description": "Send bytes to a member", **options},
        lambda namespace: namespace.update(body),
    )


bytes_group.register(_send_command("send"))
loader.command(_send_command("give", contexts=IN_GUILDS))


@bytes_group.register
class Leaderboard(lightbulb.SlashCommand, name="leaderboard", description="The richest members"):
    limit = lightbulb.integer("limit", "How many (5–25)", default=10, min_value=5, max_value=25)

    @lightbulb.invoke
    async def invoke(self, ctx: lightbulb.Context, state: BotState) -> None:
        guild = _guild(ctx)
        entries = await state.client(EconomyClient).leaderboard(guild, self.limit)
        me = await state.client(EconomyClient).rank(guild, str(ctx.user.id))
        config = await state.config(guild)
        await ctx.respond(embed=leaderboard_embed(entries, me, config))


@bytes_group.register
class History(lightbulb.SlashCommand, name="history", description="Your recent transactions"):
    limit = lightbulb.integer("limit", "How many (1–20)", default=10, min_value=1, max_value=20)

    @lightbulb.invoke
    async def invoke(self, ctx: lightbulb.Context, state: BotState) -> None:
        guild = _guild(ctx)
        items = await state.client(EconomyClient).history(guild, str(ctx.user.id), self.limit)
        config = await state.config(guild)
        await ctx.respond(embed=history_embed(str(ctx.user.id), items, config), ephemeral=True)


@bytes_group.register
class Info(lightbulb.SlashCommand, name="info", description="How the economy works here"):
    @lightbulb.invoke
    async def invoke(self, ctx: lightbulb.Context, state: BotState) -> None:
        config = await state.config(_guild(ctx))
        await ctx.respond(embed=info_embed(config))


@loader.command
class Daily(
    lightbulb.SlashCommand, name="daily", description="Claim your daily bytes", contexts=IN_GUILDS
):
    @lightbulb.invoke
    async def invoke(self, ctx: lightbulb.Context, state: BotState) -> None:
        guild = _guild(ctx)
        config = await state.config(guild)
        daily = await state.client(EconomyClient).claim_daily(
            guild, str(ctx.user.id), idempotency_key=f"daily:{ctx.interaction.id}"
        )
        state.memo.add(guild, state.today(config), str(ctx.user.id))
        await ctx.respond(embed=daily_embed(daily, config))
        # Reward roles the claim earned were queued with it: the outbox worker grants them.


class SendModal(Modal):
    """Amount and reason for the "Send bytes" context menu."""

    def __init__(
        self,
        state: BotState,
        client: lightbulb.Client,
        receiver: hikari.User,
        receiver_is_member: bool,
    ) -> None:
        self.state = state
        self.client = client
        self.receiver = receiver
        self.receiver_is_member = receiver_is_member
        self.amount = self.add_short_text_input(
            "Amount", min_length=1, max_length=len(f"{MAX_AMOUNT:,}"), placeholder="e.g. 25"
        )
        self.reason = self.add_paragraph_text_input(
            "Reason (optional)", required=False, max_length=MAX_REASON_LENGTH
        )

    async def on_submit(self, ctx: ModalContext[None]) -> None:
        raw = (ctx.value_for(self.amount) or "").strip().replace(",", "")
        amount = parse_whole(raw)  # ASCII digits, as the API reads them (core.text)
        if amount is None or amount < 1:
            await ctx.respond(f"{raw!r} is not a whole number of at least 1.", ephemeral=True)
            return
        try:
            await send_bytes(
                ctx,
                self.state,
                self.client,
                receiver=self.receiver,
                receiver_is_member=self.receiver_is_member,
                amount=amount,
                # One line, as every reason is: the paragraph box lets a member type newlines.
                reason=single_line(ctx.value_for(self.reason) or "") or None,
            )
        except Exception as error:
            # A modal submission is not a command: lightbulb's error handler never sees it.
            log_failure(error, "Send bytes (modal)")
            await ctx.respond(explain(error), ephemeral=True)


@loader.command
class SendBytesMenu(lightbulb.UserCommand, name="Send bytes", contexts=IN_GUILDS):
    @lightbulb.invoke
    async def invoke(
        self, ctx: lightbulb.Context, state: BotState, client: lightbulb.Client
    ) -> None:
        modal = SendModal(state, client, self.target, _is_member(ctx, self.target))
        custom_id = f"send-bytes:{ctx.interaction.id}"
        await ctx.respond_with_modal(
            f"Send bytes to {self.target.username}"[:45], custom_id, components=modal
        )
        try:
            await modal.attach(client, custom_id, timeout=MODAL_TIMEOUT_SECONDS)
        except TimeoutError:
            return  # the member closed the modal; nothing to do


loader.command(bytes_group)
# Each answers "disabled on this server" while the guild has the economy off.
toggled_by("economy", "bytes", "give", "daily", "Send bytes")
