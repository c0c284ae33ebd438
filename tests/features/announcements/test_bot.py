"""The bot side against the fake Discord (real hikari and lightbulb, the real API): custom
commands registered and answered, presence reaching every bot process, announcements posted,
edited and deleted by the outbox worker, and an orphan flagged."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from guildbank.platform.uow import Services
from tests.bot.world import WAIT, BotWorld, content_of, embed_of

Json = dict[str, Any]


async def until(check: Callable[[], Any], timeout: float = WAIT) -> Any:  # noqa: ASYNC109
    """Poll ``check`` until it returns something truthy (the bot works in the background)."""
    async with asyncio.timeout(timeout):
        while True:
            if found := check():
                return found
            await asyncio.sleep(0.05)


def guild_commands(world: BotWorld) -> set[str]:
    return {c["name"] for c in world.discord.commands.get(world.guild.id, [])}


def presences(world: BotWorld) -> list[list[Json]]:
    """The presence updates (gateway op 3) each connection sent, by connection."""
    return [
        [p["d"] for p in conn.received if p.get("op") == 3]
        for conn in world.discord.gateway.connections
    ]


def activity(update: Json) -> Json:
    """The update's activity ({} when it clears it); hikari sends it as ``game``."""
    return dict(update.get("game") or {})


async def test_custom_commands_are_registered_answered_and_removed(world: BotWorld) -> None:
    embed = await world.api.create_embed(world.gid, name="Rules", embed={"title": "The rules"})
    await world.api.create_custom_command(
        world.gid, name="rules", response="Read these", embed_id=embed.id
    )
    await world.start_bot()
    await until(lambda: "rules" in guild_commands(world))
    assert "daily" in guild_commands(world)  # lightbulb's own commands stay

    _, response = await world.command(world.alice, "rules")
    assert content_of(response) == "Read these"
    assert embed_of(response)["title"] == "The rules"

    # Defined while the bot runs: registered within seconds through the sync long poll.
    await world.api.create_custom_command(world.gid, name="faq", response="Ask away")
    await until(lambda: "faq" in guild_commands(world))
    _, response = await world.command(world.bob, "faq")
    assert content_of(response) == "Ask away"

    await world.api.delete_custom_command(world.gid, "rules")
    await until(lambda: "rules" not in guild_commands(world))
    assert {"faq", "daily"} <= guild_commands(world)


async def test_presence_change_reaches_two_bot_processes(world: BotWorld) -> None:
    zero = await world.start_bot(shard_ids=[0], shard_count=2)
    one = await world.start_bot(shard_ids=[1], shard_count=2, sync_commands=False)
    for gb in (zero, one):
        assert gb.announcements is not None
        await asyncio.wait_for(gb.announcements.synced.wait(), WAIT)
    await world.api.set_presence(status="dnd", activity_type="watching", activity_text="the vault")

    def applied() -> bool:
        latest = [updates[-1] for updates in presences(world) if updates]
        return len(latest) == 2 and all(
            u["status"] == "dnd" and activity(u).get("name") == "the vault" for u in latest
        )

    await until(applied)
    assert {activity(u[-1])["type"] for u in presences(world) if u} == {3}  # watching

    status = await world.api.system_status()
    assert [s.shard_id for s in status.shards if s.online] == [0, 1]
    assert status.presence.status == "dnd"


async def test_presence_is_kept_across_restarts(world: BotWorld) -> None:
    await world.api.set_presence(status="idle", activity_type="playing", activity_text="chess")
    await world.start_bot()
    await until(lambda: any(u and u[-1]["status"] == "idle" for u in presences(world)))


async def test_announcement_posted_edited_orphaned_and_deleted(
    world: BotWorld, services: Services
) -> None:
    channel = await world.discord.channel_create(world.guild.id, "news")
    await world.start_bot()
    made = await world.api.create_announcement(
        world.gid, {"channel_id": str(channel.id), "content": "v1", "embed": {"title": "News"}}
    )
    posted = await until(lambda: world.discord.channel_messages(channel.id))
    assert (posted[0]["content"], posted[0]["embeds"][0]["title"]) == ("v1", "News")
    first_id = int(posted[0]["id"])

    edited = await world.api._request(
        "PUT", f"/api/guilds/{world.gid}/announcements/{made.id}", json={"content": "v2"}
    )
    assert edited["content"] == "v2"
    await until(lambda: world.discord.messages.get(first_id, {}).get("content") == "v2")
    assert len(world.discord.channel_messages(channel.id)) == 1  # edited in place

    # Someone deletes it in Discord: the bot reports it and the announcement is flagged.
    del world.discord.messages[first_id]
    await world.discord.gateway.dispatch(
        "MESSAGE_DELETE",
        {"id": str(first_id), "channel_id": str(channel.id), "guild_id": world.gid},
        guild_id=world.guild.id,
    )

    async def orphaned() -> bool:
        got = await world.api._request("GET", f"/api/guilds/{world.gid}/announcements/{made.id}")
        return bool(got["orphaned"])

    async with asyncio.timeout(WAIT):
        while True:
            if await orphaned():
                break
            await asyncio.sleep(0.05)

    # An edit posts it again; a delete removes it from Discord.
    await world.api._request(
        "PUT", f"/api/guilds/{world.gid}/announcements/{made.id}", json={"content": "v3"}
    )
    again = await until(lambda: world.discord.channel_messages(channel.id))
    assert again[0]["content"] == "v3"
    await world.api._request("DELETE", f"/api/guilds/{world.gid}/announcements/{made.id}")
    await until(lambda: not world.discord.channel_messages(channel.id))


async def test_restart_reconnects_the_gateway_shards(world: BotWorld) -> None:
    gb = await world.start_bot()
    assert gb.announcements is not None
    await asyncio.wait_for(gb.announcements.synced.wait(), WAIT)
    before = len(world.discord.gateway.connections)
    await world.api._request("POST", "/api/bot/restart")
    await until(lambda: len(world.discord.gateway.connections) > before)
    newest = world.discord.gateway.connections[-1]
    await until(lambda: any(p.get("op") in (2, 6) for p in newest.received))
    await until(lambda: newest.session is not None and newest.session.connection is newest)
    _, response = await world.command(world.alice, "bytes balance")
    assert response.json["type"] == 4


async def test_announcement_pinned_and_unpinned_in_discord(world: BotWorld) -> None:
    channel = await world.discord.channel_create(world.guild.id, "news")
    await world.start_bot()
    made = await world.api.create_announcement(
        world.gid, {"channel_id": str(channel.id), "content": "Pinned news", "pin": True}
    )
    [posted] = await until(lambda: world.discord.channel_messages(channel.id))
    message_id = int(posted["id"])
    await until(lambda: world.discord.messages[message_id]["pinned"])
    path = f"/api/guilds/{world.gid}/announcements/{made.id}"
    got = await world.api._request("GET", path)
    assert got["pin"] is True

    await world.api._request("POST", f"{path}/unpin")
    await until(lambda: not world.discord.messages[message_id]["pinned"])
    await world.api._request("POST", f"{path}/pin")
    await until(lambda: world.discord.messages[message_id]["pinned"])
    assert len(world.discord.channel_messages(channel.id)) == 1
