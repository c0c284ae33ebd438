"""Tasks through the service layer (SPEC §7), on SQLite and PostgreSQL.

The whole flow, each refusal (specific, and nothing changed), the reward paid exactly once,
expiry by a fake clock, the scheduler's lease; races run as parallel units of work
(PostgreSQL: real parallel connections; SQLite: its writer lock).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from guildbank.core.errors import GuildbankError, InvalidInput
from guildbank.features.economy import queries as reports
from guildbank.features.guilds.service import register_guild
from guildbank.features.tasks import admin as task_admin
from guildbank.features.tasks import queries as task_queries
from guildbank.features.tasks.errors import (
    AlreadyClaimed,
    AlreadyReviewed,
    ClaimNotFound,
    ClaimNotOpen,
    OwnProof,
    ProofRequired,
    StaleTask,
    TaskFull,
    TaskLimitReached,
    TaskNotActive,
    TaskNotFound,
)
from guildbank.features.tasks.expiry import expire_due
from guildbank.features.tasks.scheduler import ExpiryScheduler
from guildbank.ledger import integrity
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import GUILD_ID, OTHER_GUILD_ID, FakeClock
from tests.factories import guild_money, member
from tests.features.tasks.support import (
    ALICE,
    BOB,
    CAROL,
    MOD,
    abandon,
    channel,
    claim,
    jobs,
    make_task,
    review,
    rewards,
    role,
    set_settings,
    submit,
    task_state,
)

URLS = [f"https://cdn.example.com/proof/{n}.png" for n in range(1, 6)]


async def refused(services: Services, error: type[GuildbankError], coro: Any) -> GuildbankError:
    """Await a refused write and prove it changed nothing (money, tasks, claims, jobs)."""
    before = await task_state(services, GUILD_ID)
    with pytest.raises(error) as caught:
        await coro
    assert await task_state(services, GUILD_ID) == before
    return caught.value


async def assert_clean(services: Services, guild_id: str) -> None:
    async with unit_of_work(services, read_only=True) as uow:
        report = await integrity.check_integrity(uow, guild_id=guild_id)
    assert report.ok, report.problems


async def get_task(services: Services, task_id: int) -> Any:
    async with unit_of_work(services, read_only=True) as uow:
        return await task_queries.get_task(uow, guild_id=GUILD_ID, task_id=task_id)


async def claims_of(services: Services, user_id: str) -> Any:
    async with unit_of_work(services, read_only=True) as uow:
        return await task_queries.member_claims(uow, guild_id=GUILD_ID, user_id=user_id)


# --- the whole flow -------------------------------------------------------------------------


async def test_claim_submit_accept_pays_from_the_mint_grants_the_role_and_posts(
    services: Services, guild: str, clock: FakeClock
) -> None:
    await set_settings(services, guild, review_channel_id=channel(2))
    task = await make_task(
        services,
        guild,
        "Welcome members",
        reward=150,
        channel_id=channel(1),
        role_id=role(1),
        description="Say hi to five newcomers",
        category="Community",
        max_claims=3,
    )
    assert (task.status, task.current_claims, task.version) == ("active", 0, 1)
    assert task.expires_at == clock.now.replace() + (task.expires_at - task.created_at)
    assert (task.expires_at - task.created_at).total_seconds() == 24 * 3600
    post = (await jobs(services, guild, kind="message.post"))[-1]
    assert post.dedupe_key == f"message:task:{task.id}"
    assert post.payload["channel_id"] == channel(1)
    assert post.payload["embeds"][0]["title"] == "Welcome members"
    [[claim_button]] = [row["components"] for row in post.payload["components"]]
    assert (claim_button["custom_id"], claim_button["label"]) == (
        f"gbtask:claim:{task.id}",
        "Claim",
    )
    assert claim_button["disabled"] is False

    claimed = await claim(services, guild, task.id, ALICE)
    assert (claimed.status, claimed.task_name, claimed.reward) == ("in_progress", task.name, 150)
    assert (claimed.deadline - claimed.claimed_at).total_seconds() == 24 * 3600
    assert (await get_task(services, task.id)).current_claims == 1

    clock.advance(hours=2)
    submitted = await submit(services, guild, task.id, ALICE, "Welcomed them all", URLS[:2])
    assert (submitted.status, submitted.proof_text, submitted.proof_urls) == (
        "submitted",
        "Welcomed them all",
        URLS[:2],
    )
    proof_post = [
        j for j in await jobs(services, guild) if j.dedupe_key == f"message:task.proof:{claimed.id}"
    ]
    assert len(proof_post) == 1
    assert proof_post[0].payload["channel_id"] == channel(2)
    assert "Welcomed them all" in proof_post[0].payload["embeds"][0]["description"]
    assert proof_post[0].payload["embeds"][0]["image"] == {"url": URLS[0]}
    buttons = [b for row in proof_post[0].payload["components"] for b in row["components"]]
    assert [(b["custom_id"], b["label"]) for b in buttons] == [
        (f"gbtask:accept:{task.id}:{ALICE}", "Accept"),
        (f"gbtask:reject:{task.id}:{ALICE}", "Reject"),
    ]
    before = await guild_money(services, guild)

    clock.advance(minutes=30)
    accepted = await review(services, guild, task.id, ALICE, accept=True)
    assert (accepted.status, accepted.reviewer_id) == ("accepted", MOD)
    assert accepted.completed_at == clock.now
    assert accepted.reviewed_at == clock.now
    assert accepted.transaction_id is not None
    money = await guild_money(services, guild)
    assert money.balance(ALICE) == before.accounts.get(ALICE, (100,))[0] + 150
    assert money.balance("mint") == before.balance("mint") - 150 - (
        0 if ALICE in before.accounts else 100
    )
    async with unit_of_work(services, read_only=True) as uow:
        view = await reports.get_transaction(
            uow, guild_id=guild, transaction_id=accepted.transaction_id
        )
    assert (view.type, view.amount, view.actor_id) == ("task_reward", 150, MOD)
    assert view.reason == "Completed task: Welcome members"
    grants = await jobs(services, guild, kind="role.grant")
    assert [(j.payload["user_id"], j.payload["role_id"]) for j in grants] == [(ALICE, role(1))]
    proof_post = [
        j for j in await jobs(services, guild) if j.dedupe_key == f"message:task.proof:{claimed.id}"
    ]
    assert "Accepted" in proof_post[-1].payload["embeds"][0]["fields"][0]["value"]
    assert "components" not in proof_post[-1].payload  # reviewed: the buttons go
    [dm] = await jobs(services, guild, kind="dm.send")
    assert (dm.payload["user_id"], dm.dedupe_key) == (ALICE, f"dm:task.accepted:{claimed.id}")
    assert "**Welcome members**" in dm.payload["content"]
    assert "was accepted. You earned 150" in dm.payload["content"]
    assert await rewards(services, guild) == 1
    await assert_clean(services, guild)


async def test_reject_then_resubmit_then_accept_pays_once(services: Services, guild: str) -> None:
    task = await make_task(services, guild, reward=40)
    await claim(services, guild, task.id, ALICE)
    await submit(services, guild, task.id, ALICE, "first try")
    await refused(
        services, InvalidInput, review(services, guild, task.id, ALICE, accept=False, reason="  ")
    )
    rejected = await review(
        services, guild, task.id, ALICE, accept=False, reason="Blurry screenshot"
    )
    assert (rejected.status, rejected.rejection_reason, rejected.transaction_id) == (
        "rejected",
        "Blurry screenshot",
        None,
    )
    # A rejected proof is not reviewed again until it is resubmitted.
    await refused(services, AlreadyReviewed, review(services, guild, task.id, ALICE, accept=True))
    again = await submit(services, guild, task.id, ALICE, "sharper", [URLS[0]])
    assert (again.status, again.rejection_reason, again.reviewer_id) == ("submitted", None, None)
    accepted = await review(services, guild, task.id, ALICE, accept=True)
    assert accepted.status == "accepted"
    error = await refused(
        services, AlreadyReviewed, review(services, guild, task.id, ALICE, accept=True)
    )
    assert error.code == "not_awaiting_review"
    assert await rewards(services, guild) == 1
    assert (await guild_money(services, guild)).balance(ALICE) == 100 + 40
    # One DM per outcome: the rejection with its reason, then the acceptance; none for refusals.
    dms = await jobs(services, guild, kind="dm.send")
    assert [(j.dedupe_key, j.payload["user_id"]) for j in dms] == [
        (f"dm:task.rejected:{accepted.id}", ALICE),
        (f"dm:task.accepted:{accepted.id}", ALICE),
    ]
    assert "was rejected: Blurry screenshot" in dms[0].payload["content"]
    await refused(services, ClaimNotOpen, submit(services, guild, task.id, ALICE, "more"))
    await assert_clean(services, guild)


async def test_two_concurrent_accepts_pay_one_reward(services: Services, guild: str) -> None:
    task = await make_task(services, guild, reward=70)
    await claim(services, guild, task.id, ALICE)
    await submit(services, guild, task.id, ALICE)
    outcomes = await asyncio.gather(
        review(services, guild, task.id, ALICE, accept=True, reviewer_id=MOD),
        review(services, guild, task.id, ALICE, accept=True, reviewer_id=CAROL),
        review(services, guild, task.id, ALICE, accept=True, reviewer_id=MOD),
        return_exceptions=True,
    )
    kinds = Counter(type(o).__name__ for o in outcomes)
    assert kinds == {"MemberTaskOut": 1, "AlreadyReviewed": 2}, outcomes
    assert await rewards(services, guild) == 1
    assert len(await jobs(services, guild, kind="dm.send")) == 1
    assert (await guild_money(services, guild)).balance(ALICE) == 170
    await assert_clean(services, guild)


async def test_a_member_cannot_review_their_own_proof(services: Services, guild: str) -> None:
    task = await make_task(services, guild)
    await claim(services, guild, task.id, ALICE)
    await submit(services, guild, task.id, ALICE)
    error = await refused(
        services, OwnProof, review(services, guild, task.id, ALICE, accept=True, reviewer_id=ALICE)
    )
    assert error.kind == "forbidden"
    await refused(services, ClaimNotFound, review(services, guild, task.id, BOB, accept=True))


async def test_a_zero_reward_task_completes_without_a_ledger_transaction(
    services: Services, guild: str
) -> None:
    task = await make_task(services, guild, reward=0)
    await claim(services, guild, task.id, ALICE)
    await submit(services, guild, task.id, ALICE)
    accepted = await review(services, guild, task.id, ALICE, accept=True)
    assert (accepted.status, accepted.transaction_id) == ("accepted", None)
    assert await rewards(services, guild) == 0


# --- claim validation -------------------------------------------------------------------------


async def test_claim_refusals_are_specific_and_change_nothing(
    services: Services, guild: str, clock: FakeClock
) -> None:
    full = await make_task(services, guild, "Two places", max_claims=2)
    await claim(services, guild, full.id, ALICE)
    assert (
        await refused(services, AlreadyClaimed, claim(services, guild, full.id, ALICE))
    ).code == "already_claimed"
    await claim(services, guild, full.id, BOB)
    error = await refused(services, TaskFull, claim(services, guild, full.id, CAROL))
    assert (error.code, error.fields["max_claims"]) == ("task_full", 2)
    # "Already claimed" wins over "full".
    await refused(services, AlreadyClaimed, claim(services, guild, full.id, BOB))

    archived = await make_task(services, guild, "Old")
    async with unit_of_work(services) as uow:
        await task_admin.update_task(
            uow, guild_id=guild, task_id=archived.id, changes={"status": "archived"}
        )
        await uow.commit()
    error = await refused(services, TaskNotActive, claim(services, guild, archived.id, CAROL))
    assert error.fields["status"] == "archived"

    short = await make_task(services, guild, "Short", duration_hours=1)
    clock.advance(hours=1)  # past expires_at, before the scheduler came by
    error = await refused(services, TaskNotActive, claim(services, guild, short.id, CAROL))
    assert error.fields["status"] == "expired"
    await refused(services, TaskNotFound, claim(services, guild, 999_999, CAROL))
    await refused(services, InvalidInput, claim(services, guild, full.id, "not-an-id"))


async def test_a_member_at_max_tasks_per_user_is_refused(services: Services, guild: str) -> None:
    await set_settings(services, guild, max_tasks_per_user=2)
    tasks = [await make_task(services, guild, f"Task {n}") for n in range(4)]
    await claim(services, guild, tasks[0].id, ALICE)
    await claim(services, guild, tasks[1].id, ALICE)
    error = await refused(services, TaskLimitReached, claim(services, guild, tasks[2].id, ALICE))
    assert (error.code, error.fields["limit"]) == ("task_limit_reached", 2)
    # An accepted claim no longer counts as open.
    await submit(services, guild, tasks[0].id, ALICE)
    await refused(services, TaskLimitReached, claim(services, guild, tasks[2].id, ALICE))
    await review(services, guild, tasks[0].id, ALICE, accept=True)
    await claim(services, guild, tasks[2].id, ALICE)


async def test_concurrent_claims_never_exceed_max_claims(services: Services, guild: str) -> None:
    task = await make_task(services, guild, "Five places", max_claims=5)
    users = [member(100 + n) for n in range(30)]
    outcomes = await asyncio.gather(
        *(claim(services, guild, task.id, u) for u in users), return_exceptions=True
    )
    kinds = Counter(type(o).__name__ for o in outcomes)
    assert kinds == {"MemberTaskOut": 5, "TaskFull": 25}, outcomes
    assert (await get_task(services, task.id)).current_claims == 5


async def test_concurrent_claims_by_one_member_respect_max_tasks_per_user(
    services: Services, guild: str
) -> None:
    await set_settings(services, guild, max_tasks_per_user=3)
    tasks = [await make_task(services, guild, f"Task {n}") for n in range(8)]
    outcomes = await asyncio.gather(
        *(claim(services, guild, t.id, ALICE) for t in tasks), return_exceptions=True
    )
    kinds = Counter(type(o).__name__ for o in outcomes)
    assert kinds == {"MemberTaskOut": 3, "TaskLimitReached": 5}, outcomes
    assert len(await claims_of(services, ALICE)) == 3


# --- proof ----------------------------------------------------------------------------------


async def test_proof_limits_and_require_proof(services: Services, guild: str) -> None:
    task = await make_task(services, guild)
    await claim(services, guild, task.id, ALICE)
    error = await refused(services, ProofRequired, submit(services, guild, task.id, ALICE, None))
    assert error.code == "proof_required"
    error = await refused(
        services, InvalidInput, submit(services, guild, task.id, ALICE, "x" * 10_000)
    )
    assert error.code == "proof_too_long"
    error = await refused(
        services, InvalidInput, submit(services, guild, task.id, ALICE, "ok", [*URLS, URLS[0]])
    )
    assert error.code == "too_many_attachments"
    error = await refused(
        services,
        InvalidInput,
        submit(services, guild, task.id, ALICE, "ok", ["javascript:alert(1)"]),
    )
    assert error.code == "invalid_attachment"
    await refused(services, ClaimNotFound, submit(services, guild, task.id, BOB, "ok"))
    only_files = await submit(services, guild, task.id, ALICE, None, URLS)
    assert (only_files.proof_text, only_files.proof_urls) == (None, URLS)

    await set_settings(services, guild, require_proof=False)
    other = await make_task(services, guild, "No proof needed")
    await claim(services, guild, other.id, BOB)
    bare = await submit(services, guild, other.id, BOB, None)
    assert (bare.status, bare.proof_text, bare.proof_urls) == ("submitted", None, [])


# --- administration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"reward": -1}, "invalid_amount"),
        ({"duration_hours": 0}, "invalid_duration"),
        ({"max_claims": 0}, "invalid_max_claims"),
        ({"name": "   "}, "invalid_task_name"),
        ({"description": "x" * 2001}, "invalid_task_description"),
        ({"channel_id": "general"}, "invalid_id"),
    ],
)
async def test_bad_task_fields_are_refused(
    services: Services, guild: str, fields: dict[str, Any], code: str
) -> None:
    fields = {"name": "Task", "reward": 10, **fields}
    async with unit_of_work(services) as uow:
        before = await task_state(services, guild)
        with pytest.raises(InvalidInput) as caught:
            await task_admin.create_task(uow, guild_id=guild, **fields)
    assert caught.value.code == code
    assert await task_state(services, guild) == before


async def test_edit_archive_reopen_and_delete(
    services: Services, guild: str, clock: FakeClock
) -> None:
    task = await make_task(services, guild, channel_id=channel(1), max_claims=3)
    await claim(services, guild, task.id, ALICE)
    await claim(services, guild, task.id, BOB)
    async with unit_of_work(services) as uow:
        edited = await task_admin.update_task(
            uow,
            guild_id=guild,
            task_id=task.id,
            changes={"reward": 250, "duration_hours": 48},
            version=1,
        )
        await uow.commit()
    assert (edited.reward, edited.version) == (250, 2)
    assert (edited.expires_at - edited.created_at).total_seconds() == 48 * 3600
    async with unit_of_work(services) as uow:
        with pytest.raises(StaleTask):
            await task_admin.update_task(
                uow, guild_id=guild, task_id=task.id, changes={"reward": 1}, version=1
            )
    async with unit_of_work(services) as uow:
        with pytest.raises(InvalidInput) as caught:
            await task_admin.update_task(
                uow, guild_id=guild, task_id=task.id, changes={"max_claims": 1}
            )
    assert caught.value.code == "invalid_max_claims"
    async with unit_of_work(services) as uow:
        archived = await task_admin.update_task(
            uow, guild_id=guild, task_id=task.id, changes={"status": "archived"}
        )
        await uow.commit()
    assert archived.status == "archived"
    post = [j for j in await jobs(services, guild) if j.dedupe_key == f"message:task:{task.id}"][-1]
    assert post.payload["embeds"][0]["title"].startswith("[Archived]")
    clock.advance(hours=100)
    async with unit_of_work(services) as uow:
        reopened = await task_admin.update_task(
            uow, guild_id=guild, task_id=task.id, changes={"status": "active"}
        )
        await uow.commit()
    assert reopened.status == "active"
    assert reopened.expires_at > clock.now

    await claim(services, guild, task.id, CAROL)
    await submit(services, guild, task.id, CAROL)
    async with unit_of_work(services) as uow:
        deleted = await task_admin.delete_task(uow, guild_id=guild, task_id=task.id)
        await uow.commit()
    assert deleted.claims_removed == 3
    deletes = {j.payload["key"] for j in await jobs(services, guild, kind="message.delete")}
    assert f"task:{task.id}" in deletes
    assert any(k.startswith("task.proof:") for k in deletes)
    assert await claims_of(services, ALICE) == []
    await refused(services, TaskNotFound, claim(services, guild, task.id, CAROL))


async def test_tasks_are_isolated_per_guild(services: Services, guild: str) -> None:
    async with unit_of_work(services) as uow:
        await register_guild(uow, guild_id=OTHER_GUILD_ID, name="Other")
        await uow.commit()
    task = await make_task(services, guild)
    with pytest.raises(TaskNotFound):
        await claim(services, OTHER_GUILD_ID, task.id, ALICE)
    async with unit_of_work(services, read_only=True) as uow:
        assert await task_queries.list_tasks(uow, guild_id=OTHER_GUILD_ID) == []


async def test_abandon_frees_the_place(services: Services, guild: str) -> None:
    task = await make_task(services, guild, max_claims=1)
    await claim(services, guild, task.id, ALICE)
    await refused(services, TaskFull, claim(services, guild, task.id, BOB))
    left = await abandon(services, guild, task.id, ALICE)
    assert left.status == "in_progress"
    assert (await get_task(services, task.id)).current_claims == 0
    await claim(services, guild, task.id, BOB)
    await submit(services, guild, task.id, BOB)
    error = await refused(services, ClaimNotOpen, abandon(services, guild, task.id, BOB))
    assert error.fields["status"] == "submitted"
    await refused(services, ClaimNotFound, abandon(services, guild, task.id, ALICE))


# --- expiry ---------------------------------------------------------------------------------


async def test_expiry_by_the_clock_updates_statuses_places_and_posts(
    services: Services, guild: str, clock: FakeClock
) -> None:
    task = await make_task(services, guild, "Daily chore", duration_hours=2, channel_id=channel(1))
    long = await make_task(services, guild, "Long", duration_hours=10, max_claims=2)
    await claim(services, guild, task.id, ALICE)
    await claim(services, guild, task.id, BOB)
    await submit(services, guild, task.id, BOB)  # waits for review: does not expire
    await claim(services, guild, long.id, CAROL)

    clock.advance(hours=1)
    async with unit_of_work(services) as uow:
        report = await expire_due(uow)
        await uow.commit()
    assert (report.tasks, report.claims) == ([], [])

    clock.advance(hours=1, minutes=1)
    async with unit_of_work(services) as uow:
        report = await expire_due(uow)
        await uow.commit()
    assert report.tasks == [task.id]
    assert report.claims == [(task.id, ALICE)]
    expired = await get_task(services, task.id)
    assert (expired.status, expired.current_claims) == ("expired", 1)
    statuses = {
        c.user_id: c.status
        for c in await claims_of(services, ALICE) + await claims_of(services, BOB)
    }
    assert statuses == {ALICE: "expired", BOB: "submitted"}
    post = [j for j in await jobs(services, guild) if j.dedupe_key == f"message:task:{task.id}"][-1]
    assert post.payload["embeds"][0]["title"] == "[Expired] Daily chore"
    assert post.payload["content"] == "This task is closed."
    # The submitted proof is still reviewed and paid after the task expired.
    await review(services, guild, task.id, BOB, accept=True)
    await refused(services, ClaimNotOpen, submit(services, guild, task.id, ALICE, "late"))

    clock.advance(hours=10)
    async with unit_of_work(services) as uow:
        report = await expire_due(uow)
        await uow.commit()
    assert (report.tasks, report.claims) == ([long.id], [(long.id, CAROL)])
    assert (await get_task(services, long.id)).current_claims == 0


async def test_auto_expire_off_keeps_tasks_open(
    services: Services, guild: str, clock: FakeClock
) -> None:
    await set_settings(services, guild, auto_expire_enabled=False)
    task = await make_task(services, guild, duration_hours=1)
    clock.advance(hours=2)
    async with unit_of_work(services) as uow:
        report = await expire_due(uow)
        await uow.commit()
    assert report.tasks == []
    assert (await get_task(services, task.id)).status == "active"


async def test_one_scheduler_owns_the_lease_until_it_runs_out(
    services: Services, guild: str, clock: FakeClock
) -> None:
    first = ExpiryScheduler(services, every=60, owner="web-1")
    second = ExpiryScheduler(services, every=60, owner="web-2")
    task = await make_task(services, guild, duration_hours=1)
    clock.advance(hours=2)
    assert await second.run_once() is not None  # takes the free lease, expires the task
    assert (await get_task(services, task.id)).status == "expired"
    assert await first.run_once() is None  # held by web-2
    clock.advance(seconds=100)
    assert await second.run_once() is not None  # renews its own
    assert await first.run_once() is None
    clock.advance(seconds=181)  # web-2 stopped renewing: its lease ran out
    assert await first.run_once() is not None
    assert await second.run_once() is None
    results = await asyncio.gather(*(s.run_once() for s in (first, second)))
    assert sum(r is not None for r in results) == 1
