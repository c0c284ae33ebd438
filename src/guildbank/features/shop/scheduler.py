"""The shop's expiry scheduler: runs in every web process, works in one at a time.

The same shape as the task expiry (``features/tasks/scheduler.py``): each pass first takes (or
renews) the database lease ``shop.expiry`` (``platform/leases.py``); the holder then removes
the Discord posts of items that expired (``expiry.expire_items``) in a unit of work of its own.
"""

from __future__ import annotations

import structlog

from guildbank.features.shop.expiry import expire_items
from guildbank.platform.leases import LeasedLoop
from guildbank.platform.uow import unit_of_work

__all__ = ["LEASE_NAME", "ShopExpiryScheduler"]

LEASE_NAME = "shop.expiry"
log = structlog.get_logger(__name__)


class ShopExpiryScheduler(LeasedLoop):
    """Handle expired items every ``every`` seconds, while this process holds the lease."""

    lease_name = LEASE_NAME
    label = "shop expiry"

    async def run_once(self) -> list[int] | None:
        """One pass: None when another process holds the lease, else the items handled."""
        if not await self.holds_lease():
            return None
        async with unit_of_work(self.services) as uow:
            expired = await expire_items(uow)
            await uow.commit()
        if expired:
            log.info("shop items expired", items=len(expired), owner=self.owner)
        return expired
