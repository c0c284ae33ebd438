"""Where a transfer's time goes: counting round trips, and Python CPU through each layer.

``RoundTripCounter`` counts what a process sends to PostgreSQL: the engine's statements and its
BEGIN/COMMIT/ROLLBACK (one round trip each) and the statements on the driver pool (the
one-statement paths). ``layer_breakdown`` runs transfers one at a time through each layer in
turn (raw asyncpg, the ORM session, the service layer, the whole app in-process, each of the
last two without and with an ``Idempotency-Key``) and reports the Python CPU and the round
trips per transfer: sequential, so the numbers hardly depend on other load on the machine.
The event relay is paused while counting: its passes publish batches of events after the
commits and are not part of a request (the HTTP runs include its cost).
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from sqlalchemy import event

from bench.http_load import MAX_AMOUNT, Target, transfer_body
from bench.ledger_data import user_id
from bench.measure import HOST
from guildbank.features.economy import service as economy
from guildbank.ledger import posting
from guildbank.ledger.legs import transfer_legs
from guildbank.ledger.types import TransactionType
from guildbank.platform.idempotency import IdempotentRequest
from guildbank.platform.uow import Services, unit_of_work

__all__ = ["Layer", "LayerCost", "RoundTripCounter", "layer_breakdown", "service_transfer"]

Layer = Callable[[random.Random], Any]
LAYER_SQL = (
    "SELECT o_tx, o_created, o_account, o_amount, o_before, o_after, o_received "
    "FROM guildbank_post($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
)
_keys = itertools.count()


class _CountedPool:
    """The driver pool, counting the statements sent on it (asyncpg's Pool has slots)."""

    def __init__(self, pool: Any, counter: RoundTripCounter) -> None:
        self._pool = pool
        self._counter = counter

    async def fetch(self, *args: Any, **kwargs: Any) -> Any:
        self._counter.statements += 1
        return await self._pool.fetch(*args, **kwargs)

    async def fetchrow(self, *args: Any, **kwargs: Any) -> Any:
        self._counter.statements += 1
        return await self._pool.fetchrow(*args, **kwargs)


class RoundTripCounter:
    """Counts the engine's statements plus BEGIN/COMMIT/ROLLBACK (one trip each), and the
    statements on the driver pool (one autocommitted trip each)."""

    def __init__(self, services: Services) -> None:
        self.statements = 0
        self.transaction_control = 0
        engine = services.engine.sync_engine
        event.listen(engine, "before_cursor_execute", self._statement)
        for name in ("begin", "commit", "rollback"):
            event.listen(engine, name, self._control)

    async def watch_driver_pool(self, services: Services) -> None:
        """Count the driver pool's statements too, and pause the relay (module docstring)."""
        services.relay.nudge = lambda: None  # type: ignore[method-assign]
        pool = await services.standalone_pool()
        if pool is None:
            return
        counted = _CountedPool(pool, self)

        async def counted_pool() -> Any:
            return counted

        services.standalone_pool = counted_pool  # type: ignore[method-assign]

    @property
    def round_trips(self) -> int:
        return self.statements + self.transaction_control

    def _statement(self, *_: Any) -> None:
        self.statements += 1

    def _control(self, *_: Any) -> None:
        self.transaction_control += 1

    def reset(self) -> None:
        self.statements = self.transaction_control = 0


def keyed_request(target: Target, body: bytes) -> IdempotentRequest:
    """A unique Idempotency-Key for one transfer, as the API would build it."""
    guild_id = target.path.split("/")[3]
    return IdempotentRequest.of(
        owner=1,
        key=f"bench-layer-{next(_keys)}",
        guild_id=guild_id,
        method="POST",
        path=target.path,
        body=body,
    )


async def service_transfer(services: Services, target: Target, rng: random.Random) -> None:
    """One transfer through the service layer in its own unit of work, as an adapter runs it."""
    giver, receiver, amount = target.pick(rng)
    keyed = keyed_request(target, transfer_body(giver, receiver, amount)) if target.keyed else None
    async with unit_of_work(services) as uow:
        await economy.transfer(
            uow,
            guild_id=target.path.split("/")[3],
            giver_id=user_id(giver),
            receiver_id=user_id(receiver),
            amount=amount,
            keyed=keyed,
        )
        await uow.commit()


def asgi_transfer(app: FastAPI, token: str, target: Target) -> Layer:
    """One POST of a transfer straight into the ASGI app (no server, no socket)."""
    headers = [
        (b"host", HOST.encode()),
        (b"content-type", b"application/json"),
        (b"authorization", f"Bearer {token}".encode()),
    ]

    async def call(rng: random.Random) -> None:
        body = target.body(rng)
        extra = [(b"idempotency-key", b"bench-asgi-%d" % next(_keys))] if target.keyed else []
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": target.path,
            "raw_path": target.path.encode(),
            "query_string": b"",
            "root_path": "",
            "server": (HOST, 80),
            "client": (HOST, 1),
            "headers": [*headers, *extra, (b"content-length", str(len(body)).encode())],
        }
        messages = [{"type": "http.request", "body": body, "more_body": False}]
        statuses: list[int] = []

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop()
            await asyncio.Event().wait()  # the client never disconnects
            raise AssertionError  # pragma: no cover

        async def send(message: Any) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await app(scope, receive, send)
        if statuses != [200]:
            msg = f"transfer answered {statuses}"
            raise RuntimeError(msg)

    return call


