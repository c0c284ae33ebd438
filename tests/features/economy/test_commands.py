"""Every slash command end to end: fake Discord → real bot → real API → database, and back."""

from __future__ import annotations

import re
from typing import Any

import pytest

from guildbank.runtime.bot import GuildbankBot
from tests.bot.world import (
    BotWorld,
    content_of,
    embed_of,
    field_values,
    is_ephemeral,
)
from tests.factories import guild_money


async def _transactions(world: BotWorld, type_: str) -> list[Any]:
    return await world.api.transactions(world.gid, type=type_)


async def test_balance_info_and_check_use_the_guild_currency(world: BotWorld) -> None:
    await world.configure(currency_name="coins", currency_emoji="🪙", max_transfer=500)
    await world.start_bot()

    _, own = await world.command(world.alice, "bytes balance")
    assert is_ephemeral(own)
    embed = embed_of(own)
    assert embed["title"] == "Your balance"
    assert embed["description"] == "🪙 **100** coins"
    assert field_values(embed) == {
        "Received": "0",
        "Sent": "0",
        "Streak": "0 day(s) · NONE ×1",
        "Daily reward": "available now",
    }

    _, info = await world.command(world.bob, "bytes info")
    info_embed = embed_of(info)
    assert info_embed["title"] == "How coins work here"
    assert field_values(info_embed) == {
        "Starting balance": "100",
        "Daily reward": "10",
        "Max per transfer": "500",
        "Streak bonuses": "8+ days ×2, 16+ days ×4, 32+ days ×8, 64+ days ×16",
    }

    await world.fund(world.bob, 1234)
    _, other = await world.command(world.alice, "bytes check", {"user": world.bob.id})
    assert not is_ephemeral(other)  # a public answer: checking someone else is not private
    other_embed = embed_of(other)
    assert other_embed["title"] == "bob's balance"
    assert other_embed["description"] == "🪙 **1,234** coins"
    assert "Daily reward" not in field_values(other_embed)

    _, self_check = await world.command(world.alice, "bytes check")
    assert embed_of(self_check)["title"] == "Your balance"

    _, robot = await world.command(world.alice, "bytes check", {"user": world.robot.id})
    assert (content_of(robot), is_ephemeral(robot)) == ("Bots don't hold bytes.", True)


async def test_send_and_give_move_money_and_answer_with_the_currency(world: BotWorld) -> None:
    await world.configure(currency_name="gems", currency_emoji="💎")
    await world.start_bot()

    _, sent = await world.command(
        world.alice, "bytes send", {"user": world.bob.id, "amount": 30, "reason": "lunch"}
    )
    embed = embed_of(sent)
    assert embed["title"] == "Sent!"
    assert embed["description"] == (
        f"<@{world.alice.id}> sent 💎 **30** gems to <@{world.bob.id}>."
    )
    assert field_values(embed) == {"Reason": "lunch", "Your balance": "70"}

    _, given = await world.command(world.bob, "give", {"user": world.carol.id, "amount": 5})
    assert embed_of(given)["description"] == (
        f"<@{world.bob.id}> sent 💎 **5** gems to <@{world.carol.id}>."
    )

    money = await guild_money(world.services, world.gid)
    assert {u: money.balance(str(m.id)) for u, m in _members(world).items()} == {
        "alice": 70,
        "bob": 125,
        "carol": 105,
    }
    transfers = await _transactions(world, "transfer")
    assert sorted((t.amount, t.reason) for t in transfers) == [(5, None), (30, "lunch")]


def _members(world: BotWorld) -> dict[str, Any]:
    return {"alice": world.alice, "bob": world.bob, "carol": world.carol}


