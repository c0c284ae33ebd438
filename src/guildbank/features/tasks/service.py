"""Members' side of tasks: claim, submit proof, abandon; moderators' review that pays.

Every guard that must hold under concurrency is a single conditional statement, never a
read-modify-write in Python:

* a claim takes a place with ``UPDATE tasks SET current_claims = current_claims + 1 WHERE
  … current_claims < max_claims``: 30 simultaneous claims of 5 places make exactly 5 claims;
* a member's claims are serialised by a transaction-scoped advisory lock per member
  (PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serialises writers), so
  ``max_tasks_per_user`` holds when one member claims several tasks at once;
* a review moves the claim with ``UPDATE … WHERE status = 'submitted'``: of two accepts (two
  moderators, or a double click with two keys) one moves it and pays, the other is refused
  ``not_awaiting_review`` and pays nothing. The reward is a ``task_reward`` ledger
  transaction from the mint, in the same database transaction.
"""

from __future__ import annotations

from sqlalchemy import func, select, text, update

from guildbank.core.errors import InvalidInput
from guildbank.features.guilds.queries import get_config
from guildbank.features.tasks.errors import (
    AlreadyReviewed,
    ClaimNotOpen,
    OwnProof,
    TaskNotActive,
)
from guildbank.features.tasks.events import (
    TaskAbandoned,
    TaskClaimed,
    TaskReviewed,
    TaskSubmitted,
)
from guildbank.features.tasks.posts import delete_posts, dm_review, post_proof, post_task
from guildbank.features.tasks.queries import (
    check_user,
    claim_view,
    get_claim_or_raise,
    get_task_or_raise,
    proof_key,
    read_settings,
)
from guildbank.features.tasks.rules import (
    OPEN_CLAIM_STATUSES,
    check_can_claim,
    check_proof,
    deadline_for,
)
from guildbank.features.tasks.schemas import MemberTaskOut
from guildbank.ledger import posting
from guildbank.ledger.accounts import ensure_account, lock_mint
from guildbank.ledger.legs import transfer_legs
from guildbank.ledger.types import TransactionType
from guildbank.outbox.service import enqueue_role_grants
from guildbank.platform.clock import as_utc
from guildbank.platform.models.tasks import MemberTask, Task
from guildbank.platform.uow import UnitOfWork

__all__ = ["abandon_task", "claim_task", "review_task", "submit_proof"]


async def _lock_member(uow: UnitOfWork, guild_id: str, user_id: str) -> None:
    """Serialise one member's claims until this transaction ends (PostgreSQL)."""
    if uow.services.dialect == "postgresql":
        await uow.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"guildbank.tasks:{guild_id}:{user_id}"},
        )


async def _open_claims(uow: UnitOfWork, guild_id: str, user_id: str) -> int:
    return (
        await uow.session.execute(
            select(func.count()).where(
                MemberTask.guild_id == guild_id,
                MemberTask.user_id == user_id,
                MemberTask.status.in_(OPEN_CLAIM_STATUSES),
            )
        )
    ).scalar_one()


