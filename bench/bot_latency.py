"""The bot's interaction latency and message-event throughput, against the fake Discord.

Run with ``make bench`` or, from the repository root, ``uv run python -m bench.bot_latency
[--help]`` (as a module, so the fake Discord imports as ``tests.fakes.discord``). Not a test: it
prints numbers (and, with ``--profile``, where the time goes) and asserts nothing.

Two processes, as in production where Discord is elsewhere:

* this process runs the real bot (``guildbank.runtime.bot.create_bot``: hikari GatewayBot +
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
import io
import json
import multiprocessing
import os
import platform
import pstats
import secrets
import statistics
import tempfile
import time
import zlib
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import hikari

from bench.child import ask, receive
from bench.stats import percentile
from guildbank.platform.migrate import upgrade
from guildbank.runtime import bot as bot_app
from guildbank.runtime.app import create_app
from guildbank.runtime.bot import GuildbankBot, create_bot
from guildbank.runtime.client import GuildbankClient
from guildbank.runtime.services import build_services
from guildbank.settings import Settings
from tests.fakes.discord import FakeDiscord

TIMEOUT = 600.0


# --------------------------------------------------------------------------- the Discord side


def discord_process(pipe: Connection, members: int) -> None:
    try:
        asyncio.run(_discord_main(pipe, members))
    except BaseException as error:
        pipe.send(("error", repr(error)))
        raise


async def _discord_main(pipe: Connection, members: int) -> None:
    async with FakeDiscord() as discord:
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
            elif command == "samples":  # one message payload per member, for prebuilt events
                pipe.send([discord.make_message(channel, discord.users[i], "hi") for i in ids])
            elif command == "blast":
                pipe.send(await _blast(discord, channel, ids, int(argument)))
            else:
                pipe.send("bye")
                return


async def _latencies(
    discord: FakeDiscord, guild_id: int, ids: list[int], count: int
) -> list[float]:
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


async def _blast(
    discord: FakeDiscord, channel: int, ids: list[int], count: int
) -> dict[str, float]:
    """Send ``count`` MESSAGE_CREATE frames on shard 0 as fast as the websocket takes them.

    The frames are built and compressed (in order, on the connection's zlib stream) before
    the clock starts, holding the connection's lock so no heartbeat ACK interleaves.
    """
    session = discord.gateway.session_for_shard(0)
    connection = session.connection
    if connection is None:
        msg = "shard 0 is not connected to the fake Discord"
        raise RuntimeError(msg)
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
    """Counts messages the daily listener finished, noting when a target is reached."""

    def __init__(self, gb: GuildbankBot, *, typed: bool = False) -> None:
        self.count = 0
        self.target = -1
        self.reached_at = 0.0
        self.done = asyncio.Event()
        on_payload, on_message = gb.daily.on_payload, gb.daily.on_message

        def tick() -> None:
            self.count += 1
            if self.count == self.target:
                self.reached_at = time.monotonic()
                self.done.set()

        async def counted(event: hikari.ShardPayloadEvent) -> None:
            await on_payload(event)
            if event.name == "MESSAGE_CREATE":
                tick()

        async def counted_typed(event: hikari.GuildMessageCreateEvent) -> None:
            await on_message(event)
            tick()

        gb.bot.unsubscribe(hikari.ShardPayloadEvent, on_payload)
        if typed:  # --baseline: the listener as first written, on hikari's typed event
            gb.bot.subscribe(hikari.GuildMessageCreateEvent, counted_typed)
        else:
            gb.bot.subscribe(hikari.ShardPayloadEvent, counted)

    def expect(self, more: int) -> None:
        self.target = self.count + more
        self.done.clear()

    async def wait(self) -> float:
        async with asyncio.timeout(TIMEOUT):
            await self.done.wait()
        return self.reached_at


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


class Bench:
    """The bot and API in this process; the fake Discord in a child process."""

    def __init__(self, args: argparse.Namespace, gb: GuildbankBot, guild: str) -> None:
        self.args = args
        self.gb = gb
        self.guild = guild
        self.counter = Counter(gb, typed=args.baseline)
        self.pipe: Connection
        self.process: multiprocessing.process.BaseProcess

    async def ask(self, command: str, argument: object = None) -> Any:
        return await ask(self.pipe, self.process, command, argument, seconds=TIMEOUT)

    async def latency(self) -> dict[str, float]:
        await self.ask("latency", self.args.warmup)
        samples: list[float] = await self.ask("latency", self.args.commands)
        return {
            "commands": len(samples),
            "p50": 1000 * percentile(samples, 0.50),
            "p90": 1000 * percentile(samples, 0.90),
            "p99": 1000 * percentile(samples, 0.99),
            "max": 1000 * max(samples),
            "mean": 1000 * statistics.fmean(samples),
        }

    async def gateway(self) -> dict[str, Any]:
        members, messages, daily = self.args.members, self.args.messages, self.gb.daily
        self.counter.expect(members)
        await self.ask("warm")
        await self.counter.wait()  # each member's first message: claimed (and reacted to)
        assert daily.api_calls == members, daily.api_calls
        start_profile, report = _profiled(self.args.profile)
        self.counter.expect(messages)
        cpu = time.process_time()
        start_profile()
        blast = await self.ask("blast", messages)
        handled_at = await self.counter.wait()
        bot_cpu = time.process_time() - cpu
        seconds = handled_at - blast["first"]
        return {
            "events": messages,
            "seconds": seconds,
            "events_per_second": messages / seconds,
            "fake_send_seconds": blast["last"] - blast["first"],
            "bot_cpu_us_per_event": 1e6 * bot_cpu / messages,
            "api_calls_during": daily.api_calls - members,
            "profile": report(),
        }

    async def prebuilt(self) -> dict[str, Any]:
        """hikari's dispatch and the listener itself, on events built before the clock starts."""
        shard, factory = self.gb.bot.shards[0], self.gb.bot.event_factory
        samples: list[dict[str, Any]] = await self.ask("samples")
        payloads = []
        for n in range(self.args.messages):
            payload = dict(samples[n % len(samples)])
            payload["id"] = str(int(payload["id"]) + n)
            payloads.append(payload)
        raw = [
            factory.deserialize_shard_payload_event(shard, p, name="MESSAGE_CREATE")
            for p in payloads
        ]
        typed = [
            event
            for event in (factory.deserialize_message_create_event(shard, p) for p in payloads)
            if isinstance(event, hikari.GuildMessageCreateEvent) and event.is_human
        ]
        assert len(typed) == len(raw)
        calls = self.gb.daily.api_calls

        self.counter.expect(len(raw))
        started = time.monotonic()
        for event in raw:
            self.gb.bot.dispatch(event)
        dispatched = await self.counter.wait() - started

        start_profile, report = _profiled(self.args.profile)
        start_profile()
        started = time.perf_counter()
        for event in raw:
            await self.gb.daily.on_payload(event)
        alone = time.perf_counter() - started
        profile = report()

        on_message = self.gb.daily.on_message
        started = time.perf_counter()
        for message_event in typed:
            await on_message(message_event)
        typed_alone = time.perf_counter() - started
        assert self.gb.daily.api_calls == calls, "prebuilt events must all hit the memo"
        count = len(raw)
        return {
            "events": count,
            "dispatch_per_second": count / dispatched,
            "on_payload_per_second": count / alone,
            "on_payload_us": 1e6 * alone / count,
            "on_message_per_second": count / typed_alone,
            "on_message_us": 1e6 * typed_alone / count,
            "profile": profile,
        }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}"
        upgrade(url)
        settings = Settings(_env_file=None, database_url=url)
        services = build_services(settings)
        key = secrets.token_urlsafe(24)
        app = create_app(settings, services, internal_key=key)
        spawn = multiprocessing.get_context("spawn")
        pipe, child = spawn.Pipe()
        process = spawn.Process(target=discord_process, args=(child, args.members), daemon=True)
        process.start()
        info = await receive(pipe, process, seconds=TIMEOUT)
        api = GuildbankClient.in_process(app, key)
        guild = str(info["guild"])
        await api.register_guild(guild, "Bench")
        await api.update_config(guild, {"rate_limit_per_minute": 0})
        if args.baseline:
            bot_app.CACHED = hikari.api.CacheComponents.ALL  # hikari's default: messages too
        gb = await create_bot(
            info["token"],
            GuildbankClient.in_process(app, key),
            rest_url=info["rest_url"],
            command_guilds=[info["guild"]],
        )
        bench = Bench(args, gb, guild)
        bench.pipe, bench.process = pipe, process
        available = asyncio.Event()

        async def on_available(_: hikari.GuildAvailableEvent) -> None:
            available.set()

        gb.bot.subscribe(hikari.GuildAvailableEvent, on_available)
        try:
            await gb.start()
            async with asyncio.timeout(30):
                await available.wait()
            results = {"latency_ms": await bench.latency(), "gateway": await bench.gateway()}
            if not args.baseline:
                results["prebuilt"] = await bench.prebuilt()
            return results
        finally:
            await gb.close()
            if process.is_alive():
                await ask(pipe, process, "stop", seconds=TIMEOUT)
            process.join(10)
            await api.aclose()
            await services.close()


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
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="for comparison: hikari's message cache on and the listener on typed events",
    )
    args = parser.parse_args()
    results = asyncio.run(run(args))
    latency, gateway = results["latency_ms"], results["gateway"]
    print(f"machine: {_machine()}")
    if args.baseline:
        print("BASELINE: message cache on, listener on hikari's typed GuildMessageCreateEvent")
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
    if "prebuilt" in results:
        prebuilt = results["prebuilt"]
        print(
            f"hikari dispatch of prebuilt payload events → listener: "
            f"{prebuilt['dispatch_per_second']:,.0f} events/s"
        )
        print(
            f"DailyListener alone: on_payload {prebuilt['on_payload_per_second']:,.0f} events/s "
            f"({prebuilt['on_payload_us']:.2f} µs/event), on_message (typed) "
            f"{prebuilt['on_message_per_second']:,.0f} events/s "
            f"({prebuilt['on_message_us']:.2f} µs)"
        )
    if args.profile:
        print("\n--- where the gateway path spends time (this process, by tottime) ---")
        print(gateway["profile"])
        if "prebuilt" in results:
            print("--- DailyListener.on_payload alone ---")
            print(results["prebuilt"]["profile"])


if __name__ == "__main__":
    main()
