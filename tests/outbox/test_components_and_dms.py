"""Buttons on outbox posts and direct messages to members, against the fake Discord with the
real hikari REST client (the worker as the bot runs it), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from guildbank.bot.transport import ApiError
from guildbank.core.errors import InvalidInput
from guildbank.outbox.executor import DMS_CLOSED
from guildbank.outbox.schemas import validate_payload
from guildbank.outbox.service import enqueue_dm, enqueue_message
from guildbank.platform.models.outbox import OutboxJob
from guildbank.platform.uow import unit_of_work
from tests.bot.world import WAIT, BotWorld
from tests.conftest import FakeClock
from tests.outbox.helpers import (
    WallClock,
    WorkerFactory,
    all_settled,
    fast_outbox,
    jobs_of,
    wait_for_jobs,
)
from tests.outbox.test_worker import HangsAfterDiscord

CHANNEL = "400000000000000001"


@pytest.fixture
def clock() -> FakeClock:
    return WallClock()


def button(custom_id: str, label: str = "Go", style: int = 1) -> dict[str, Any]:
    return {"type": 2, "style": style, "custom_id": custom_id, "label": label}


def row(*buttons: dict[str, Any]) -> dict[str, Any]:
    return {"type": 1, "components": list(buttons)}


def buttons_of(message: dict[str, Any]) -> list[tuple[Any, ...]]:
    """(style, custom_id or url, label) of every button of a stored message."""
    return [
        (b["style"], b.get("custom_id") or b.get("url"), b.get("label"))
        for r in message["components"]
        for b in r["components"]
    ]


# -- the payload's shape ------------------------------------------------------------------------


def test_a_post_keeps_its_rows_of_buttons_and_link_buttons() -> None:
    link = {"type": 2, "style": 5, "url": "https://example.com/x", "label": "Docs"}
    payload = validate_payload(
        "message.post",
        {"channel_id": CHANNEL, "components": [row(button("a"), link), row(button("b", style=4))]},
    )
    assert payload["components"][0]["components"][1]["url"] == "https://example.com/x"
    assert payload["components"][1]["components"][0]["style"] == 4
    # Without components the payload names none (old jobs and other writers are unchanged).
    assert "components" not in validate_payload("message.post", {"channel_id": CHANNEL})


@pytest.mark.parametrize(
    "components",
    [
        [row(button(f"r{i}")) for i in range(6)],  # 6 rows
        [row(*(button(f"b{i}") for i in range(6)))],  # 6 buttons in a row
        [row()],  # an empty row
        [row(button("x" * 101))],  # custom_id over 100
        [row(button("a", label="y" * 81))],  # label over 80
        [row(button("a", style=0))],
        [row(button("a", style=6))],
        [row({"type": 2, "style": 5, "label": "no url"})],
        [row({"type": 2, "style": 5, "url": "https://e.com", "custom_id": "a"})],
        [row({"type": 2, "style": 1, "custom_id": "a", "url": "https://e.com"})],
        [row({"type": 2, "style": 1, "label": "no id"})],
        [row({"type": 2, "style": 5, "url": "javascript:alert(1)"})],
        [row(button("same"), button("same"))],  # custom ids are unique in a message
        [row({"type": 3, "custom_id": "menu"})],  # only buttons
        [{"type": 2, "style": 1, "custom_id": "not in a row"}],
        [row(button("a") | {"emoji": "x"})],  # unknown field
    ],
)
def test_bad_components_are_refused(components: list[dict[str, Any]]) -> None:
    with pytest.raises(InvalidInput) as refused:
        validate_payload("message.post", {"channel_id": CHANNEL, "components": components})
    assert refused.value.code == "invalid_payload"


def test_a_dm_needs_a_user_and_something_to_say() -> None:
    assert validate_payload("dm.send", {"user_id": "300000000000000001", "content": "hi"}) == {
        "user_id": "300000000000000001",
        "content": "hi",
        "embeds": [],
    }
    for bad in (
        {"content": "hi"},
        {"user_id": "300000000000000001"},
        {"user_id": "x", "content": "a"},
    ):
        with pytest.raises(InvalidInput):
            validate_payload("dm.send", bad)


async def test_bad_buttons_through_the_api_are_a_422_and_write_nothing(world: BotWorld) -> None:
    channel = str(world.discord.default_channel(world.guild.id).id)
    with pytest.raises(ApiError) as refused:
        await world.api.create_job(
            world.gid,
            kind="message.post",
            payload={"channel_id": channel, "components": [row(button("x" * 101))]},
        )
    assert refused.value.status in (400, 422)
    assert await jobs_of(world.services) == []


# -- against the fake Discord ---------------------------------------------------------------------


async def test_a_keyed_post_and_its_edit_carry_their_buttons(
    world: BotWorld, make_worker: WorkerFactory
) -> None:
    channel = world.discord.default_channel(world.guild.id)

    async def show(content: str, components: list[dict[str, Any]] | None) -> OutboxJob:
        async with unit_of_work(world.services) as uow:
            await enqueue_message(
                uow,
                guild_id=world.gid,
                channel_id=str(channel.id),
                content=content,
                key="board",
                components=components,
            )
            await uow.commit()
        jobs = await wait_for_jobs(
            world.services,
            lambda jobs: all_settled(jobs) and jobs[-1].payload["content"] == content,
        )
        return jobs[-1]

    await make_worker()
    first = await show("v1", [row(button("gb:a", "A"), button("gb:b", "B", style=4))])
    assert first.status == "done"
    assert first.result is not None
    message_id = int(first.result["message_id"])
    [post] = world.discord.rest.find("POST", rf"/channels/{channel.id}/messages")
    assert [b["custom_id"] for b in post.json["components"][0]["components"]] == ["gb:a", "gb:b"]
    assert buttons_of(world.discord.messages[message_id]) == [(1, "gb:a", "A"), (4, "gb:b", "B")]

    link = {"type": 2, "style": 5, "url": "https://example.com/", "label": "Site"}
    second = await show("v2", [row(button("gb:c", "C")), row(link)])
    assert second.result == first.result  # edited in place
    [edit] = world.discord.rest.find("PATCH", rf"/channels/{channel.id}/messages/{message_id}")
    assert len(edit.json["components"]) == 2
    assert buttons_of(world.discord.messages[message_id]) == [
        (1, "gb:c", "C"),
        (5, "https://example.com/", "Site"),
    ]

    await show("v3", None)  # written without buttons: the post loses them
    assert world.discord.messages[message_id]["components"] == []
    assert world.discord.messages[message_id]["content"] == "v3"


async def test_a_dm_reaches_the_member(world: BotWorld, make_worker: WorkerFactory) -> None:
    alice = world.alice.user.id
    async with unit_of_work(world.services) as uow:
        await enqueue_dm(
            uow,
            guild_id=world.gid,
            user_id=str(alice),
            content="Your proof was accepted",
            embeds=[{"title": "Task 1", "description": "100 bytes"}],
            dedupe_key="dm:test:1",
        )
        await uow.commit()
    await make_worker()
    [job] = await wait_for_jobs(world.services, all_settled)
    assert job.status == "done"
    assert job.result is not None
    [dm] = world.discord.dm_messages(alice)
    assert dm["id"] == job.result["message_id"]
    assert dm["content"] == "Your proof was accepted"
    assert dm["embeds"][0]["title"] == "Task 1"
    assert world.discord.channel_messages(world.discord.default_channel(world.guild.id).id) == []


async def test_a_second_dm_for_the_same_reason_while_waiting_sends_once(
    world: BotWorld, make_worker: WorkerFactory
) -> None:
    bob = world.bob.user.id
    for content in ("first wording", "newest wording"):
        async with unit_of_work(world.services) as uow:
            await enqueue_dm(
                uow, guild_id=world.gid, user_id=str(bob), content=content, dedupe_key="dm:x"
            )
            await uow.commit()
    await make_worker()
    [job] = await wait_for_jobs(world.services, all_settled)
    assert job.status == "done"
    assert [m["content"] for m in world.discord.dm_messages(bob)] == ["newest wording"]


async def test_a_member_with_closed_dms_is_skipped_for_good_not_retried(
    world: BotWorld, make_worker: WorkerFactory
) -> None:
    world.bob.user.accepts_dms = False
    async with unit_of_work(world.services) as uow:
        await enqueue_dm(uow, guild_id=world.gid, user_id=str(world.bob.user.id), content="hi")
        await uow.commit()
    await make_worker()
    [job] = await wait_for_jobs(world.services, all_settled)
    assert (job.status, job.attempts, job.last_error) == ("done", 1, None)
    assert job.result == {"skipped": DMS_CLOSED}
    assert world.discord.dm_messages(world.bob.user.id) == []
    assert len(world.discord.rest.find("POST", r"/channels/\d+/messages")) == 1


async def test_a_dm_discord_fails_to_send_is_tried_again(
    world: BotWorld, make_worker: WorkerFactory
) -> None:
    fast_outbox(world)
    world.discord.fail("POST", r"/users/@me/channels", status=500, code=0, message="boom")
    alice = world.alice.user.id
    async with unit_of_work(world.services) as uow:
        await enqueue_dm(uow, guild_id=world.gid, user_id=str(alice), content="again")
        await uow.commit()
    await make_worker()
    [job] = await wait_for_jobs(world.services, all_settled)
    assert (job.status, job.attempts) == ("done", 2)
    assert [m["content"] for m in world.discord.dm_messages(alice)] == ["again"]


async def test_an_integrator_asks_for_a_dm_through_the_api(
    world: BotWorld, make_worker: WorkerFactory
) -> None:
    alice = world.alice.user.id
    job = await world.api.create_job(
        world.gid,
        kind="dm.send",
        payload={"user_id": str(alice), "content": "Welcome!"},
        dedupe_key=f"dm:welcome:{alice}",
    )
    assert (job.kind, job.status) == ("dm.send", "pending")
    await make_worker()
    [done] = await wait_for_jobs(world.services, all_settled)
    assert done.status == "done"
    assert [m["content"] for m in world.discord.dm_messages(alice)] == ["Welcome!"]


async def test_new_buttons_written_while_a_lost_post_ran_reach_the_post(
    world: BotWorld, make_worker: WorkerFactory
) -> None:
    """The first worker posts, then dies before reporting; meanwhile only the buttons change.
    The next attempt's nonce returns the first post, which is then edited to the newest."""
    fast_outbox(world, outbox_lease_seconds=1.0)
    channel = world.discord.default_channel(world.guild.id)

    async def write(custom_id: str) -> None:
        async with unit_of_work(world.services) as uow:
            await enqueue_message(
                uow,
                guild_id=world.gid,
                channel_id=str(channel.id),
                content="Same words",
                key="offer",
                components=[row(button(custom_id))],
            )
            await uow.commit()

    await write("old")
    doomed = await make_worker(executor=HangsAfterDiscord)
    assert isinstance(doomed.executor, HangsAfterDiscord)
    async with asyncio.timeout(WAIT):
        await doomed.executor.reached.wait()
    await write("new")  # coalesces into the running job: a new revision
    await doomed.close()
    await make_worker()
    await wait_for_jobs(
        world.services,
        lambda jobs: (
            all_settled(jobs)
            and jobs[-1].payload["components"][0]["components"][0]["custom_id"] == "new"
        ),
    )
    [post] = world.discord.channel_messages(channel.id)
    assert buttons_of(post) == [(1, "new", "Go")]