async def claim_task(
    uow: UnitOfWork, *, guild_id: str, task_id: int, user_id: str
) -> MemberTaskOut:
    """Claim a task: in progress until ``duration_hours`` from now."""
    config = await get_config(uow, guild_id)
    check_user(user_id)
    settings = await read_settings(uow, guild_id)
    await _lock_member(uow, guild_id, user_id)
    task = await get_task_or_raise(uow, guild_id=guild_id, task_id=task_id)
    existing = await uow.session.scalar(
        select(MemberTask.id).where(MemberTask.task_id == task.id, MemberTask.user_id == user_id)
    )
    open_claims = await _open_claims(uow, guild_id, user_id)

    def check(row: Task) -> None:
        check_can_claim(
            task_id=row.id,
            name=row.name,
            status=row.status,
            expires_at=as_utc(row.expires_at),
            now=uow.now,
            max_claims=row.max_claims,
            current_claims=row.current_claims,
            already_claimed=existing is not None,
            open_claims=open_claims,
            max_tasks_per_user=settings.max_tasks_per_user,
        )

    check(task)
    taken = await uow.session.execute(
        update(Task)
        .where(
            Task.id == task.id,
            Task.status == "active",
            Task.expires_at > uow.now,
            (Task.max_claims == -1) | (Task.current_claims < Task.max_claims),
        )
        .values(current_claims=Task.current_claims + 1, updated_at=uow.now)
        .returning(Task.id),
        execution_options={"synchronize_session": False},
    )
    if taken.scalar_one_or_none() is None:
        # Someone took the last place (or the task closed) meanwhile: say which.
        latest = await get_task_or_raise(uow, guild_id=guild_id, task_id=task_id, lock=True)
        check(latest)
        raise TaskNotActive(task_id=latest.id, name=latest.name, status="expired")
    task = await get_task_or_raise(uow, guild_id=guild_id, task_id=task_id, lock=True)
    claim = MemberTask(
        guild_id=guild_id,
        task_id=task.id,
        user_id=user_id,
        status="in_progress",
        claimed_at=uow.now,
        deadline=deadline_for(uow.now, task.duration_hours),
        proof_urls=[],
    )
    uow.session.add(claim)
    await uow.session.flush()
    await post_task(uow, task, settings, config)
    uow.emit(
        TaskClaimed(
            guild_id=guild_id,
            task_id=task.id,
            user_id=user_id,
            current_claims=task.current_claims,
        )
    )
    return claim_view(claim, task)


async def submit_proof(
    uow: UnitOfWork,
    *,
    guild_id: str,
    task_id: int,
    user_id: str,
    proof: str | None = None,
    attachments: list[str] | None = None,
) -> MemberTaskOut:
    """Submit (or, after a rejection, resubmit) proof: text and/or up to 5 attachment URLs."""
    config = await get_config(uow, guild_id)
    check_user(user_id)
    settings = await read_settings(uow, guild_id)
    urls = list(attachments or [])
    text_proof = check_proof(proof, urls, require_proof=settings.require_proof)
    claim = await get_claim_or_raise(
        uow, guild_id=guild_id, task_id=task_id, user_id=user_id, lock=True
    )
    status = claim.status
    if status in ("in_progress", "rejected") and as_utc(claim.deadline) <= uow.now:
        status = "expired"  # the scheduler has not come by yet
    if status not in ("in_progress", "rejected"):
        raise ClaimNotOpen(task_id=task_id, status=status, doing="submit proof for")
    claim.status = "submitted"
    claim.proof_text = text_proof
    claim.proof_urls = urls
    claim.submitted_at = uow.now
    claim.reviewed_at = None
    claim.reviewer_id = None
    claim.rejection_reason = None
    await uow.session.flush()
    task = await get_task_or_raise(uow, guild_id=guild_id, task_id=task_id)
    await post_proof(uow, claim, task, settings, config)
    uow.emit(
        TaskSubmitted(guild_id=guild_id, task_id=task_id, user_id=user_id, attachments=len(urls))
    )
    return claim_view(claim, task)


