"""Pinning and unpinning a keyed message at the fake Discord, with the real hikari REST client
(the worker as the bot runs it), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.bot.world import BotWorld
from tests.conftest import FakeClock
from tests.outbox.helpers import WallClock, WorkerFactory, all_settled, wait_for_jobs
from tests.outbox.test_pins import pin, post_and_pin


@pytest.fixture
def clock() -> FakeClock:
    return WallClock()


async def test_a_post_is_pinned_then_unpinned_in_discord(
    world: BotWorld, make_worker: WorkerFactory
) -> None:
    channel = world.discord.default_channel(world.guild.id)
    await post_and_pin(world.services, world.gid, str(channel.id), "news")
    await make_worker()
    jobs = await wait_for_jobs(world.services, lambda js: len(js) == 2 and all_settled(js))
    assert [(j.kind, j.status) for j in jobs] == [("message.post", "done"), ("message.pin", "done")]
    [message] = world.discord.channel_messages(channel.id)
    assert message["pinned"] is True
    assert jobs[1].result == {
        "channel_id": str(channel.id),
        "message_id": message["id"],
        "pinned": True,
    }
    assert world.discord.rest.find(
        "PUT", rf"/channels/{channel.id}/(messages/)?pins/{message['id']}"
    )

    await pin(world.services, world.gid, "news", pinned=False)
    await wait_for_jobs(
        world.services, lambda js: all_settled(js) and js[-1].kind == "message.unpin"
    )
    assert world.discord.messages[int(message["id"])]["pinned"] is False
    assert len(world.discord.channel_messages(channel.id)) == 1


async def test_pinning_a_message_that_is_gone_or_unknown_is_skipped(
    world: BotWorld, make_worker: WorkerFactory
) -> None:
    channel = world.discord.default_channel(world.guild.id)
    await post_and_pin(world.services, world.gid, str(channel.id), "news", pin=False)
    await make_worker()
    jobs = await wait_for_jobs(world.services, lambda js: len(js) == 2 and all_settled(js))
    assert jobs[0].result is not None
    message_id = jobs[0].result["message_id"]
    assert jobs[1].result == {
        "channel_id": str(channel.id),
        "message_id": message_id,
        "pinned": False,
    }
    del world.discord.messages[int(message_id)]  # deleted in Discord
    await pin(world.services, world.gid, "news", pinned=True)
    await pin(world.services, world.gid, "never-posted", pinned=True)
    jobs = await wait_for_jobs(world.services, lambda js: len(js) == 4 and all_settled(js))
    assert [(j.status, j.result) for j in jobs[2:]] == [
        ("done", {"skipped": "the message was deleted in Discord"}),
        ("done", {"skipped": "no message is known for never-posted"}),
    ]


async def test_a_pin_discord_refuses_fails_with_a_reason(
    world: BotWorld, make_worker: WorkerFactory
) -> None:
    channel = world.discord.default_channel(world.guild.id)
    world.discord.fail(
        "PUT",
        r"/channels/\d+/(messages/)?pins/\d+",
        status=403,
        code=50013,
        message="Missing Permissions",
    )
    await post_and_pin(world.services, world.gid, str(channel.id), "news")
    await make_worker()
    jobs = await wait_for_jobs(world.services, lambda js: len(js) == 2 and all_settled(js))
    assert [j.status for j in jobs] == ["done", "failed"]
    assert jobs[1].last_error is not None
    assert "pinning the message" in jobs[1].last_error
    assert "lacks a permission" in jobs[1].last_error