@pytest.mark.parametrize(
    ("target", "amount", "expected"),
    [
        ("robot", 5, "Bots can't hold bytes; pick a member instead."),
        ("outsider", 5, "outsider is not a member of this server."),
        ("alice", 5, "You cannot send bytes to yourself."),
        ("bob", 60, "You can send at most 50 bytes at once; you tried to send 60."),
        ("bob", 45, "You have 40 bytes; you tried to send 45 (insufficient balance)."),
    ],
)
async def test_send_refusals_are_specific_ephemeral_and_move_nothing(
    world: BotWorld, target: str, amount: int, expected: str
) -> None:
    await world.configure(max_transfer=50)
    await world.fund(world.alice, 40)
    await world.start_bot()
    before = await guild_money(world.services, world.gid)
    user_id = {
        "robot": world.robot.id,
        "outsider": world.outsider.id,
        "alice": world.alice.id,
        "bob": world.bob.id,
    }[target]

    for command in ("bytes send", "give"):
        _, answer = await world.command(world.alice, command, {"user": user_id, "amount": amount})
        assert (content_of(answer), is_ephemeral(answer)) == (expected, True)
        assert "embeds" not in answer.json["data"] or not answer.json["data"]["embeds"]

    assert await guild_money(world.services, world.gid) == before


async def test_daily_command_pays_once_a_day_and_grows_the_streak(
    world: BotWorld, running: GuildbankBot
) -> None:
    _, first = await world.command(world.alice, "daily")
    embed = embed_of(first)
    assert (embed["title"], embed["description"]) == ("Daily reward", "You earned 💰 **10** bytes.")
    assert field_values(embed) == {"Streak": "1 day(s) · NONE ×1", "Balance": "110"}

    _, again = await world.command(world.alice, "daily")
    assert is_ephemeral(again)
    # The fake clock stands at 12:00 UTC: the next daily opens at midnight.
    assert content_of(again) == (
        "Daily reward already claimed today; the next one is available in 12h 0m."
    )
    assert (await world.balance(world.alice)).balance == 110

    world.clock.advance(days=1)
    _, next_day = await world.command(world.alice, "daily")
    assert field_values(embed_of(next_day)) == {"Streak": "2 day(s) · NONE ×1", "Balance": "120"}
    assert len(await _transactions(world, "daily")) == 2

    # /daily filled the memo: alice's messages today cost the listener no API call.
    handled = world.messages_handled(running)
    await handled.wait_for(
        await world.discord.send_message(world.guild.id, None, world.alice.id, "hi")
    )
    assert running.daily.api_calls == 0


async def test_history_lists_the_members_own_transactions(
    world: BotWorld, running: GuildbankBot
) -> None:
    await world.command(world.alice, "daily")
    await world.command(
        world.alice, "bytes send", {"user": world.bob.id, "amount": 7, "reason": "tea"}
    )
    await world.command(world.bob, "give", {"user": world.alice.id, "amount": 3})

    _, history = await world.command(world.alice, "bytes history", {"limit": 2})
    assert is_ephemeral(history)
    embed = embed_of(history)
    assert embed["title"] == "Your recent transactions"
    lines = embed["description"].split("\n")
    assert len(lines) == 2
    assert lines[0].startswith("`+3` transfer <t:")
    assert lines[1].startswith("`-7` transfer <t:")
    assert lines[1].endswith(":R> — tea")

    _, everything = await world.command(world.alice, "bytes history")
    kinds = [
        line.split("` ")[1].split(" <t:")[0]
        for line in embed_of(everything)["description"].split("\n")
    ]
    assert kinds == ["transfer", "transfer", "daily", "starting balance"]

    _, empty = await world.command(world.carol, "bytes history")
    assert embed_of(empty)["description"] == "No transactions yet."


