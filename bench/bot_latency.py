"""The bot's interaction latency and message-event throughput, against the fake Discord.

Run with ``make bench`` or ``uv run python bench/bot_latency.py [--help]``. Not a test: it
prints numbers (and, with ``--profile``, where the time goes) and asserts nothing.

Two processes, as in production where Discord is elsewhere:

* this process runs the real bot (``guildbank.bot.app.create_bot``: hikari GatewayBot +
  lightbulb) and the API in-process (``GuildbankClient.in_process``) over a fresh SQLite
  database;
* a child process runs ``tests.fakes.discord.FakeDiscord`` (REST + gateway) and drives it.

Measured:

1. **Interaction latency**: ``/bytes balance`` dispatched by the fake gateway (timer starts
   just before the INTERACTION_CREATE is built and sent) until the fake received the bot's
   callback; sequential, ``--commands`` times after a warm-up. Includes the API call and a
   SQLite read. Reports p50/p90/p99/max.
2. **Message events through the gateway**: ``--members`` members each claim their daily (a
   warm memo), then the fake sends ``--messages`` MESSAGE_CREATE events from them as fast as
   it can (frames compressed before the clock starts); measured from the first frame sent to
   the last event handled by ``DailyListener`` (no API call: every member already claimed).
3. **hikari dispatch of prebuilt events** (no websocket, zlib, JSON or deserialization):
   ``bot.dispatch(event)`` per event, until the listener handled all of them.
4. **The listener alone**: ``await DailyListener.on_message(event)`` on prebuilt events.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import importlib
import io
import json
import multiprocessing
import os
import platform
import pstats
import secrets
import statistics
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import hikari

from guildbank.app import create_app
from guildbank.bot.app import GuildbankBot, create_bot
from guildbank.client import GuildbankClient
from guildbank.db.migrate import upgrade
from guildbank.services.runtime import build_services
from guildbank.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 600.0


def _fake_discord() -> Any:
    """``tests.fakes.discord`` (test code, importable from the repository root)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("tests.fakes.discord")


# --------------------------------------------------------------------------- the Discord side


def discord_process(pipe: Connection, members: int) -> None:
    asyncio.run(_discord_main(pipe, members))


async def _discord_main(pipe: Connection, members: int) -> None:
    fake = _fake_discord()
    async with fake.FakeDiscord() as discord:
        discord.echo_bot_messages = False
        guild = discord.add_guild(name="Bench")
        ids = [discord.add_member(guild.id, username=f"member{i}").id for i in range(members)]
        channel = discord.default_channel(guild.id).id
        pipe.send({"token": discord.token, "rest_url": discord.rest_url, "guild": guild.id})
        while True:
            command, argument = await asyncio.to_thread(pipe.recv)
            if command == "latency":
                pipe.send(await _latencies(discord, guild.id, ids, int(argument)))
            elif command == "warm":
                for user_id in ids:
                    await discord.send_message(guild.id, channel, user_id, "good morning")
                pipe.send(len(ids))
            elif command == "samples":
                author = discord.users[ids[0]]
                pipe.send([discord.make_message(channel, author, "hi") for _ in range(2)])
            elif command == "blast":
                pipe.send(await _blast(discord, channel, ids, int(argument)))
            else:
                pipe.send("bye")
                return


async def _latencies(discord: Any, guild_id: int, ids: list[int], count: int) -> list[float]:
    samples = []
    for n in range(count):
        since = discord.mark()
        started = time.perf_counter()
        interaction = await discord.slash_command(guild_id, ids[n % len(ids)], "bytes balance")
        await discord.wait_for_call(
            "POST", rf"/interactions/{interaction.id}/[^/]+/callback", since=since, timeout=10
        )
        samples.append(time.perf_counter() - started)
    return samples


