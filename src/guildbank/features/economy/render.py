"""Embeds for the economy commands."""

from __future__ import annotations

from collections.abc import Sequence

import hikari

from guildbank.bot.style import BLUE, GOLD, GREEN, medal
from guildbank.features.economy.schemas import (
    BalanceOut,
    DailyOut,
    LeaderboardEntryOut,
    RankOut,
    TransactionOut,
    TransferOut,
)
from guildbank.features.guilds.render import money
from guildbank.features.guilds.schemas import ConfigOut

__all__ = [
    "balance_embed",
    "daily_embed",
    "history_embed",
    "info_embed",
    "leaderboard_embed",
    "transfer_embed",
]


def balance_embed(name: str, balance: BalanceOut, config: ConfigOut, *, own: bool) -> hikari.Embed:
    title = "Your balance" if own else f"{name}'s balance"
    embed = hikari.Embed(title=title, description=money(balance.balance, config), color=BLUE)
    embed.add_field("Received", f"{balance.total_received:,}", inline=True)
    embed.add_field("Sent", f"{balance.total_sent:,}", inline=True)
    embed.add_field("Streak", _streak(balance), inline=True)
    if own:
        daily = "available now" if balance.daily_available else "claimed today"
        embed.add_field("Daily reward", daily, inline=True)
    if config.role_rewards:
        embed.add_field("Role rewards", _role_progress(balance.total_received, config))
    return embed


def _streak(member: BalanceOut | DailyOut) -> str:
    return f"{member.streak_count} day(s) · {member.tier} ×{member.multiplier}"


def _role_progress(received: int, config: ConfigOut) -> str:
    """Reward roles earned by ``received`` (total received) and the next one to earn."""
    ladder = sorted(config.role_rewards.items(), key=lambda item: (item[1], item[0]))
    earned = [f"<@&{role}>" for role, threshold in ladder if threshold <= received]
    upcoming = [(role, threshold) for role, threshold in ladder if threshold > received]
    lines = [f"Earned: {', '.join(earned)}"] if earned else []
    if upcoming:
        role, threshold = upcoming[0]
        lines.append(f"Next: <@&{role}> at {threshold:,} received ({threshold - received:,} to go)")
    return "\n".join(lines)


def daily_embed(daily: DailyOut, config: ConfigOut) -> hikari.Embed:
    embed = hikari.Embed(
        title="Daily reward", color=GREEN, description=f"You earned {money(daily.awarded, config)}."
    )
    embed.add_field("Streak", _streak(daily), inline=True)
    embed.add_field("Balance", f"{daily.balance:,}", inline=True)
    return embed


def transfer_embed(transfer: TransferOut, config: ConfigOut) -> hikari.Embed:
    embed = hikari.Embed(
        title="Sent!",
        description=f"<@{transfer.giver_id}> sent {money(transfer.amount, config)} "
        f"to <@{transfer.receiver_id}>.",
        color=GREEN,
    )
    if transfer.reason:
        embed.add_field("Reason", transfer.reason)
    embed.add_field("Your balance", f"{transfer.giver_balance:,}", inline=True)
    return embed


def leaderboard_embed(
    entries: Sequence[LeaderboardEntryOut], me: RankOut | None, config: ConfigOut
) -> hikari.Embed:
    lines = [f"{medal(e.rank)} <@{e.user_id}> — {money(e.balance, config)}" for e in entries]
    embed = hikari.Embed(
        title=f"{config.currency_name.title()} leaderboard",
        color=GOLD,
        description="\n".join(lines) or "Nobody has any yet.",
    )
    if me is not None and me.rank is not None and all(e.user_id != me.user_id for e in entries):
        embed.set_footer(f"You are {_standing(me.rank, me)} with {me.balance:,}")
    return embed


def _standing(position: int, me: RankOut) -> str:
    """``#7 of 7``; deep in a large guild both are estimates: ``about #123,456 of about
    1,000,000`` (docs/hot-paths.md)."""
    rank = f"#{position:,}" if me.rank_exact else f"about #{position:,}"
    members = f"{me.members:,}" if me.members_exact else f"about {me.members:,}"
    return f"{rank} of {members}"


def history_embed(user_id: str, items: Sequence[TransactionOut], config: ConfigOut) -> hikari.Embed:
    lines = []
    for item in items:
        mine = next((e for e in item.entries if e.user_id == user_id), None)
        amount = mine.amount if mine else 0
        sign = "+" if amount > 0 else ""
        when = f"<t:{int(item.created_at.timestamp())}:R>"
        reason = f" — {item.reason}" if item.reason and item.type == "transfer" else ""
        lines.append(f"`{sign}{amount:,}` {item.type.replace('_', ' ')} {when}{reason}")
    return hikari.Embed(
        title="Your recent transactions",
        color=BLUE,
        description="\n".join(lines) or "No transactions yet.",
    )


def info_embed(config: ConfigOut) -> hikari.Embed:
    embed = hikari.Embed(title=f"How {config.currency_name} work here", color=BLUE)
    embed.add_field("Starting balance", f"{config.starting_balance:,}", inline=True)
    embed.add_field("Daily reward", f"{config.daily_amount:,}", inline=True)
    embed.add_field("Max per transfer", f"{config.max_transfer:,}", inline=True)
    tiers = ", ".join(
        f"{days}+ days ×{mult}" for days, mult in sorted(config.streak_bonuses.items())
    )
    embed.add_field("Streak bonuses", tiers or "none")
    if config.transfer_cooldown_hours:
        embed.add_field("Transfer cooldown", f"{config.transfer_cooldown_hours} h", inline=True)
    if config.role_rewards:
        roles = ", ".join(f"<@&{r}> at {t:,} received" for r, t in config.role_rewards.items())
        embed.add_field("Role rewards", roles)
    return embed