@dataclass(frozen=True, slots=True)
class LayerCost:
    name: str
    cpu_us: float  # Python CPU per transfer (minimum over the rounds)
    round_trips: float  # per transfer


async def layer_breakdown(
    services: Services,
    app: FastAPI,
    token: str,
    target: Target,
    span: tuple[int, int],
    *,
    operations: int,
    rounds: int,
) -> list[LayerCost]:
    """Python CPU and round trips per transfer at each layer, one transfer at a time.

    ``app`` runs on ``services`` (its lifespan entered by the caller); ``span`` is the range of
    the target's member account ids (the raw layers post by account id).
    """
    counter = RoundTripCounter(services)
    await counter.watch_driver_pool(services)

    def legs(rng: random.Random) -> tuple[int, list[Any]]:
        giver, receiver = rng.sample(range(span[0], span[1] + 1), 2)
        amount = rng.randint(1, MAX_AMOUNT)
        ordered = sorted(
            transfer_legs(source=giver, target=receiver, amount=amount),
            key=lambda leg: leg.account_id,
        )
        return amount, ordered

    guild_id = target.path.split("/")[3]
    async with services.engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None

        async def driver(rng: random.Random) -> None:
            amount, ordered = legs(rng)
            counter.transaction_control += 2  # the driver's own BEGIN and COMMIT
            counter.statements += 1
            async with raw.transaction():
                await raw.fetch(
                    LAYER_SQL,
                    guild_id,
                    "transfer",
                    amount,
                    None,
                    "bench",
                    None,
                    datetime.now(UTC),
                    [leg.account_id for leg in ordered],
                    [leg.amount for leg in ordered],
                    [leg.received for leg in ordered],
                    [leg.sent for leg in ordered],
                )

        async def session(rng: random.Random) -> None:
            _, ordered = legs(rng)
            async with services.sessionmaker() as orm:
                await posting.post_in_session(
                    orm,
                    guild_id=guild_id,
                    type=TransactionType.TRANSFER,
                    legs=ordered,
                    now=datetime.now(UTC),
                    actor_id="bench",
                )
                await orm.commit()

        unkeyed = Target(target.path, target.members, keyed=False)
        keyed = Target(target.path, target.members, keyed=True)
        layers: list[tuple[str, Layer]] = [
            ("asyncpg: BEGIN, guildbank_post, COMMIT", driver),
            ("SQLAlchemy AsyncSession (post_in_session)", session),
            (
                "service layer (uow, economy.transfer)",
                lambda r: service_transfer(services, unkeyed, r),
            ),
            ("service layer, Idempotency-Key", lambda r: service_transfer(services, keyed, r)),
            ("FastAPI app in-process (no server)", asgi_transfer(app, token, unkeyed)),
            ("FastAPI app in-process, Idempotency-Key", asgi_transfer(app, token, keyed)),
        ]
        best = dict.fromkeys((name for name, _ in layers), float("inf"))
        trips: dict[str, float] = {}
        for round_ in range(rounds):
            for name, layer in layers:
                rng = random.Random(round_)
                for _ in range(operations // 10):  # warm caches and the pool
                    await layer(rng)
                counter.reset()
                started = time.process_time()
                for _ in range(operations):
                    await layer(rng)
                best[name] = min(best[name], (time.process_time() - started) / operations)
                trips[name] = counter.round_trips / operations
    await services.relay.drain()
    return [LayerCost(name, best[name] * 1e6, trips[name]) for name, _ in layers]