async def _blast(discord: Any, channel: int, ids: list[int], count: int) -> dict[str, float]:
    """Send ``count`` MESSAGE_CREATE frames on shard 0 as fast as the websocket takes them.

    The frames are built and compressed (in order, on the connection's zlib stream) before
    the clock starts, holding the connection's lock so no heartbeat ACK interleaves.
    """
    session = discord.gateway.session_for_shard(0)
    connection = session.connection
    authors = [discord.users[i] for i in ids]
    async with connection._lock:
        frames = []
        for n in range(count):
            message = discord.make_message(channel, authors[n % len(authors)], "chatter")
            discord.messages.pop(int(message["id"]))  # keep the fake's memory flat
            session.seq += 1
            raw = json.dumps({"op": 0, "s": session.seq, "t": "MESSAGE_CREATE", "d": message})
            deflate = connection._deflate
            frames.append(deflate.compress(raw.encode()) + deflate.flush(zlib.Z_SYNC_FLUSH))
        cpu = time.process_time()
        first = time.monotonic()
        for frame in frames:
            await connection.ws.send_bytes(frame)
        last = time.monotonic()
    return {"first": first, "last": last, "cpu": time.process_time() - cpu}


# --------------------------------------------------------------------------- the bot side


class Counter:
    """Counts events the daily listener finished, noting when a target is reached."""

    def __init__(self, gb: GuildbankBot) -> None:
        self.count = 0
        self.target = -1
        self.reached_at = 0.0
        self.done = asyncio.Event()
        handler = gb.daily.on_message

        async def counted(event: hikari.GuildMessageCreateEvent) -> None:
            await handler(event)
            self.count += 1
            if self.count == self.target:
                self.reached_at = time.monotonic()
                self.done.set()

        gb.bot.unsubscribe(hikari.GuildMessageCreateEvent, handler)
        gb.bot.subscribe(hikari.GuildMessageCreateEvent, counted)

    def expect(self, more: int) -> None:
        self.target = self.count + more
        self.done.clear()

    async def wait(self) -> float:
        async with asyncio.timeout(TIMEOUT):
            await self.done.wait()
        return self.reached_at


async def _ask(pipe: Connection, command: str, argument: object = None) -> Any:
    pipe.send((command, argument))
    return await asyncio.to_thread(pipe.recv)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _profiled(enabled: bool) -> tuple[Callable[[], None], Callable[[], str]]:
    profile = cProfile.Profile()

    def start() -> None:
        if enabled:
            profile.enable()

    def report() -> str:
        if not enabled:
            return ""
        profile.disable()
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(22)
        return out.getvalue()

    return start, report


