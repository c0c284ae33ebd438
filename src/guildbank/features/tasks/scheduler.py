"""The expiry scheduler: runs in every web process, works in one at a time.

Each pass first takes (or renews) the database lease ``tasks.expiry``
(``platform/leases.py``); the holder then expires what is due (``expiry.expire_due``) in a
unit of work of its own.
"""

from __future__ import annotations

import structlog

from guildbank.features.tasks.expiry import ExpiryReport, expire_due
from guildbank.platform.leases import LeasedLoop, take_lease
from guildbank.platform.uow import unit_of_work

__all__ = ["LEASE_NAME", "ExpiryScheduler", "take_lease"]

LEASE_NAME = "tasks.expiry"
log = structlog.get_logger(__name__)


class ExpiryScheduler(LeasedLoop):
    """Expire due tasks and claims every ``every`` seconds, while this process holds the lease."""

    lease_name = LEASE_NAME
    label = "task expiry"

    async def run_once(self) -> ExpiryReport | None:
        """One pass: None when another process holds the lease, else what expired."""
        if not await self.holds_lease():
            return None
        async with unit_of_work(self.services) as uow:
            report = await expire_due(uow)
            await uow.commit()
        if report.tasks or report.claims:
            log.info(
                "tasks expired",
                tasks=len(report.tasks),
                claims=len(report.claims),
                owner=self.owner,
            )
        return report
