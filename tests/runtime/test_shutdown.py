"""SIGTERM is a graceful stop: in-flight requests finish, the bot closes its gateway, exit 0.

Real ``guildbank`` processes (the CLI) on a migrated SQLite file. The app gets one extra
route for the test, ``/test/slow``: it marks that it started, sleeps, then reads the
database through the app's services, so its 200 proves the services were still open when
it finished.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from guildbank.platform.migrate import upgrade
from tests.fakes.discord import FakeDiscord
from tests.fakes.ports import free_port

WAIT = 30.0  # generous: other test runs share this machine
SLOW_SECONDS = 3.0

LAUNCH = """
import asyncio, os, pathlib
from sqlalchemy import text
from guildbank.platform.uow import unit_of_work
from guildbank.runtime import runner
from guildbank.runtime.app import create_app

def with_slow_route(*args, **kwargs):
    app = create_app(*args, **kwargs)

    @app.get("/test/slow")
    async def slow() -> dict[str, int]:
        pathlib.Path(os.environ["SLOW_STARTED"]).touch()
        await asyncio.sleep(float(os.environ["SLOW_SECONDS"]))
        async with unit_of_work(app.state.api.services, read_only=True) as uow:
            value = (await uow.session.execute(text("SELECT 42"))).scalar_one()
        return {"read": value}

    return app

runner.create_app = with_slow_route
from guildbank.cli import app
app()
"""


async def _start(tmp_path: Path, command: str, **env: str) -> asyncio.subprocess.Process:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shutdown.db'}"
    upgrade(url)
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        LAUNCH,
        command,
        cwd=tmp_path,  # no stray .env
        env={
            **os.environ,
            "GUILDBANK_DATABASE_URL": url,
            "GUILDBANK_REDIS_URL": "",
            "GUILDBANK_LOG_LEVEL": "WARNING",
            "SLOW_STARTED": str(tmp_path / "slow-started"),
            "SLOW_SECONDS": str(SLOW_SECONDS),
            **env,
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
async def http(port: int) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=WAIT) as client:
        yield client


async def _until_up(http: httpx.AsyncClient, process: asyncio.subprocess.Process) -> None:
    async with asyncio.timeout(WAIT):
        while process.returncode is None:
            try:
                if (await http.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("the server exited before answering")


async def _until_refused(port: int) -> None:
    """Until a new connection is refused: the server stopped accepting."""
    async with asyncio.timeout(WAIT):
        while True:
            try:
                async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as fresh:
                    await fresh.get("/health")
            except httpx.ConnectError:
                return
            await asyncio.sleep(0.05)


async def _in_flight(http: httpx.AsyncClient, marker: Path) -> asyncio.Task[httpx.Response]:
    slow = asyncio.create_task(http.get("/test/slow"))
    async with asyncio.timeout(WAIT):
        while not await asyncio.to_thread(marker.exists):
            assert not slow.done(), slow.result().text
            await asyncio.sleep(0.02)
    return slow


async def _exit_code(process: asyncio.subprocess.Process) -> tuple[int, str]:
    async with asyncio.timeout(WAIT):
        output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_sigterm_lets_an_in_flight_request_finish_then_exits_0(
    tmp_path: Path, port: int, http: httpx.AsyncClient
) -> None:
    process = await _start(tmp_path, "web", GUILDBANK_PORT=str(port))
    try:
        await _until_up(http, process)
        slow = await _in_flight(http, tmp_path / "slow-started")
        process.send_signal(signal.SIGTERM)
        await _until_refused(port)  # no new connections once stopping
        assert not slow.done()  # ... while the one in flight is still running
        response = await slow
        code, output = await _exit_code(process)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert response.status_code == 200, response.text
    assert response.json() == {"read": 42}
    assert code == 0, output
    assert "Traceback" not in output


async def test_sigterm_closes_the_embedded_bots_gateway_then_exits_0(
    tmp_path: Path, port: int, http: httpx.AsyncClient
) -> None:
    async with FakeDiscord() as discord:
        guild = discord.add_guild(name="Shutdown Club")
        process = await _start(
            tmp_path,
            "run",
            GUILDBANK_PORT=str(port),
            GUILDBANK_DISCORD_TOKEN=discord.token,
            GUILDBANK_DISCORD_API_URL=discord.rest_url,
            GUILDBANK_DISCORD_COMMAND_GUILDS=f"[{guild.id}]",
        )
        try:
            await _until_up(http, process)
            await discord.wait_for_shards(1, timeout=WAIT)
            slow = await _in_flight(http, tmp_path / "slow-started")
            process.send_signal(signal.SIGTERM)
            response = await slow
            code, output = await _exit_code(process)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        sessions = list(discord.gateway.sessions.values())
    assert response.status_code == 200, response.text
    assert code == 0, output
    assert "Traceback" not in output
    assert sessions
    assert all(session.ended for session in sessions)  # closed by the bot (1000), not dropped