async def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}"
        upgrade(url)
        settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
        services = build_services(settings)
        key = secrets.token_urlsafe(24)
        app = create_app(settings, services, internal_key=key)

        parent, child = multiprocessing.get_context("spawn").Pipe()
        process = multiprocessing.get_context("spawn").Process(
            target=discord_process, args=(child, args.members), daemon=True
        )
        process.start()
        info = await asyncio.to_thread(parent.recv)
        api = GuildbankClient.in_process(app, key)
        guild = str(info["guild"])
        await api.register_guild(guild, "Bench")
        await api.update_config(guild, {"rate_limit_per_minute": 0})

        gb = await create_bot(
            info["token"],
            GuildbankClient.in_process(app, key),
            rest_url=info["rest_url"],
            command_guilds=[info["guild"]],
        )
        counter = Counter(gb)
        available = asyncio.Event()

        async def on_available(_: hikari.GuildAvailableEvent) -> None:
            available.set()

        gb.bot.subscribe(hikari.GuildAvailableEvent, on_available)
        await gb.start()
        async with asyncio.timeout(30):
            await available.wait()
        try:
            # 1. interaction latency
            await _ask(parent, "latency", args.warmup)
            samples = await _ask(parent, "latency", args.commands)
            results["latency_ms"] = {
                "commands": len(samples),
                "p50": 1000 * _percentile(samples, 0.50),
                "p90": 1000 * _percentile(samples, 0.90),
                "p99": 1000 * _percentile(samples, 0.99),
                "max": 1000 * max(samples),
                "mean": 1000 * statistics.fmean(samples),
            }

            # 2. message events through the gateway, memo warm
            counter.expect(args.members)
            await _ask(parent, "warm")
            await counter.wait()
            async with asyncio.timeout(60):
                while gb.daily.api_calls < args.members or gb.daily._in_flight:
                    await asyncio.sleep(0.05)  # the claims' API calls finish after handling
            calls_before = gb.daily.api_calls
            start_profile, report = _profiled(args.profile)
            counter.expect(args.messages)
            cpu = time.process_time()
            start_profile()
            blast = await _ask(parent, "blast", args.messages)
            handled_at = await counter.wait()
            bot_cpu = time.process_time() - cpu
            results["gateway"] = {
                "events": args.messages,
                "seconds": handled_at - blast["first"],
                "events_per_second": args.messages / (handled_at - blast["first"]),
                "fake_send_seconds": blast["last"] - blast["first"],
                "bot_cpu_us_per_event": 1e6 * bot_cpu / args.messages,
                "api_calls_during": gb.daily.api_calls - calls_before,
            }
            results["gateway_profile"] = report()

            # 3. hikari dispatch of prebuilt events; 4. the listener alone
            shard = gb.bot.shards[0]
            factory = gb.bot.event_factory
            samples_payloads = await _ask(parent, "samples")
            member_ids = [m.id for m in gb.bot.cache.get_members_view_for_guild(int(guild)).values()]
            events = []
            for n in range(args.messages):
                payload = dict(samples_payloads[n % 2])
                user = gb.bot.cache.get_member(int(guild), member_ids[n % len(member_ids)])
                assert user is not None
                payload["author"] = {**payload["author"], "id": str(user.id), "bot": user.is_bot}
                payload["id"] = str(int(payload["id"]) + n)
                events.append(factory.deserialize_message_create_event(shard, payload))
            humans = [e for e in events if isinstance(e, hikari.GuildMessageCreateEvent)]

            counter.expect(len(humans))
            started = time.monotonic()
            for event in humans:
                gb.bot.dispatch(event)
            dispatched = await counter.wait()
            results["dispatch"] = {
                "events": len(humans),
                "events_per_second": len(humans) / (dispatched - started),
            }

            listener = gb.daily.on_message
            start_profile, report = _profiled(args.profile)
            start_profile()
            started = time.perf_counter()
            for event in humans:
                await listener(event)
            elapsed = time.perf_counter() - started
            results["listener"] = {
                "events": len(humans),
                "events_per_second": len(humans) / elapsed,
                "us_per_event": 1e6 * elapsed / len(humans),
            }
            results["listener_profile"] = report()
            results["api_calls_total"] = gb.daily.api_calls
        finally:
            await _ask(parent, "stop")
            process.join(10)
            await gb.close()
            await api.aclose()
            await services.bus.close()
            await services.engine.dispose()
    return results


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            models = [line.split(":", 1)[1].strip() for line in info if "model name" in line]
        cpu = f"{models[0]} ×{len(models)}" if models else cpu
    except OSError:
        pass
    return (
        f"{cpu}, Python {platform.python_version()}, hikari {hikari.__version__}, "
        f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commands", type=int, default=1000, help="timed /bytes balance")
    parser.add_argument("--warmup", type=int, default=50, help="untimed commands first")
    parser.add_argument("--members", type=int, default=100, help="members who claimed")
    parser.add_argument("--messages", type=int, default=50_000, help="MESSAGE_CREATE events")
    parser.add_argument("--profile", action="store_true", help="cProfile the hot phases")
    args = parser.parse_args()
    results = asyncio.run(run(args))
    latency, gateway = results["latency_ms"], results["gateway"]
    print(f"machine: {_machine()}")
    print(
        f"interaction → callback over {latency['commands']} /bytes balance (SQLite): "
        f"p50 {latency['p50']:.1f} ms, p90 {latency['p90']:.1f} ms, "
        f"p99 {latency['p99']:.1f} ms, max {latency['max']:.1f} ms"
    )
    print(
        f"gateway MESSAGE_CREATE → listener, warm memo: {gateway['events_per_second']:,.0f} "
        f"events/s ({gateway['events']:,} in {gateway['seconds']:.2f} s; the fake sent them in "
        f"{gateway['fake_send_seconds']:.2f} s; bot CPU {gateway['bot_cpu_us_per_event']:.0f} "
        f"µs/event; API calls during: {gateway['api_calls_during']})"
    )
    print(
        f"hikari dispatch of prebuilt events → listener: "
        f"{results['dispatch']['events_per_second']:,.0f} events/s"
    )
    listener = results["listener"]
    print(
        f"DailyListener.on_message alone: {listener['events_per_second']:,.0f} events/s "
        f"({listener['us_per_event']:.2f} µs/event)"
    )
    if args.profile:
        print("\n--- where the gateway path spends time (this process, by tottime) ---")
        print(results["gateway_profile"])
        print("--- the listener alone ---")
        print(results["listener_profile"])


if __name__ == "__main__":
    main()
