"""Gateway listeners: the daily reward on the first message, role rewards, members."""

from __future__ import annotations

from typing import Any

import hikari

from guildbank.features.economy.listeners import CLAIMED_REACTION
from guildbank.runtime.bot import GuildbankBot
from tests.bot.world import WAIT, BotWorld, embed_of, field_values
from tests.fakes.discord import FakeMember

DAILY = r"/api/guilds/\d+/bytes/daily/\d+"
REACTION = r"/channels/\d+/messages/{message}/reactions/.+/@me"


async def _say(world: BotWorld, member: Any, content: str = "hello", **kwargs: Any) -> Any:
    return await world.discord.send_message(world.guild.id, None, member.id, content, **kwargs)


async def _dailies(world: BotWorld, member: FakeMember) -> int:
    return len(await world.api.transactions(world.gid, type="daily", user_id=str(member.id)))


async def test_first_message_of_the_day_pays_once_across_a_burst(
    world: BotWorld, running: GuildbankBot
) -> None:
    handled = world.messages_handled(running)
    burst = [await _say(world, world.alice, f"message {n}") for n in range(30)]
    await handled.wait_for(*burst)

    assert running.daily.api_calls == 1
    assert len(world.recorder.matching("POST", DAILY)) == 1
    # The guild's settings were fetched once for the whole (cold-cache) burst.
    assert len(world.recorder.matching("GET", r"/api/guilds/\d+/bytes/config")) == 1
    assert await _dailies(world, world.alice) == 1
    assert (await world.balance(world.alice)).balance == 110
    reactions = world.discord.calls("PUT", "/channels/")
    assert len(reactions) == 1
    # The message that claimed: one of the burst (which one depends on event scheduling).
    claimed_id = reactions[0].path.split("/")[4]
    assert claimed_id in {message["id"] for message in burst}
    claimed = world.discord.messages[int(claimed_id)]
    assert [(r["emoji"]["name"], r["me"]) for r in claimed["reactions"]] == [
        (CLAIMED_REACTION, True)
    ]

    # A member who already claimed costs nothing at all: no API request of any kind.
    def requests() -> int:  # the outbox worker's own long polls aside
        return len([r for r in world.recorder.requests if not r.path.startswith("/api/outbox")])

    seen = requests()
    more = [await _say(world, world.alice, "again") for _ in range(20)]
    await handled.wait_for(*more)
    assert requests() == seen
    assert running.daily.api_calls == 1

    # The next day (the guild's calendar day) the first message pays again, streak 2.
    world.clock.advance(days=1)
    tomorrow = [await _say(world, world.alice, "good morning") for _ in range(5)]
    await handled.wait_for(*tomorrow)
    balance = await world.balance(world.alice)
    assert (balance.balance, balance.streak_count) == (120, 2)
    assert running.daily.api_calls == 2


async def test_bots_and_webhooks_are_ignored(world: BotWorld, running: GuildbankBot) -> None:
    handled = world.messages_handled(running)
    hook = world.discord.add_user(username="hook", bot=True)
    ignored = [
        await _say(world, world.robot, "beep"),
        await _say(world, hook, "from a webhook", webhook_id=hook.id),
        await _say(world, world.bob, "impersonated by a webhook", webhook_id=hook.id),
    ]
    await handled.wait_for(*ignored)
    assert running.daily.api_calls == 0
    assert not world.recorder.matching("POST", DAILY)
    assert not world.discord.calls("PUT", "/channels/")

    # A human right after is paid: the listener was alive all along.
    human = await _say(world, world.carol)
    await handled.wait_for(human)
    assert running.daily.api_calls == 1
    await world.discord.wait_for_call("PUT", REACTION.format(message=human["id"]), timeout=WAIT)
    assert (await world.balance(world.carol)).balance == 110


