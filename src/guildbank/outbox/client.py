"""The outbox API as the bot's worker (and integrators) call it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from guildbank.bot.transport import ApiTransport
from guildbank.outbox.schemas import BacklogOut, JobOut, LeasedJob, ReportOut, StatusCounts

__all__ = ["OutboxClient"]


class OutboxClient(ApiTransport):
    """Typed outbox methods; a mixin over the transport, combined in ``GuildbankClient``."""

    async def lease_jobs(
        self,
        *,
        owner: str,
        shard_ids: Sequence[int],
        shard_count: int,
        limit: int = 20,
        wait_seconds: float = 0.0,
    ) -> list[LeasedJob]:
        """Due jobs of these shards, leased to ``owner``; waits up to ``wait_seconds`` for
        some when none is due (keep it below the HTTP client's timeout)."""
        body = {
            "owner": owner,
            "shard_ids": list(shard_ids),
            "shard_count": shard_count,
            "limit": limit,
            "wait_seconds": wait_seconds,
        }
        return await self._list(LeasedJob, "POST", "/api/outbox/lease", json=body)

    async def job_done(
        self, job_id: int, *, lease: str, revision: int, result: dict[str, Any] | None
    ) -> JobOut:
        body = {"lease": lease, "revision": revision, "result": result}
        return await self._model(JobOut, "POST", f"/api/outbox/jobs/{job_id}/done", json=body)

    async def job_failed(
        self,
        job_id: int,
        *,
        lease: str,
        error: str,
        retry_after: float | None = None,
        permanent: bool = False,
    ) -> JobOut:
        body = {"lease": lease, "error": error, "retry_after": retry_after, "permanent": permanent}
        return await self._model(JobOut, "POST", f"/api/outbox/jobs/{job_id}/failed", json=body)

    async def report_jobs(self, reports: Sequence[dict[str, Any]]) -> list[ReportOut]:
        """Outcomes of a batch in one call (``ReportIn`` fields each)."""
        return await self._list(
            ReportOut, "POST", "/api/outbox/reports", json={"reports": list(reports)}
        )

    async def create_job(
        self,
        guild_id: str,
        *,
        kind: str,
        payload: dict[str, Any],
        dedupe_key: str | None = None,
        idempotency_key: str | None = None,
    ) -> JobOut:
        """Ask for a Discord side effect; an open job with the same ``dedupe_key`` absorbs it."""
        body = {"kind": kind, "payload": payload, "dedupe_key": dedupe_key}
        return await self._model(
            JobOut,
            "POST",
            f"/api/guilds/{guild_id}/outbox/jobs",
            json=body,
            idempotency_key=idempotency_key,
        )

    async def outbox_jobs(
        self, guild_id: str, *, status: Sequence[str] = (), limit: int = 50
    ) -> list[JobOut]:
        params: dict[str, Any] = {"limit": limit}
        if status:
            params["status"] = list(status)
        return await self._list(JobOut, "GET", f"/api/guilds/{guild_id}/outbox/jobs", params=params)

    async def outbox_counts(self, guild_id: str) -> StatusCounts:
        return await self._model(StatusCounts, "GET", f"/api/guilds/{guild_id}/outbox/counts")

    async def retry_job(self, guild_id: str, job_id: int) -> JobOut:
        return await self._model(
            JobOut, "POST", f"/api/guilds/{guild_id}/outbox/jobs/{job_id}/retry"
        )

    async def outbox_backlog(self) -> BacklogOut:
        return await self._model(BacklogOut, "GET", "/api/outbox/backlog")
