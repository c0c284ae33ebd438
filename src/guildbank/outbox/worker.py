"""The bot's outbox worker: lease due jobs through the API, perform them, report back.

It never touches the database: leasing and reporting are API calls (``OutboxClient``). The
lease request is a long poll, answered at once when jobs are due and otherwise as soon as an
``outbox.ready`` event of this worker's shards reaches the API's bus (or a retry comes due),
so a change made in the dashboard reaches Discord in about one round trip, and a bot that
was offline catches up when it starts. Each leased job runs at most once per lease; its
outcome is reported with the lease, and a report the API refuses (the lease was lost) is
dropped: whoever holds the job now records it.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Sequence

import structlog

from guildbank.bot.transport import ApiError, ApiUnavailable
from guildbank.outbox.client import OutboxClient
from guildbank.outbox.executor import Executor, Outcome
from guildbank.outbox.schemas import LeasedJob

__all__ = ["OutboxWorker"]

log = structlog.get_logger(__name__)
REPORT_DELAYS = (0.0, 0.5, 2.0)


class OutboxWorker:
    """Runs the jobs of ``shard_ids`` (of ``shard_count``) until closed."""

    def __init__(
        self,
        api: OutboxClient,
        executor: Executor,
        *,
        shard_ids: Sequence[int] = (0,),
        shard_count: int = 1,
        wait_seconds: float = 8.0,
        concurrency: int = 8,
        batch: int = 50,
        job_timeout: float = 30.0,
        owner: str | None = None,
    ) -> None:
        self.api = api
        self.executor = executor
        self.shard_ids = list(shard_ids)
        self.shard_count = shard_count
        self.wait_seconds = wait_seconds
        self.concurrency = concurrency
        self.batch = batch  # jobs leased (and reported) per round trip
        self.job_timeout = job_timeout
        self.owner = owner or f"bot-{os.getpid()}-{secrets.token_hex(3)}"
        self.performed = 0  # jobs whose outcome this worker reported (tests, benchmarks)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name=f"outbox worker {self.owner}")

    async def close(self) -> None:
        """Stop at once; jobs in flight are left to their lease (another worker takes over).

        The cancellation is repeated until the task ends: one that lands inside a database
        driver call (the in-process API's long poll) can be absorbed there.
        """
        task, self._task = self._task, None
        while task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=0.5)
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)

    async def run(self) -> None:
        backoff = 0.0
        while True:
            try:
                jobs = await self.api.lease_jobs(
                    owner=self.owner,
                    shard_ids=self.shard_ids,
                    shard_count=self.shard_count,
                    limit=self.batch,
                    wait_seconds=self.wait_seconds,
                )
            except ApiError as error:
                backoff = min(max(backoff * 2, 0.5), 30.0)
                log.warning("outbox lease failed", detail=error.detail, retry_in=backoff)
                await asyncio.sleep(backoff)
                continue
            except Exception:  # a bug (or an in-process API crash) must not stop the worker
                backoff = min(max(backoff * 2, 0.5), 30.0)
                log.exception("outbox lease crashed", retry_in=backoff)
                await asyncio.sleep(backoff)
                continue
            backoff = 0.0
            await self.run_batch(jobs)

    async def run_batch(self, jobs: Sequence[LeasedJob]) -> None:
        """Perform leased jobs, ``concurrency`` at a time (no two share a key: coalesced),
        then report every outcome in one request."""
        if not jobs:
            return
        gate = asyncio.Semaphore(self.concurrency)

        async def one(job: LeasedJob) -> Outcome:
            async with gate:
                return await self.execute(job)

        outcomes = await asyncio.gather(*(one(job) for job in jobs))
        await self._report(list(zip(jobs, outcomes, strict=True)))

    async def execute(self, job: LeasedJob) -> Outcome:
        """The job in Discord, judged; never raises (a crash fails the job, visibly)."""
        try:
            async with asyncio.timeout(self.job_timeout):
                return await self.executor.run(job)
        except TimeoutError:
            return Outcome(error=f"Discord took longer than {self.job_timeout:g} s")
        except Exception as error:  # a bug must not stop the worker: the job shows it
            log.exception("outbox job crashed", job_id=job.id, kind=job.kind)
            return Outcome(error=f"The bot crashed on this job: {error!r}", permanent=True)

    async def _report(self, done: list[tuple[LeasedJob, Outcome]]) -> None:
        reports = [
            {"job_id": job.id, "lease": job.lease, "revision": job.revision, "result": o.result}
            if o.done
            else {
                "job_id": job.id,
                "lease": job.lease,
                "error": o.error,
                "retry_after": o.retry_after,
                "permanent": o.permanent,
            }
            for job, o in done
        ]
        for delay in REPORT_DELAYS:
            if delay:
                await asyncio.sleep(delay)
            try:
                answers = await self.api.report_jobs(reports)
            except ApiUnavailable as error:
                log.warning("outbox report failed; retrying", detail=error.detail)
                continue
            except Exception:  # an in-process API crash: logged, the leases decide what next
                log.exception("outbox report crashed", jobs=[job.id for job, _ in done])
                return
            self._note(done, {answer.job_id: answer.refused for answer in answers})
            return
        log.warning(
            "outbox report lost: the jobs run again after their lease",
            jobs=[job.id for job, _ in done],
        )

    def _note(self, done: list[tuple[LeasedJob, Outcome]], refused: dict[int, str | None]) -> None:
        for job, outcome in done:
            if refused.get(job.id):  # stale_lease: another worker holds the job now
                log.info("outbox report refused", job_id=job.id, code=refused[job.id])
                continue
            self.performed += 1
            if not outcome.done:
                log.info(
                    "outbox job failed",
                    job_id=job.id,
                    kind=job.kind,
                    error=outcome.error,
                    permanent=outcome.permanent,
                )
