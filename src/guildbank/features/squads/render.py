"""What the squad commands show: lists with your squad and your price, rosters, rankings.

Prices come from the API (``join_cost`` of a listing made for the member), never from a
rule re-implemented here.
"""

from __future__ import annotations

from collections.abc import Sequence

import hikari

from guildbank.bot.style import BLUE, GOLD, GREEN, GREY, medal
from guildbank.features.guilds.render import money
from guildbank.features.guilds.schemas import ConfigOut
from guildbank.features.squads.schemas import (
    SquadJoinOut,
    SquadMemberOut,
    SquadOut,
    SquadRankingOut,
)

__all__ = [
    "join_summary",
    "leaderboard_embed",
    "members_embed",
    "price_text",
    "squad_embed",
    "squad_label",
    "squads_embed",
]

MAX_FIELDS = 25
LABEL_LENGTH = 100


def _title(squad: SquadOut | SquadRankingOut) -> str:
    return f"{squad.emoji} {squad.name}" if squad.emoji else squad.name


def _size(squad: SquadOut) -> str:
    if squad.max_members is None:
        return f"{squad.member_count} member(s)"
    return f"{squad.member_count}/{squad.max_members} members"


def price_text(squad: SquadOut, config: ConfigOut) -> str:
    """What joining costs the member the listing was made for (or the switch cost in general)."""
    if squad.is_member:
        return "your squad"
    if squad.join_cost is None:
        return f"switching in costs {money(squad.switch_cost, config)}"
    if squad.join_cost == 0:
        return "free for you to join"
    return f"costs you {money(squad.join_cost, config)} to join"


def squad_label(squad: SquadOut, config: ConfigOut) -> str:
    """Plain text (autocomplete choices, select options): name and the member's price."""
    if squad.is_member:
        price = "your squad"
    elif not squad.join_cost:
        price = "free"
    else:
        price = f"{squad.join_cost:,} {config.currency_name}"
    full = (
        " (full)"
        if squad.max_members is not None and squad.member_count >= squad.max_members
        else ""
    )
    return f"{_title(squad)} — {price}{full}"[:LABEL_LENGTH]


def squads_embed(squads: Sequence[SquadOut], config: ConfigOut) -> hikari.Embed:
    embed = hikari.Embed(
        title="Squads",
        color=BLUE,
        description="Join one with `/squads join`." if squads else "No squads here yet.",
    )
    for squad in squads[:MAX_FIELDS]:
        mark = "✅ " if squad.is_member else ""
        lines = [f"<@&{squad.role_id}> · {_size(squad)} · {price_text(squad, config)}"]
        if squad.description:
            lines.append(squad.description[:300])
        embed.add_field(f"{mark}{_title(squad)}"[:256], "\n".join(lines)[:1024])
    return embed


def squad_embed(squad: SquadOut, config: ConfigOut) -> hikari.Embed:
    embed = hikari.Embed(
        title=_title(squad)[:256],
        description=squad.description or None,
        color=BLUE if squad.is_active else GREY,
    )
    embed.add_field("Role", f"<@&{squad.role_id}>", inline=True)
    embed.add_field("Members", _size(squad), inline=True)
    embed.add_field("Switch cost", money(squad.switch_cost, config), inline=True)
    embed.add_field("For you", price_text(squad, config), inline=True)
    if not squad.is_active:
        embed.add_field("Status", "not accepting members", inline=True)
    return embed


def members_embed(
    squad: SquadOut, members: Sequence[SquadMemberOut], config: ConfigOut
) -> hikari.Embed:
    lines = [f"<@{m.user_id}> — {money(m.balance, config)}" for m in members]
    more = squad.member_count - len(members)
    if more > 0:
        lines.append(f"… and {more} more")
    return hikari.Embed(
        title=f"{_title(squad)} members"[:256],
        color=BLUE,
        description="\n".join(lines) or "Nobody has joined yet.",
    )


def leaderboard_embed(rows: Sequence[SquadRankingOut], config: ConfigOut) -> hikari.Embed:
    lines = [
        f"{medal(r.rank)} {_title(r)} — {money(r.total_bytes, config)} ({r.members} member(s))"
        for r in rows
    ]
    return hikari.Embed(
        title="Squad leaderboard",
        color=GOLD,
        description="\n".join(lines) or "No squads here yet.",
    )


def join_summary(result: SquadJoinOut, config: ConfigOut) -> hikari.Embed:
    squad = result.squad
    paid = (
        f"You paid {money(result.cost, config)} to switch."
        if result.cost
        else "It cost you nothing."
    )
    embed = hikari.Embed(
        title=f"Welcome to {_title(squad)}"[:256],
        description=f"<@{result.user_id}> joined <@&{squad.role_id}>. {paid}",
        color=GREEN,
    )
    embed.add_field("Your balance", money(result.balance, config), inline=True)
    embed.add_field("Members", _size(squad), inline=True)
    return embed
