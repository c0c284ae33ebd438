"""Stopping a background task for sure.

A cancellation that lands inside a database driver's call can be swallowed (aiosqlite runs
the call on its own thread; SQLAlchemy may turn the interruption into a ``PendingRollbackError``
that the task's retry loop catches and logs). Such a task then sleeps until its next pass,
and a shutdown that awaits it hangs. ``stop_task`` cancels again until the task has ended.
"""

from __future__ import annotations

import asyncio
import contextlib

__all__ = ["stop_task"]

# How often a task that swallowed its cancellation is cancelled again.
RECANCEL_SECONDS = 0.2


async def stop_task(task: asyncio.Task[object] | None) -> None:
    """Cancel ``task`` and wait for it to end, cancelling again while it runs on."""
    if task is None:
        return
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=RECANCEL_SECONDS)
    with contextlib.suppress(asyncio.CancelledError, Exception):
        task.result()
