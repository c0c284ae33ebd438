"""A small Server-Sent Events reader for tests of ``/api/stream`` over a real connection."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class SseEvent:
    event: str
    data: str
    id: str = ""

    @property
    def json(self) -> Any:
        return json.loads(self.data)


class SseReader:
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def next(self, timeout: float = 2.0) -> SseEvent:  # noqa: ASYNC109 - a test deadline
        """The next event (pings and other comments skipped); TimeoutError when none comes."""
        fields: dict[str, list[str]] = {}
        async with asyncio.timeout(timeout):
            async for line in self._lines:
                if not line:
                    if fields:
                        return SseEvent(
                            fields.get("event", ["message"])[0],
                            "\n".join(fields.get("data", [])),
                            fields.get("id", [""])[0],
                        )
                    continue
                if line.startswith(":"):
                    continue
                name, _, value = line.partition(":")
                fields.setdefault(name, []).append(value.removeprefix(" "))
        raise EOFError("the stream ended")

    async def messages(self, count: int, timeout: float = 2.0) -> list[Any]:  # noqa: ASYNC109
        return [(await self.next(timeout)).json for _ in range(count)]

    async def nothing_within(self, seconds: float) -> None:
        """Assert no event arrives for ``seconds``."""
        try:
            event = await self.next(seconds)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected event {event}")


@asynccontextmanager
async def open_stream(
    client: httpx.AsyncClient, params: dict[str, str] | None = None, **headers: str
) -> AsyncIterator[SseReader]:
    """Open ``/api/stream`` and wait for its ``ready`` event (the subscription is live)."""
    request_headers = {"Accept": "text/event-stream", **headers}
    async with client.stream(
        "GET", "/api/stream", params=params or {}, headers=request_headers
    ) as response:
        assert response.status_code == 200, (await response.aread()).decode()
        assert response.headers["content-type"].startswith("text/event-stream")
        reader = SseReader(response)
        ready = await reader.next()
        assert ready.event == "ready", ready
        yield reader
