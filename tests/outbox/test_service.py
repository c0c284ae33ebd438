"""The outbox's server side on SQLite and PostgreSQL: jobs written with their change,
coalesced by key, leased per shard, taken over after a lost lease, reported once per lease,
retried with backoff, and handled by admins."""

from __future__ import annotations

from datetime import timedelta

import pytest

from guildbank.core.errors import InvalidInput
from guildbank.outbox import leases, queries, service
from guildbank.outbox.errors import JobConflict, JobNotFound, StaleLease
from guildbank.outbox.events import OutboxReady
from guildbank.platform.clock import as_utc
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import GUILD_ID, OTHER_GUILD_ID, FakeClock
from tests.outbox.helpers import (
    POLICY,
    ROLE,
    USER,
    all_jobs,
    grant,
    guild_on_shard,
    job_row,
    lease,
    register,
)


async def test_a_job_commits_or_rolls_back_with_its_change(services: Services) -> None:
    async with unit_of_work(services) as uow:
        await service.enqueue(
            uow,
            guild_id=GUILD_ID,
            kind="role.grant",
            payload={"user_id": USER, "role_id": ROLE},
        )
        await uow.rollback()
    assert await all_jobs(services) == []
    job_id = await grant(services, GUILD_ID)
    [job] = await all_jobs(services)
    assert (job.id, job.status, job.attempts, job.payload["role_id"]) == (
        job_id,
        "pending",
        0,
        ROLE,
    )


async def test_ready_is_announced_once_per_unit_and_guild(services: Services) -> None:
    async with unit_of_work(services) as uow:
        for n in range(3):
            for guild_id in (GUILD_ID, OTHER_GUILD_ID):
                await service.enqueue(
                    uow,
                    guild_id=guild_id,
                    kind="role.grant",
                    payload={"user_id": USER, "role_id": str(int(ROLE) + n)},
                )
        ready = [(e.name, e.guild_id) for e in uow.events]
        await uow.commit()
    assert ready == [(OutboxReady.name, GUILD_ID), (OutboxReady.name, OTHER_GUILD_ID)]


async def test_bad_payloads_and_kinds_are_refused(services: Services) -> None:
    async with unit_of_work(services) as uow:
        with pytest.raises(InvalidInput) as unknown:
            await service.enqueue(uow, guild_id=GUILD_ID, kind="nuke.guild", payload={})
        with pytest.raises(InvalidInput) as shape:
            await service.enqueue(uow, guild_id=GUILD_ID, kind="role.add", payload={"user_id": "x"})
    assert (unknown.value.code, shape.value.code) == ("unknown_job_kind", "invalid_payload")


async def test_open_jobs_with_one_key_coalesce_and_the_newest_payload_wins(
    services: Services,
) -> None:
    first = await grant(services, GUILD_ID)
    assert await grant(services, GUILD_ID) == first
    assert (await job_row(services, first)).revision == 0  # same payload: same revision
    async with unit_of_work(services) as uow:
        await service.enqueue_role_change(
            uow, guild_id=GUILD_ID, user_id=USER, add=ROLE, reason="joined"
        )
        await uow.commit()
    async with unit_of_work(services) as uow:
        await service.enqueue_role_change(
            uow, guild_id=GUILD_ID, user_id=USER, remove=ROLE, reason="left"
        )
        await uow.commit()
    jobs = await all_jobs(services)
    assert [(j.kind, j.revision) for j in jobs] == [("role.grant", 0), ("role.remove", 1)]
    # Once done, the key is free again: a new job opens.
    [leased, _] = await lease(services)
    async with unit_of_work(services) as uow:
        await leases.complete_job(
            uow, job_id=leased.id, lease=leased.lease, revision=leased.revision, result=None
        )
        await uow.commit()
    assert await grant(services, GUILD_ID) != first


async def test_a_job_superseded_while_running_runs_again_with_the_newest_payload(
    services: Services,
) -> None:
    async with unit_of_work(services) as uow:
        await service.enqueue_role_change(
            uow, guild_id=GUILD_ID, user_id=USER, add=ROLE, reason="joined"
        )
        await uow.commit()
    [running] = await lease(services)
    async with unit_of_work(services) as uow:
        await service.enqueue_role_change(
            uow, guild_id=GUILD_ID, user_id=USER, remove=ROLE, reason="left"
        )
        await uow.commit()
    async with unit_of_work(services) as uow:
        out = await leases.complete_job(
            uow, job_id=running.id, lease=running.lease, revision=running.revision, result={}
        )
        await uow.commit()
    assert (out.status, out.kind, out.attempts) == ("pending", "role.remove", 0)
    [again] = await lease(services)
    assert (again.id, again.kind, again.revision) == (running.id, "role.remove", 1)