async def test_leaderboard_medals_and_the_callers_own_rank(world: BotWorld) -> None:
    await world.configure(currency_name="coins", currency_emoji="🪙")
    dave = world.discord.add_member(world.guild.id, username="dave")
    erin = world.discord.add_member(world.guild.id, username="erin")
    frank = world.discord.add_member(world.guild.id, username="frank")
    ranked = [world.alice, world.bob, world.carol, world.admin, dave, erin, frank]
    for rank, member in enumerate(ranked):
        await world.fund(member, 700 - 100 * rank)
    await world.start_bot()

    _, top = await world.command(frank, "bytes leaderboard", {"limit": 5})
    embed = embed_of(top)
    assert not is_ephemeral(top)
    assert embed["title"] == "Coins leaderboard"
    assert embed["description"].split("\n") == [
        f"🥇 <@{world.alice.id}> — 🪙 **700** coins",
        f"🥈 <@{world.bob.id}> — 🪙 **600** coins",
        f"🥉 <@{world.carol.id}> — 🪙 **500** coins",
        f"`#4` <@{world.admin.id}> — 🪙 **400** coins",
        f"`#5` <@{dave.id}> — 🪙 **300** coins",
    ]
    assert embed["footer"]["text"] == "You are #7 of 7 with 100"

    _, mine = await world.command(world.alice, "bytes leaderboard")
    assert len(embed_of(mine)["description"].split("\n")) == 7
    assert "footer" not in embed_of(mine)


async def test_economy_admin_tools_and_their_refusals(
    world: BotWorld, running: GuildbankBot
) -> None:
    bob = str(world.bob.id)
    _, added = await world.command(
        world.admin, "economy add", {"user": world.bob.id, "amount": 50, "reason": "prize"}
    )
    assert is_ephemeral(added)
    assert content_of(added) == f"<@{bob}> now has 💰 **150** bytes (+50). Reason: prize"

    _, removed = await world.command(
        world.admin, "economy remove", {"user": world.bob.id, "amount": 30, "reason": "fine"}
    )
    assert content_of(removed) == f"<@{bob}> now has 💰 **120** bytes (-30). Reason: fine"

    owner = world.discord.guilds[world.guild.id].owner_id
    owner_user = world.discord.users[owner]
    _, set_ = await world.command(
        owner_user, "economy set", {"user": world.bob.id, "amount": 0, "reason": "reset"}
    )
    assert content_of(set_) == f"<@{bob}> now has 💰 **0** bytes (-120). Reason: reset"

    _, too_much = await world.command(
        world.admin, "economy remove", {"user": world.bob.id, "amount": 5, "reason": "oops"}
    )
    assert content_of(too_much) == "You have 0 bytes; you tried to remove 5 (insufficient balance)."

    before = await guild_money(world.services, world.gid)
    for name in ("economy add", "economy remove", "economy set"):
        _, refused = await world.command(
            world.alice, name, {"user": world.alice.id, "amount": 500, "reason": "mine"}
        )
        assert is_ephemeral(refused)
        assert content_of(refused) == (
            "You need the Manage Server permission or one of this server's admin roles "
            "to manage the economy."
        )
    _, robot = await world.command(
        world.admin, "economy add", {"user": world.robot.id, "amount": 5, "reason": "beep"}
    )
    assert content_of(robot) == "Bots don't hold bytes."
    assert await guild_money(world.services, world.gid) == before

    adjustments = await _transactions(world, "admin_adjust")
    actors = {(t.reason, t.actor_id) for t in adjustments}
    assert ("prize", str(world.admin.id)) in actors
    assert ("reset", str(owner)) in actors


async def test_cooldown_and_rate_limit_refusals_say_when_to_retry(world: BotWorld) -> None:
    await world.configure(transfer_cooldown_hours=1, rate_limit_per_minute=2)
    await world.start_bot()

    _, first = await world.command(world.alice, "give", {"user": world.bob.id, "amount": 1})
    assert embed_of(first)["title"] == "Sent!"
    _, cooling = await world.command(world.alice, "give", {"user": world.bob.id, "amount": 1})
    assert is_ephemeral(cooling)
    assert re.fullmatch(
        r"You can send again in 60 minute\(s\) \(transfer cooldown\)\.", content_of(cooling)
    )

    # Two balance changes a minute for carol: the third is refused, with the wait.
    await world.command(world.carol, "daily")
    await world.command(world.carol, "give", {"user": world.bob.id, "amount": 1})
    _, limited = await world.command(world.carol, "daily")
    assert is_ephemeral(limited)
    assert content_of(limited).startswith("Too many balance changes; try again in ")
    assert len(await _transactions(world, "transfer")) == 2
