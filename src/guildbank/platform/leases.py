"""Database leases: work that every web process runs but only one at a time may do.

A lease is a ``scheduler_leases`` row naming its owner until ``expires_at``. Taking it is an
insert-if-missing, then one conditional ``UPDATE … WHERE owner = me OR expires_at <= now``,
so of several processes exactly one holds it; when the holder dies its lease runs out and
another process takes over at its next pass. The task and shop expiry loops are
``LeasedLoop``s; the announcement scheduler takes its lease here too.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from abc import ABC, abstractmethod
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import update

from guildbank.platform.background import stop_task
from guildbank.platform.models.tasks import SchedulerLease
from guildbank.platform.uow import Services, unit_of_work
from guildbank.platform.upsert import insert_ignore

__all__ = ["LeasedLoop", "new_owner", "take_lease"]

log = structlog.get_logger(__name__)


def new_owner() -> str:
    """A name for this process's claim on leases: host, pid and a random suffix."""
    return f"{os.uname().nodename}:{os.getpid()}:{secrets.token_hex(3)}"


async def take_lease(services: Services, *, name: str, owner: str, seconds: float) -> bool:
    """Take or renew the lease ``name`` for ``owner``; False while another holds it."""
    async with unit_of_work(services) as uow:
        until = uow.now + timedelta(seconds=seconds)
        if await insert_ignore(
            uow.session,
            SchedulerLease,
            {"name": name, "owner": owner, "expires_at": until},
            ["name"],
        ):
            await uow.commit()
            return True
        taken = await uow.session.execute(
            update(SchedulerLease)
            .where(
                SchedulerLease.name == name,
                (SchedulerLease.owner == owner) | (SchedulerLease.expires_at <= uow.now),
            )
            .values(owner=owner, expires_at=until)
            .returning(SchedulerLease.name),
            execution_options={"synchronize_session": False},
        )
        won = taken.scalar_one_or_none() is not None
        await uow.commit()
        return won


class LeasedLoop(ABC):
    """A pass every ``every`` seconds in each web process; ``run_once`` (a subclass's) takes
    the lease ``lease_name`` first, so one process at a time does the work."""

    lease_name = ""
    # What a failed pass is called in the log ("shop expiry", "task expiry").
    label = ""

    def __init__(
        self,
        services: Services,
        *,
        every: float = 60.0,
        lease_seconds: float | None = None,
        owner: str | None = None,
    ) -> None:
        self.services = services
        self.every = every
        # Longer than a pass's interval, so a live owner renews before its lease runs out.
        self.lease_seconds = lease_seconds if lease_seconds is not None else every * 3
        self.owner = owner or new_owner()
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def holds_lease(self) -> bool:
        """Take or renew this loop's lease: False while another process holds it."""
        return await take_lease(
            self.services, name=self.lease_name, owner=self.owner, seconds=self.lease_seconds
        )

    @abstractmethod
    async def run_once(self) -> Any:
        """One pass: None when another process holds the lease."""

    async def run_forever(self) -> None:
        """Passes until ``stop``: a stop flag as well as the cancellation, since a database
        driver interrupted mid-call may swallow the ``CancelledError``."""
        while not self._stopping.is_set():
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # logged; the next pass retries
                log.warning("pass failed; retrying later", loop=self.label, error=repr(error))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.every)

    def start(self) -> None:
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self.run_forever(), name=self.lease_name)

    async def stop(self) -> None:
        self._stopping.set()
        task, self._task = self._task, None
        await stop_task(task)