async def test_a_lease_is_exclusive_until_it_expires_then_taken_over(
    services: Services, clock: FakeClock
) -> None:
    job_id = await grant(services, GUILD_ID)
    [first] = await lease(services, "worker-a")
    assert (first.id, first.status, first.attempts) == (job_id, "running", 1)
    assert first.lease.startswith("worker-a#")
    assert await lease(services, "worker-b") == []
    clock.advance(seconds=POLICY.lease_seconds + 1)
    [second] = await lease(services, "worker-b")
    assert (second.id, second.attempts) == (job_id, 2)
    # The first worker comes back: its report is refused, the second one's recorded.
    async with unit_of_work(services) as uow:
        with pytest.raises(StaleLease):
            await leases.complete_job(
                uow, job_id=job_id, lease=first.lease, revision=0, result={"by": "a"}
            )
        with pytest.raises(StaleLease):
            await leases.fail_job(
                uow,
                job_id=job_id,
                lease=first.lease,
                error="late",
                retry_after=None,
                permanent=True,
                policy=POLICY,
            )
    async with unit_of_work(services) as uow:
        await leases.complete_job(
            uow, job_id=job_id, lease=second.lease, revision=0, result={"by": "b"}
        )
        await uow.commit()
    row = await job_row(services, job_id)
    assert (row.status, row.result, row.lease_owner) == ("done", {"by": "b"}, None)
    async with unit_of_work(services) as uow:
        with pytest.raises(StaleLease):  # a replayed report of the same lease: once only
            await leases.complete_job(uow, job_id=job_id, lease=second.lease, revision=0, result={})
        with pytest.raises(JobNotFound):
            await leases.complete_job(uow, job_id=10**9, lease=second.lease, revision=0, result={})


async def test_a_lease_lost_on_the_last_attempt_fails_the_job(
    services: Services, clock: FakeClock
) -> None:
    job_id = await grant(services, GUILD_ID)
    for _ in range(POLICY.max_attempts):
        assert [j.id for j in await lease(services)] == [job_id]
        clock.advance(seconds=POLICY.lease_seconds + 1)
    assert await lease(services) == []
    row = await job_row(services, job_id)
    assert row.status == "failed"
    assert "stopped answering" in (row.last_error or "")


async def test_each_worker_leases_only_the_guilds_of_its_shards(services: Services) -> None:
    guilds = {shard: [guild_on_shard(shard, 2, n) for n in range(3)] for shard in (0, 1)}
    for guild_id in guilds[0] + guilds[1]:
        await grant(services, guild_id)
    zero = await lease(services, "zero", shard_ids=(0,), shard_count=2)
    one = await lease(services, "one", shard_ids=(1,), shard_count=2)
    assert sorted(j.guild_id for j in zero) == sorted(guilds[0])
    assert sorted(j.guild_id for j in one) == sorted(guilds[1])
    assert await lease(services, "both", shard_ids=(0, 1), shard_count=2) == []


async def test_leasing_takes_the_oldest_due_jobs_first_up_to_the_limit(
    services: Services, clock: FakeClock
) -> None:
    later = await grant(services, GUILD_ID, role=str(int(ROLE) + 1), delay=60)
    ids = [await grant(services, GUILD_ID, role=str(int(ROLE) + 10 + n)) for n in range(3)]
    first, rest = await lease(services, limit=2), await lease(services)
    assert ([j.id for j in first], [j.id for j in rest]) == (ids[:2], ids[2:])

    async def next_due() -> object:
        async with unit_of_work(services, read_only=True) as uow:
            return await leases.next_due(uow, shard_ids=(0,), shard_count=1)

    assert await next_due() == clock.now + timedelta(seconds=POLICY.lease_seconds)
    for job in first + rest:
        async with unit_of_work(services) as uow:
            await leases.complete_job(uow, job_id=job.id, lease=job.lease, revision=0, result={})
            await uow.commit()
    assert await next_due() == clock.now + timedelta(seconds=60)
    clock.advance(seconds=60)
    assert [j.id for j in await lease(services)] == [later]


async def _fail(
    services: Services, *, retry_after: float | None = None, permanent: bool = False
) -> None:
    [job] = await lease(services)
    async with unit_of_work(services) as uow:
        await leases.fail_job(
            uow,
            job_id=job.id,
            lease=job.lease,
            error="Discord said 500",
            retry_after=retry_after,
            permanent=permanent,
            policy=POLICY,
            rng=lambda: 1.0,
        )
        await uow.commit()


async def test_failures_back_off_exponentially_then_fail_for_good(
    services: Services, clock: FakeClock
) -> None:
    job_id = await grant(services, GUILD_ID)
    waits = []
    for _ in range(POLICY.max_attempts - 1):
        await _fail(services)
        row = await job_row(services, job_id)
        assert row.status == "pending"
        waits.append((as_utc(row.next_attempt_at) - clock.now).total_seconds())
        assert await lease(services) == []  # not due before its backoff
        clock.now = as_utc(row.next_attempt_at)
    assert waits == [10.0, 20.0]  # base 10 s doubling (jitter pinned to its top)
    await _fail(services)
    row = await job_row(services, job_id)
    assert (row.status, row.attempts) == ("failed", POLICY.max_attempts)
    assert row.last_error == "Discord said 500 (gave up after 3 attempts)"