async def test_a_claim_made_elsewhere_is_respected_silently(
    world: BotWorld, running: GuildbankBot
) -> None:
    await world.api.claim_daily(world.gid, str(world.bob.id), idempotency_key="web-claim")
    handled = world.messages_handled(running)
    first = await _say(world, world.bob)
    await handled.wait_for(first)
    assert world.recorder.matching("POST", DAILY)[0].status == 409
    rest = [await _say(world, world.bob) for _ in range(5)]
    await handled.wait_for(*rest)

    assert running.daily.api_calls == 1  # the 409 filled the memo
    assert not world.discord.calls("PUT", "/channels/")  # silent: no reaction, no message
    assert not world.discord.calls("POST", "/channels/")
    assert await _dailies(world, world.bob) == 1


async def test_message_redelivered_after_a_resume_pays_once(
    world: BotWorld, running: GuildbankBot
) -> None:
    handled = world.messages_handled(running)
    first = await _say(world, world.alice)
    await handled.wait_for(first)
    twice = await _say(world, world.carol, repeat=2)  # the same frame delivered twice
    await handled.wait_for(twice, times=2)

    await world.discord.drop_connection(0, replay_duplicates=2)  # replays both on resume
    await world.discord.wait_for_shards(1, timeout=WAIT)
    await handled.wait_for(first, times=2)
    await handled.wait_for(twice, times=3)

    assert await _dailies(world, world.alice) == 1
    assert await _dailies(world, world.carol) == 1
    assert running.daily.api_calls == 2
    assert (await world.balance(world.carol)).balance == 110


async def test_role_rewards_are_granted_on_crossing_and_refusals_do_not_crash(
    world: BotWorld,
) -> None:
    regular = world.discord.add_role(world.guild.id, "Regular")
    locked = world.discord.add_role(world.guild.id, "Locked", assignable=False)
    rich = world.discord.add_role(world.guild.id, "Rich")
    await world.configure(
        role_rewards={str(regular.id): 10, str(locked.id): 100, str(rich.id): 150}
    )
    await world.fund(world.alice, 5000)
    gb = await world.start_bot()
    handled = world.messages_handled(gb)
    guild = world.discord.guilds[world.guild.id]

    def role_put(member: FakeMember, role_id: int) -> str:
        return rf"/guilds/{world.guild.id}/members/{member.id}/roles/{role_id}"

    # The daily listener: carol's first message earns 10, crossing Regular's threshold.
    await handled.wait_for(await _say(world, world.carol))
    call = await world.discord.wait_for_call("PUT", role_put(world.carol, regular.id), timeout=WAIT)
    assert call.status == 204
    assert guild.members[world.carol.id].roles == [regular.id]

    # Transfers: bob's 99 received crosses Regular; 60 more cross Locked (Discord refuses:
    # logged, not fatal) and Rich.
    await world.command(world.alice, "bytes send", {"user": world.bob.id, "amount": 99})
    await world.discord.wait_for_call("PUT", role_put(world.bob, regular.id), timeout=WAIT)
    assert guild.members[world.bob.id].roles == [regular.id]
    _, sent = await world.command(world.alice, "give", {"user": world.bob.id, "amount": 60})
    assert embed_of(sent)["title"] == "Sent!"
    await world.discord.wait_for_call("PUT", role_put(world.bob, rich.id), timeout=WAIT)
    await world.discord.wait_for_call("PUT", role_put(world.bob, locked.id), timeout=WAIT)
    refused = world.discord.calls("PUT", f"/guilds/{world.guild.id}/members/{world.bob.id}")
    assert sorted((c.path.rsplit("/", 1)[1], c.status) for c in refused) == sorted(
        [(str(regular.id), 204), (str(locked.id), 403), (str(rich.id), 204)]
    )  # the outbox worker grants a transfer's roles side by side
    assert guild.members[world.bob.id].roles == [regular.id, rich.id]
    assert (await world.balance(world.bob)).total_received == 159

    # /bytes balance shows the ladder: what was earned and what comes next.
    _, carols = await world.command(world.carol, "bytes balance")
    assert field_values(embed_of(carols))["Role rewards"] == (
        f"Earned: <@&{regular.id}>\nNext: <@&{locked.id}> at 100 received (90 to go)"
    )
    _, bobs = await world.command(world.bob, "bytes balance")
    assert field_values(embed_of(bobs))["Role rewards"] == (
        f"Earned: <@&{regular.id}>, <@&{locked.id}>, <@&{rich.id}>"
    )


