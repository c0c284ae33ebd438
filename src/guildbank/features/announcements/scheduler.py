"""The announcement scheduler: runs in every web process, works in one at a time.

Like the task expiry (``features/tasks/scheduler.py``), each pass first takes or renews a
database lease (``scheduler_leases``, name ``announcements.publish``); only the holder
publishes due announcements. Publishing is itself a conditional update per announcement,
so even two holders (a lease that ran out mid-pass) post each announcement once.

"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from guildbank.features.announcements.publishing import publish_due
from guildbank.platform.background import stop_task
from guildbank.platform.leases import new_owner, take_lease
from guildbank.platform.uow import Services, unit_of_work

__all__ = ["LEASE_NAME", "AnnouncementScheduler", "take_lease"]

LEASE_NAME = "announcements.publish"
STOP_GRACE_SECONDS = 10.0
log = structlog.get_logger(__name__)


class AnnouncementScheduler:
    """Publish due announcements every ``every`` seconds while holding the lease."""

    def __init__(
        self,
        services: Services,
        *,
        every: float = 5.0,
        lease_seconds: float | None = None,
        owner: str | None = None,
    ) -> None:
        self.services = services
        self.every = every
        self.lease_seconds = lease_seconds if lease_seconds is not None else max(15.0, every * 3)
        self.owner = owner or new_owner()
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def run_once(self) -> list[int] | None:
        """One pass: None when another process holds the lease, else the ids posted."""
        if not await take_lease(
            self.services, name=LEASE_NAME, owner=self.owner, seconds=self.lease_seconds
        ):
            return None
        async with unit_of_work(self.services) as uow:
            posted = await publish_due(uow)
            await uow.commit()
        if posted:
            log.info("scheduled announcements posted", count=len(posted), owner=self.owner)
        return posted

    async def run_forever(self) -> None:
        # The first pass waits one interval: a process starting (or a test app living a
        # second) does not compete with the other startup writers for SQLite's write lock.
        while not await self._stopped_within(self.every):
            try:
                await self.run_once()
            except Exception as error:  # logged; the next pass retries
                log.warning("announcement pass failed; retrying later", error=repr(error))

    async def _stopped_within(self, seconds: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
        return self._stopping.is_set()

    def start(self) -> None:
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self.run_forever())

    async def stop(self) -> None:
        """Let the pass under way finish (cancelling a statement half-way can leave an
        SQLite connection that never closes), then end; cancel only if it hangs."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), STOP_GRACE_SECONDS)
        except TimeoutError:
            await stop_task(task)