async def test_a_rate_limit_waits_as_told_without_spending_an_attempt(
    services: Services, clock: FakeClock
) -> None:
    job_id = await grant(services, GUILD_ID)
    for _ in range(POLICY.max_attempts + 2):
        await _fail(services, retry_after=42.5)
        row = await job_row(services, job_id)
        assert (row.status, row.attempts) == ("pending", 0)
        assert as_utc(row.next_attempt_at) == clock.now + timedelta(seconds=42.5)
        clock.now = as_utc(row.next_attempt_at)


async def test_a_permanent_refusal_fails_at_once_and_an_admin_retries_it(
    services: Services,
) -> None:
    job_id = await grant(services, GUILD_ID)
    await _fail(services, permanent=True)
    async with unit_of_work(services, read_only=True) as uow:
        [failed] = await queries.list_jobs(uow, guild_id=GUILD_ID, statuses=("failed",))
        counts = await queries.status_counts(uow, guild_id=GUILD_ID)
        backlog = await queries.backlog(uow)
    assert (failed.id, failed.last_error, failed.attempts) == (job_id, "Discord said 500", 1)
    assert (counts.pending, counts.failed, backlog.failed) == (0, 1, 1)
    async with unit_of_work(services) as uow:
        retried = await service.retry_job(uow, guild_id=GUILD_ID, job_id=job_id)
        await uow.commit()
    assert (retried.status, retried.attempts) == ("pending", 0)
    assert [j.id for j in await lease(services)] == [job_id]


async def test_admins_cancel_and_retry_within_their_guild_only(services: Services) -> None:
    await register(services, GUILD_ID)
    job_id = await grant(services, GUILD_ID)
    async with unit_of_work(services) as uow:
        with pytest.raises(JobConflict):  # pending: nothing to retry
            await service.retry_job(uow, guild_id=GUILD_ID, job_id=job_id)
        with pytest.raises(JobNotFound):
            await service.cancel_job(uow, guild_id=OTHER_GUILD_ID, job_id=job_id)
        cancelled = await service.cancel_job(uow, guild_id=GUILD_ID, job_id=job_id)
        await uow.commit()
    assert cancelled.status == "cancelled"
    assert await lease(services) == []
    newer = await grant(services, GUILD_ID)  # the key is free: a new job opens
    async with unit_of_work(services) as uow:
        with pytest.raises(JobConflict) as superseded:
            await service.retry_job(uow, guild_id=GUILD_ID, job_id=job_id)
        with pytest.raises(JobConflict):
            await service.cancel_job(uow, guild_id=GUILD_ID, job_id=job_id)
    assert superseded.value.fields["newer_job_id"] == newer


async def test_a_running_job_cancelled_refuses_its_workers_report(services: Services) -> None:
    await grant(services, GUILD_ID)
    [job] = await lease(services)
    async with unit_of_work(services) as uow:
        await service.cancel_job(uow, guild_id=GUILD_ID, job_id=job.id)
        await uow.commit()
    async with unit_of_work(services) as uow:
        with pytest.raises(StaleLease):
            await leases.complete_job(uow, job_id=job.id, lease=job.lease, revision=0, result={})


async def test_a_keyed_message_remembers_its_discord_message(services: Services) -> None:
    channel = "600000000000000001"

    async def post(content: str) -> None:
        async with unit_of_work(services) as uow:
            await service.enqueue_message(
                uow, guild_id=GUILD_ID, channel_id=channel, content=content, key="shop.item:1"
            )
            await uow.commit()

    await post("v1")
    [first] = await lease(services)
    assert first.message is None
    async with unit_of_work(services) as uow:
        await leases.complete_job(
            uow,
            job_id=first.id,
            lease=first.lease,
            revision=0,
            result={"channel_id": channel, "message_id": "700000000000000001"},
        )
        await uow.commit()
    await post("v2")
    [second] = await lease(services)
    assert second.message is not None
    assert (second.message.message_id, second.payload["content"]) == ("700000000000000001", "v2")
    async with unit_of_work(services) as uow:
        await leases.complete_job(
            uow,
            job_id=second.id,
            lease=second.lease,
            revision=0,
            result={"channel_id": channel, "message_id": "700000000000000002"},
        )
        await service.enqueue_message(
            uow, guild_id=GUILD_ID, channel_id=channel, key="shop.item:1", delete=True
        )
        await uow.commit()
    [delete] = await lease(services)
    assert (delete.kind, delete.message and delete.message.message_id) == (
        "message.delete",
        "700000000000000002",
    )


async def test_concurrent_leasers_never_share_a_job(services: Services) -> None:
    import asyncio  # noqa: PLC0415

    ids = {await grant(services, GUILD_ID, role=str(int(ROLE) + n)) for n in range(40)}
    batches = await asyncio.gather(*(lease(services, f"worker-{n}", limit=5) for n in range(8)))
    leased = [job.id for batch in batches for job in batch]
    assert len(leased) == len(set(leased)) == len(ids)