async def review_task(
    uow: UnitOfWork,
    *,
    guild_id: str,
    task_id: int,
    user_id: str,
    accept: bool,
    reviewer_id: str | None,
    reason: str | None = None,
) -> MemberTaskOut:
    """Accept (pay the reward once, grant the role) or reject (with a reason) a proof.

    ``reviewer_id`` None: the dashboard's local admin account, which is no Discord member.
    """
    config = await get_config(uow, guild_id)
    check_user(user_id)
    if reviewer_id is not None:
        check_user(reviewer_id)
    if reviewer_id == user_id:
        raise OwnProof
    reason = (reason or "").strip() or None
    if not accept and reason is None:
        raise InvalidInput("A rejection needs a reason for the member.", code="reason_required")
    claim = await get_claim_or_raise(uow, guild_id=guild_id, task_id=task_id, user_id=user_id)
    moved = await uow.session.execute(
        update(MemberTask)
        .where(MemberTask.id == claim.id, MemberTask.status == "submitted")
        .values(
            status="accepted" if accept else "rejected",
            reviewed_at=uow.now,
            reviewer_id=reviewer_id,
            rejection_reason=None if accept else reason,
            completed_at=uow.now if accept else None,
        )
        .returning(MemberTask.id),
        execution_options={"synchronize_session": False},
    )
    if moved.scalar_one_or_none() is None:
        current = await get_claim_or_raise(
            uow, guild_id=guild_id, task_id=task_id, user_id=user_id, lock=True
        )
        raise AlreadyReviewed(task_id=task_id, user_id=user_id, status=current.status)
    task = await get_task_or_raise(uow, guild_id=guild_id, task_id=task_id)
    transaction_id = None
    if accept and task.reward > 0:
        account = await ensure_account(
            uow, guild_id, user_id, starting_balance=config.starting_balance
        )
        mint = await lock_mint(uow, guild_id)
        posted = await posting.post(
            uow,
            guild_id=guild_id,
            type=TransactionType.TASK_REWARD,
            legs=transfer_legs(source=mint, target=account, amount=task.reward, counts=False),
            reason=f"Completed task: {task.name}",
            actor_id=reviewer_id,
        )
        transaction_id = posted.id
        await uow.session.execute(
            update(MemberTask)
            .where(MemberTask.id == claim.id)
            .values(transaction_id=transaction_id),
            execution_options={"synchronize_session": False},
        )
    if accept and task.role_id is not None:
        await enqueue_role_grants(
            uow,
            guild_id=guild_id,
            user_id=user_id,
            role_ids=[task.role_id],
            reason=f"guildbank: completed task {task.name}",
        )
    claim = await get_claim_or_raise(
        uow, guild_id=guild_id, task_id=task_id, user_id=user_id, lock=True
    )
    await post_proof(uow, claim, task, await read_settings(uow, guild_id), config)
    await dm_review(uow, claim, task, config)
    uow.emit(
        TaskReviewed(
            guild_id=guild_id,
            task_id=task_id,
            user_id=user_id,
            accepted=accept,
            reviewer_id=reviewer_id,
            reward=task.reward if accept else 0,
            transaction_id=transaction_id,
        )
    )
    return claim_view(claim, task)


async def abandon_task(
    uow: UnitOfWork, *, guild_id: str, task_id: int, user_id: str
) -> MemberTaskOut:
    """Give a claim up (in progress or rejected): its place is free again."""
    config = await get_config(uow, guild_id)
    check_user(user_id)
    await _lock_member(uow, guild_id, user_id)
    claim = await get_claim_or_raise(
        uow, guild_id=guild_id, task_id=task_id, user_id=user_id, lock=True
    )
    if claim.status not in ("in_progress", "rejected"):
        raise ClaimNotOpen(task_id=task_id, status=claim.status, doing="abandon")
    task = await get_task_or_raise(uow, guild_id=guild_id, task_id=task_id)
    view = claim_view(claim, task)
    had_proof = claim.submitted_at is not None
    await uow.session.delete(claim)
    await uow.session.execute(
        update(Task)
        .where(Task.id == task.id)
        .values(current_claims=Task.current_claims - 1, updated_at=uow.now),
        execution_options={"synchronize_session": False},
    )
    task = await get_task_or_raise(uow, guild_id=guild_id, task_id=task_id, lock=True)
    await post_task(uow, task, await read_settings(uow, guild_id), config)
    if had_proof:
        await delete_posts(uow, guild_id, [proof_key(view.id)])
    uow.emit(TaskAbandoned(guild_id=guild_id, task_id=task_id, user_id=user_id))
    return view
