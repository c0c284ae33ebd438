"""Pinning and unpinning a keyed message (``message.pin`` / ``message.unpin``) on SQLite and
PostgreSQL, the server side: the payload, coalescing, and the wait for the key's post.
The effect at the fake Discord: ``test_pins_discord.py``."""

from __future__ import annotations

import pytest

from guildbank.core.errors import InvalidInput
from guildbank.outbox import leases
from guildbank.outbox.rules import KNOWN_KINDS, PIN_KINDS
from guildbank.outbox.schemas import JobIn, validate_payload
from guildbank.outbox.service import enqueue_message, enqueue_pin
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import OTHER_GUILD_ID, FakeClock
from tests.outbox.helpers import POLICY, all_jobs, lease, register

CHANNEL = "400000000000000001"


async def post_and_pin(
    services: Services, guild_id: str, channel_id: str, key: str, *, pin: bool = True
) -> None:
    """A keyed post and its pin, in one unit of work (as an announcement writes them)."""
    async with unit_of_work(services) as uow:
        await enqueue_message(
            uow, guild_id=guild_id, channel_id=channel_id, content="News", key=key
        )
        await enqueue_pin(uow, guild_id=guild_id, key=key, pinned=pin)
        await uow.commit()


async def pin(services: Services, guild_id: str, key: str, *, pinned: bool) -> int:
    async with unit_of_work(services) as uow:
        job_id = await enqueue_pin(uow, guild_id=guild_id, key=key, pinned=pinned)
        await uow.commit()
    return job_id


# -- the payload ----------------------------------------------------------------------------------


def test_pin_kinds_are_known_and_take_a_key_only() -> None:
    assert {"message.pin", "message.unpin"} == PIN_KINDS <= KNOWN_KINDS
    for kind in sorted(PIN_KINDS):
        assert validate_payload(kind, {"key": "announcement:1"}) == {"key": "announcement:1"}
        assert JobIn.model_validate({"kind": kind, "payload": {"key": "k"}}).kind == kind
        for bad in ({}, {"key": ""}, {"key": "k", "channel_id": CHANNEL}, {"key": "x" * 201}):
            with pytest.raises(InvalidInput) as refused:
                validate_payload(kind, bad)
            assert refused.value.code == "invalid_payload"


# -- the server side: coalescing and the wait for the post ---------------------------------------


async def test_pin_and_unpin_coalesce_the_newest_wish_wins(services: Services, guild: str) -> None:
    first = await pin(services, guild, "board", pinned=True)
    second = await pin(services, guild, "board", pinned=False)
    assert first == second
    [job] = await all_jobs(services)
    assert (job.kind, job.dedupe_key, job.payload) == (
        "message.unpin",
        "pin:board",
        {"key": "board"},
    )


async def test_a_pin_waits_until_its_post_is_done(
    services: Services, guild: str, clock: FakeClock
) -> None:
    await post_and_pin(services, guild, CHANNEL, "board")
    [post] = await lease(services)
    assert post.kind == "message.post"
    assert await lease(services, "worker-b") == []  # the pin waits for the running post
    async with unit_of_work(services, read_only=True) as uow:
        # Not "due" for the long poll either: a waiting pin must not wake workers in a loop.
        assert await leases.next_due(uow, shard_ids=[0], shard_count=1) == post.lease_expires_at
        await uow.commit()
    async with unit_of_work(services) as uow:
        await leases.complete_job(
            uow,
            job_id=post.id,
            lease=post.lease,
            revision=post.revision,
            result={"channel_id": CHANNEL, "message_id": "900000000000000001"},
        )
        await uow.commit()
    [pinning] = await lease(services, "worker-b")
    assert (pinning.kind, pinning.payload) == ("message.pin", {"key": "board"})
    assert pinning.message is not None
    assert (pinning.message.channel_id, pinning.message.message_id) == (
        CHANNEL,
        "900000000000000001",
    )


async def test_a_pin_waits_for_a_failed_post_retry_but_not_for_other_keys(
    services: Services, guild: str, clock: FakeClock
) -> None:
    await post_and_pin(services, guild, CHANNEL, "board")
    await pin(services, guild, "other", pinned=True)
    leased = await lease(services)
    assert sorted(j.kind for j in leased) == ["message.pin", "message.post"]
    [other] = [j for j in leased if j.kind == "message.pin"]
    assert other.payload == {"key": "other"}
    assert other.message is None  # nothing known for that key: the bot skips it
    [post] = [j for j in leased if j.kind == "message.post"]
    async with unit_of_work(services) as uow:
        await leases.fail_job(
            uow,
            job_id=post.id,
            lease=post.lease,
            error="boom",
            retry_after=None,
            permanent=False,
            policy=POLICY,
        )
        await uow.commit()
    clock.advance(seconds=3600)  # the post is due again, the other pin's lease ran out
    again = sorted((j.kind, j.payload["key"]) for j in await lease(services))
    assert again == [("message.pin", "other"), ("message.post", "board")]  # board's pin waits


async def test_a_pin_of_another_guild_does_not_wait(services: Services, guild: str) -> None:
    await post_and_pin(services, guild, CHANNEL, "board")
    await register(services, OTHER_GUILD_ID)
    await pin(services, OTHER_GUILD_ID, "board", pinned=True)
    kinds = sorted((j.guild_id == guild, j.kind) for j in await lease(services))
    assert kinds == [(False, "message.pin"), (True, "message.post")]
