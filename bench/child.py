"""Talking to a benchmark's child process (the fake Discord runs in one, as Discord would be
elsewhere) over a ``multiprocessing`` pipe, without blocking the event loop and without
waiting forever on a child that died."""

from __future__ import annotations

import asyncio
import multiprocessing.process
from multiprocessing.connection import Connection
from typing import Any

__all__ = ["ask", "receive"]


async def receive(
    pipe: Connection, process: multiprocessing.process.BaseProcess, *, seconds: float
) -> Any:
    """The child's next answer within ``seconds``; fails if the child died or answered
    ``("error", why)``."""
    async with asyncio.timeout(seconds):
        while not pipe.poll():
            if not process.is_alive():
                msg = f"the fake Discord process exited with {process.exitcode}"
                raise RuntimeError(msg)
            await asyncio.sleep(0.01)
    answer = pipe.recv()
    if isinstance(answer, tuple) and answer and answer[0] == "error":
        msg = f"the fake Discord process failed: {answer[1]}"
        raise RuntimeError(msg)
    return answer


async def ask(
    pipe: Connection,
    process: multiprocessing.process.BaseProcess,
    command: str,
    argument: object = None,
    *,
    seconds: float,
) -> Any:
    """Send ``(command, argument)`` and wait up to ``seconds`` for the answer."""
    pipe.send((command, argument))
    return await receive(pipe, process, seconds=seconds)
