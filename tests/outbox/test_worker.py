"""The outbox end to end: the real hikari REST client against the fake Discord, the real API
on SQLite and PostgreSQL, workers as the bot runs them (SPEC §2 Outbox, issue 9).

Side effects survive the bot being offline, Discord refusing or failing, two workers, and a
worker dying mid-job; each job's effect reaches Discord once.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter

import hikari
import pytest

from guildbank.bot.transport import ApiError
from guildbank.outbox.executor import Executor, Outcome
from guildbank.outbox.schemas import LeasedJob
from guildbank.outbox.service import enqueue_message
from guildbank.platform.clock import as_utc
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

ROLE_PUT = r"/guilds/\d+/members/\d+/roles/\d+"


@pytest.fixture
def clock() -> FakeClock:
    """Real time here: leases expire and retries come due by themselves."""
    return WallClock()


def key() -> str:
    return secrets.token_hex(8)


async def grant(world: BotWorld, member_id: int, role_id: int) -> int:
    """A reward-role job written through the API, as an integrator or the reconcile would."""
    job = await world.api.create_job(
        world.gid,
        kind="role.grant",
        payload={"user_id": str(member_id), "role_id": str(role_id), "reason": "test"},
        dedupe_key=f"role.grant:{member_id}:{role_id}",
    )
    return job.id


def roles_of(world: BotWorld, member_id: int) -> list[int]:
    member = world.discord.get_member(world.guild.id, member_id)
    assert member is not None
    return member.roles


async def test_a_squad_change_made_while_no_bot_runs_reaches_discord_once_it_starts(
    world: BotWorld,
) -> None:
    red = world.discord.add_role(world.guild.id, "Red", position=5)
    crimson = world.discord.add_role(world.guild.id, "Crimson", position=6)
    squad = await world.api.create_squad(world.gid, role_id=str(red.id), name="Red")
    alice = world.alice.user.id
    await world.api.join_squad(world.gid, squad.id, str(alice), idempotency_key=key())
    # Changed in the dashboard while the bot is down: Red now means the Crimson role.
    await world.api.update_squad(world.gid, squad.id, {"role_id": str(crimson.id)})
    assert world.discord.calls("PUT", "/guilds") == []
    await world.start_bot()
    jobs = await wait_for_jobs(world.services, all_settled)
    assert {(j.kind, j.payload["role_id"], j.status) for j in jobs} == {
        ("role.remove", str(red.id), "done"),  # coalesced with the join's add: never given
        ("role.add", str(crimson.id), "done"),
    }
    puts = world.discord.rest.find("PUT", ROLE_PUT)
    assert [c.path.rsplit("/", 1)[1] for c in puts] == [str(crimson.id)]
    # Removing a role the member never got is harmless in Discord, and never trusts a cache.
    deletes = world.discord.rest.find("DELETE", ROLE_PUT)
    assert [c.path.rsplit("/", 1)[1] for c in deletes] == [str(red.id)]
    assert roles_of(world, alice) == [crimson.id]


async def test_a_dashboard_squad_deletion_moves_the_members_roles(world: BotWorld) -> None:
    red = world.discord.add_role(world.guild.id, "Red", position=5)
    blue = world.discord.add_role(world.guild.id, "Blue", position=6)
    gb = await world.start_bot()
    reds = await world.api.create_squad(world.gid, role_id=str(red.id), name="Red")
    blues = await world.api.create_squad(world.gid, role_id=str(blue.id), name="Blue")
    for member in (world.alice, world.bob):
        await world.api.join_squad(world.gid, reds.id, str(member.user.id), idempotency_key=key())
    await wait_for_jobs(world.services, all_settled)
    assert gb.outbox is not None
    await world.api.delete_squad(world.gid, reds.id, move_to=blues.id)
    await wait_for_jobs(world.services, lambda jobs: all_settled(jobs) and len(jobs) == 6)
    for member in (world.alice, world.bob):
        assert roles_of(world, member.user.id) == [blue.id]


async def test_two_bots_on_shards_0_and_1_each_run_their_guilds_jobs_once(
    world: BotWorld,
) -> None:
    other = world.discord.add_guild(
        world.discord.snowflake_on_shard(1 - (world.guild.id >> 22) % 2, 2), name="Other"
    )
    dave = world.discord.add_member(other.id, username="dave")
    await world.api.register_guild(str(other.id), other.name)
    roles = {
        g.id: [world.discord.add_role(g.id, f"R{n}") for n in range(5)]
        for g in (world.guild, other)
    }
    for guild_id, member_id in ((world.guild.id, world.alice.user.id), (other.id, dave.user.id)):
        for role in roles[guild_id]:
            await world.api.create_job(
                str(guild_id),
                kind="role.grant",
                payload={"user_id": str(member_id), "role_id": str(role.id)},
            )
    zero = await world.start_bot(shard_ids=[0], shard_count=2)
    one = await world.start_bot(shard_ids=[1], shard_count=2, sync_commands=False)
    jobs = await wait_for_jobs(world.services, all_settled)
    assert {j.status for j in jobs} == {"done"}
    puts = Counter(c.path for c in world.discord.rest.find("PUT", ROLE_PUT))
    assert len(puts) == 10
    assert set(puts.values()) == {1}
    assert zero.outbox is not None
    assert one.outbox is not None
    assert (zero.outbox.performed, one.outbox.performed) == (5, 5)


async def test_two_workers_on_the_same_shard_run_every_job_exactly_once(
    world: BotWorld, make_worker: WorkerFactory
) -> None:
    roles = [world.discord.add_role(world.guild.id, f"R{n}") for n in range(20)]
    members = (world.alice, world.bob, world.carol)
    for member in members:
        for role in roles:
            await grant(world, member.user.id, role.id)
    first = await make_worker(concurrency=4, batch=5)
    second = await make_worker(concurrency=4, batch=5)
    jobs = await wait_for_jobs(world.services, all_settled)
    assert [j.status for j in jobs] == ["done"] * 60
    puts = Counter(c.path for c in world.discord.rest.find("PUT", ROLE_PUT))
    assert len(puts) == 60
    assert set(puts.values()) == {1}
    assert first.performed + second.performed == 60
    assert first.performed > 0
    assert second.performed > 0


async def test_discord_failing_twice_then_answering_is_done_after_retries(
    world: BotWorld, make_worker: WorkerFactory
) -> None:
    fast_outbox(world)
    role = world.discord.add_role(world.guild.id, "Rich")
    world.discord.fail("PUT", ROLE_PUT, status=500, code=0, message="Internal", times=2)
    job_id = await grant(world, world.alice.user.id, role.id)
    await make_worker()
    [job] = await wait_for_jobs(world.services, all_settled)
    assert (job.id, job.status, job.attempts) == (job_id, "done", 3)
    assert [c.status for c in world.discord.rest.find("PUT", ROLE_PUT)] == [500, 500, 204]
    assert roles_of(world, world.alice.user.id) == [role.id]


async def test_a_rate_limit_is_waited_out(world: BotWorld, make_worker: WorkerFactory) -> None:
    role = world.discord.add_role(world.guild.id, "Rich")
    world.discord.fail(
        "PUT",
        ROLE_PUT,
        status=429,
        code=0,
        message="You are being rate limited.",
        retry_after=0.4,
    )
    await grant(world, world.alice.user.id, role.id)
    await make_worker()
    [job] = await wait_for_jobs(world.services, all_settled)
    assert (job.status, job.attempts) == ("done", 1)  # hikari waited: no attempt spent
    limited, granted = world.discord.rest.find("PUT", ROLE_PUT)
    assert (limited.status, granted.status) == (429, 204)
    assert granted.at - limited.at >= 0.4


async def test_a_long_rate_limit_hands_the_job_back_with_discords_retry_after(
    world: BotWorld, make_worker: WorkerFactory
) -> None:
    role = world.discord.add_role(world.guild.id, "Rich")
    world.discord.fail("PUT", ROLE_PUT, status=429, code=0, message="Slow down", retry_after=120.0)
    await grant(world, world.alice.user.id, role.id)
    before = world.clock()
    await make_worker()
    [job] = await wait_for_jobs(
        world.services,
        lambda jobs: bool(jobs) and jobs[0].attempts == 0 and jobs[0].last_error is not None,
    )
    assert job.status == "pending"
    assert "Rate limited" in (job.last_error or "")
    assert (as_utc(job.next_attempt_at) - before).total_seconds() >= 120


async def test_a_refusal_fails_with_a_reason_and_an_admin_retry_succeeds(
    world: BotWorld, make_worker: WorkerFactory
) -> None:
    role = world.discord.add_role(world.guild.id, "Rich")
    world.discord.fail("PUT", ROLE_PUT, status=403, code=50013, message="Missing Permissions")
    job_id = await grant(world, world.alice.user.id, role.id)
    await make_worker()
    [job] = await wait_for_jobs(world.services, all_settled)
    assert (job.status, job.attempts) == ("failed", 1)
    assert "Missing Permissions" in (job.last_error or "")
    assert "lacks a permission" in (job.last_error or "")
    retried = await world.api.retry_job(world.gid, job_id)
    assert retried.status == "pending"
    [job] = await wait_for_jobs(world.services, lambda jobs: jobs[0].status == "done")
    assert roles_of(world, world.alice.user.id) == [role.id]


async def test_a_deleted_role_fails_for_good_and_a_member_who_left_needs_nothing(
    world: BotWorld, make_worker: WorkerFactory
) -> None:
    gone = 777777777777777777
    await grant(world, world.alice.user.id, gone)
    role = world.discord.add_role(world.guild.id, "Rich")
    await grant(world, world.outsider.id, role.id)
    await make_worker()
    deleted, outsider = await wait_for_jobs(world.services, all_settled)
    assert deleted.status == "failed"
    assert f"The role {gone} no longer exists" in (deleted.last_error or "")
    assert (outsider.status, outsider.result) == (
        "done",
        {"skipped": "the member is not in the server"},
    )


class HangsAfterDiscord(Executor):
    """Performs the job in Discord, then hangs: killed there, it never reports."""

    def __init__(self, rest: hikari.api.RESTClient) -> None:
        super().__init__(rest)
        self.reached = asyncio.Event()

    async def run(self, job: LeasedJob) -> Outcome:
        await super().run(job)
        self.reached.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def test_a_worker_killed_mid_job_leaves_it_to_another_after_the_lease(
    world: BotWorld, make_worker: WorkerFactory
) -> None:
    fast_outbox(world, outbox_lease_seconds=1.0)
    role = world.discord.add_role(world.guild.id, "Rich")
    job_id = await grant(world, world.alice.user.id, role.id)
    doomed = await make_worker(executor=HangsAfterDiscord)
    assert isinstance(doomed.executor, HangsAfterDiscord)
    async with asyncio.timeout(WAIT):
        await doomed.executor.reached.wait()
    [running] = await jobs_of(world.services)
    dead_lease = running.lease_owner
    await doomed.close()  # killed: no report, the lease runs out
    survivor = await make_worker()
    [job] = await wait_for_jobs(world.services, all_settled)
    assert (job.id, job.status, job.attempts) == (job_id, "done", 2)
    assert survivor.performed == 1
    assert roles_of(world, world.alice.user.id) == [role.id]
    # The first worker coming back: its report is refused, the outcome stays recorded once.
    assert dead_lease is not None
    assert dead_lease.startswith(doomed.owner)
    with pytest.raises(ApiError) as refused:
        await world.api.job_done(job_id, lease=dead_lease, revision=0, result={"late": True})
    assert (refused.value.status, refused.value.code) == (409, "stale_lease")


async def test_a_deleted_message_is_recreated_and_its_new_id_stored(
    world: BotWorld, make_worker: WorkerFactory
) -> None:
    channel = world.discord.default_channel(world.guild.id)

    async def show(content: str) -> OutboxJob:
        async with unit_of_work(world.services) as uow:
            await enqueue_message(
                uow, guild_id=world.gid, channel_id=str(channel.id), content=content, key="board"
            )
            await uow.commit()
        jobs = await wait_for_jobs(
            world.services,
            lambda jobs: all_settled(jobs) and jobs[-1].payload["content"] == content,
        )
        return jobs[-1]

    await make_worker()
    first = await show("Leaderboard v1")
    assert first.result is not None
    first_id = int(first.result["message_id"])
    second = await show("Leaderboard v2")  # edited in place
    assert second.result == first.result
    assert world.discord.messages[first_id]["content"] == "Leaderboard v2"
    del world.discord.messages[first_id]  # someone deleted the post in Discord
    third = await show("Leaderboard v3")
    assert third.result is not None
    new_id = int(third.result["message_id"])
    assert new_id != first_id
    assert [m["content"] for m in world.discord.channel_messages(channel.id)] == ["Leaderboard v3"]
    fourth = await show("Leaderboard v4")
    assert fourth.result == third.result  # the new id was stored: edited, not posted again
    assert world.discord.messages[new_id]["content"] == "Leaderboard v4"


async def test_a_post_repeated_after_a_lost_lease_is_not_duplicated(
    world: BotWorld, make_worker: WorkerFactory
) -> None:
    fast_outbox(world, outbox_lease_seconds=1.0)
    channel = world.discord.default_channel(world.guild.id)
    async with unit_of_work(world.services) as uow:
        await enqueue_message(
            uow, guild_id=world.gid, channel_id=str(channel.id), content="Logged once"
        )
        await uow.commit()
    doomed = await make_worker(executor=HangsAfterDiscord)
    assert isinstance(doomed.executor, HangsAfterDiscord)
    async with asyncio.timeout(WAIT):
        await doomed.executor.reached.wait()
    await doomed.close()
    await make_worker()
    [job] = await wait_for_jobs(world.services, all_settled)
    assert (job.status, job.attempts) == ("done", 2)
    assert len(world.discord.rest.find("POST", rf"/channels/{channel.id}/messages")) == 2
    assert [m["content"] for m in world.discord.channel_messages(channel.id)] == ["Logged once"]
