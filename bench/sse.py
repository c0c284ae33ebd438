"""SSE fan-out: how long one transfer event takes to reach 1, 100 and 1,000 subscribers, and
the server's CPU per delivery.

Run from the repository root: ``uv run python -m bench.sse`` (``--quick``: 1 and 100).

A real ``guildbank web`` process serves a fresh SQLite file (the embedded mode, where the
stream and the writer share one process). This process opens N ``/api/stream`` connections
(aiohttp), waits for each ``ready``, then sends ``--rounds`` transfers one at a time; each
subscriber notes when the transfer's event arrives. Latency is arrival minus the moment the
transfer was sent, so it includes the write, the relay and this process's own reading of N
sockets. The reference, in the same run, is the same measure with one subscriber. Server CPU
is read from /proc before and after the rounds; less what the rounds cost with one subscriber,
divided by the extra deliveries, it gives the cost of one delivery (the event is serialised
once, then written to every subscriber). Nothing is
asserted on time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import aiohttp

from bench.sqlite_load import FIRST_USER_ID, GUILD_ID, ROOT, SERVE, prepare, wait_until_up
from bench.stats import percentile
from tests.fakes.ports import free_port

HOST = "127.0.0.1"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


@contextlib.contextmanager
def server(database_url: str, cwd: str) -> Iterator[tuple[str, int]]:
    """``guildbank web`` in its own process: its base URL and pid."""
    port = free_port()
    env = {
        **os.environ,
        "GUILDBANK_DATABASE_URL": database_url,
        "GUILDBANK_REDIS_URL": "",
        "GUILDBANK_PORT": str(port),
        "GUILDBANK_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT / "src"),
    }
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE, "web"], env=env, cwd=cwd, stdout=subprocess.DEVNULL
    )
    try:
        yield f"http://{HOST}:{port}", process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Subscriber:
    """One stream; ``arrivals[transaction id]`` is when its transfer event came."""

    def __init__(self) -> None:
        self.ready = asyncio.Event()
        self.arrivals: dict[int, float] = {}
        self.wanted: dict[int, asyncio.Event] = {}

    async def listen(self, session: aiohttp.ClientSession, base: str) -> None:
        headers = {"Accept": "text/event-stream"}
        params = {"guilds": GUILD_ID, "events": "transfer"}
        async with session.get(f"{base}/api/stream", headers=headers, params=params) as response:
            async for raw in response.content:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: ready"):
                    self.ready.set()
                elif line.startswith("data: ") and '"transaction_id":' in line:
                    tail = line.split('"transaction_id":', 1)[1]
                    self.arrivals[int(tail.split(",", 1)[0].split("}", 1)[0])] = time.perf_counter()


async def measure(
    base: str, pid: int, token: str, subscribers: int, rounds: int
) -> dict[str, float]:
    auth = {"Authorization": f"Bearer {token}"}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(headers=auth, connector=connector) as session:
        listeners = [Subscriber() for _ in range(subscribers)]
        tasks = [asyncio.create_task(s.listen(session, base)) for s in listeners]
        await asyncio.wait_for(asyncio.gather(*(s.ready.wait() for s in listeners)), 120)
        latencies: list[float] = []
        cpu_before = cpu_seconds(pid)
        for i in range(rounds):
            body = {"giver_id": str(FIRST_USER_ID + 1), "receiver_id": str(FIRST_USER_ID + 2)}
            sent = time.perf_counter()
            async with session.post(
                f"{base}/api/guilds/{GUILD_ID}/bytes/transactions",
                json={**body, "amount": 1},
                headers={"Idempotency-Key": f"sse-{subscribers}-{i}-{time.time_ns()}"},
            ) as response:
                assert response.status == 200, await response.text()
                transaction = (await response.json())["id"]
            deadline = time.perf_counter() + 30
            while any(transaction not in s.arrivals for s in listeners):
                assert time.perf_counter() < deadline, "an event never arrived"
                await asyncio.sleep(0.002)
            latencies += [s.arrivals[transaction] - sent for s in listeners]
        cpu = cpu_seconds(pid) - cpu_before
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "cpu_ms_per_round": cpu / rounds * 1000,
    }


async def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 and 100 subscribers, 5 rounds")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args(argv)
    sizes = (1, 100) if args.quick else (1, 100, 1000)
    rounds = 5 if args.quick else args.rounds
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/sse.db"
        token = await prepare(url, members=2)
        with server(url, folder) as (base, pid):
            async with aiohttp.ClientSession() as session:
                await wait_until_up(session, base)
            results = {n: await measure(base, pid, token, n, rounds) for n in sizes}
    reference, alone = results[1]["p50_ms"], results[1]["cpu_ms_per_round"]
    print(f"SSE fan-out, {rounds} transfers each (embedded SQLite server, keyed transfers)")
    print("subscribers   p50 ms   p99 ms   p99/p50(1 sub)   server CPU µs per extra delivery")
    for n, r in results.items():
        # The transfer's own CPU is what one subscriber costs; the rest is fan-out.
        extra = (r["cpu_ms_per_round"] - alone) * 1000 / (n - 1) if n > 1 else 0.0
        print(
            f"{n:>11}   {r['p50_ms']:6.1f}   {r['p99_ms']:6.1f}   {r['p99_ms'] / reference:14.1f}"
            f"   {extra:10.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