async def test_startup_reconcile_grants_missed_roles_only(world: BotWorld) -> None:
    rich = world.discord.add_role(world.guild.id, "Rich")
    await world.configure(role_rewards={str(rich.id): 50})
    await world.fund(world.alice, 500)
    # While no bot runs, bob and carol cross the threshold; carol already has the role.
    for member in (world.bob, world.carol):
        await world.api.transfer(
            world.gid,
            giver_id=str(world.alice.id),
            receiver_id=str(member.id),
            amount=60,
            reason=None,
            idempotency_key=f"offline-{member.id}",
        )
    world.discord.guilds[world.guild.id].members[world.carol.id].roles.append(rich.id)

    await world.start_bot()
    granted = await world.discord.wait_for_call(
        "PUT", rf"/guilds/{world.guild.id}/members/\d+/roles/{rich.id}", timeout=WAIT
    )
    assert granted.path.split("/")[4] == str(world.bob.id)
    await world.recorder.wait_for("GET", r"/api/guilds/\d+/bytes/role-rewards/holders")
    assert len(world.discord.calls("PUT", f"/guilds/{world.guild.id}/members/")) == 1


async def test_member_leave_hides_them_and_rejoin_restores_without_a_new_start(
    world: BotWorld, running: GuildbankBot
) -> None:
    await world.fund(world.alice, 200)
    await world.fund(world.bob, 300)
    status = rf"/api/guilds/\d+/members/{world.bob.id}/status"

    await world.discord.member_remove(world.guild.id, world.bob.id)
    await world.recorder.wait_for("PUT", status)
    assert not (await world.balance(world.bob)).is_active
    _, board = await world.command(world.alice, "bytes leaderboard")
    assert f"<@{world.bob.id}>" not in embed_of(board)["description"]
    assert f"<@{world.alice.id}>" in embed_of(board)["description"]

    await world.discord.member_add(world.guild.id, world.bob.id, "bob")
    await world.recorder.wait_for("PUT", status, count=2)
    balance = await world.balance(world.bob)
    assert (balance.is_active, balance.balance) == (True, 300)
    starts = await world.api.transactions(
        world.gid, type="starting_balance", user_id=str(world.bob.id)
    )
    assert len(starts) == 1
    _, board = await world.command(world.alice, "bytes leaderboard")
    assert embed_of(board)["description"].startswith(f"🥇 <@{world.bob.id}>")

    # Bots joining are not members of the economy.
    await world.discord.member_add(world.guild.id, username="another-bot", bot=True)
    await world.discord.member_add(world.guild.id, username="dave")
    await world.recorder.wait_for("PUT", r"/api/guilds/\d+/members/\d+/status", count=3)
    assert len(world.recorder.matching("PUT", r"/api/guilds/\d+/members/\d+/status")) == 3


async def test_the_typed_entry_point_follows_the_same_rules(
    world: BotWorld, running: GuildbankBot
) -> None:
    # create_bot feeds the listener raw payloads; on_message takes hikari's typed events.
    discord, shard = world.discord, running.bot.shards[0]
    channel = discord.default_channel(world.guild.id).id
    hook = discord.add_user(username="hook", bot=True)

    async def deliver(author: Any, **kwargs: Any) -> None:
        payload = discord.make_message(channel, discord.users[author.id], "typed", **kwargs)
        event = running.bot.event_factory.deserialize_message_create_event(shard, payload)
        assert isinstance(event, hikari.GuildMessageCreateEvent)
        await running.daily.on_message(event)

    await deliver(world.robot)
    await deliver(hook, webhook_id=hook.id)
    assert running.daily.api_calls == 0
    for _ in range(3):
        await deliver(world.alice)
    assert running.daily.api_calls == 1
    assert await _dailies(world, world.alice) == 1
    assert len(discord.calls("PUT", "/channels/")) == 1  # the reaction
