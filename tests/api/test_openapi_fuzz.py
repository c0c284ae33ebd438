"""The OpenAPI document is the truth: schemathesis, with all of its checks, sends every
operation generated valid and invalid requests and checks each answer against the document
(status codes, bodies, headers, content types, 405s and ``Allow``, auth enforcement).

It runs on both backends against the ASGI app (which builds its own services, in the event
loop schemathesis runs it in), with a seeded guild so that generated requests also reach the
success paths: members with balances, a squad, a transaction. Examples are bounded to keep
the test quick; the seed is fixed so a failure reproduces.

The coverage phase (every boundary of every field: lengths and bounds one past the limit,
NUL and control characters, huge integers) runs on PostgreSQL, the backend that refuses
what the document may have let through (SQLite stores nearly anything: a gap there shows up
as a 500 on PostgreSQL). It is three quarters of the test's time; the fuzzing phase runs on
both. tests/api/test_bad_input.py checks bad input on both backends by name.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from schemathesis import Case
from schemathesis.config import SchemathesisConfig
from schemathesis.python import asgi
from schemathesis.schemas import BaseSchema

from guildbank.features.guilds.service import register_guild, update_config
from guildbank.features.squads.admin import create_squad
from guildbank.features.tasks import admin as task_admin
from guildbank.features.tasks import service as task_service
from guildbank.platform.bus import InProcessBus
from guildbank.platform.engine import create_engine
from guildbank.platform.uow import Services, unit_of_work
from guildbank.runtime.app import create_app
from tests.conftest import GUILD_ID, make_api_key, settings_for
from tests.factories import fund, member, send

# Examples per operation: with ~150 operations on two backends this is the suite's longest test.
MAX_EXAMPLES = 3
# Every check runs on every operation, except the operations that wait by design: fuzzing
# them would mostly measure the wait.
NOT_FUZZED = {
    "/api/stream": "an endless event stream (tests/api/test_stream*)",
    "/api/outbox/lease": "long-polls up to wait_seconds (tests/outbox)",
    "/api/bot/sync": "the bots' heartbeat, a long poll (tests/features/announcements)",
}
# Business refusals of well-formed requests (insufficient balance, a self-transfer, a reason
# the action requires) are 400s by design: the document lists them per route.
ACCEPTED_VALID = ["2xx", "400", "401", "403", "404", "409", "429"]


async def _seed(database_url: str) -> str:
    """A guild with funded members, a squad, a task with claims and a transfer; returns an
    all-scopes API key."""
    services = Services(engine=create_engine(database_url), bus=InProcessBus())
    try:
        async with unit_of_work(services) as uow:
            await register_guild(uow, guild_id=GUILD_ID, name="Fuzzed guild")
            await update_config(uow, guild_id=GUILD_ID, changes={"rate_limit_per_minute": 0})
            await create_squad(
                uow,
                guild_id=GUILD_ID,
                role_id=member(90),
                name="Fuzzers",
                description="",
                emoji=None,
                switch_cost=0,
                max_members=None,
                is_active=True,
                actor_id=None,
            )
            # A task with two claims, one with a proof: the task routes reach success paths.
            task = await task_admin.create_task(uow, guild_id=GUILD_ID, name="Fuzz", reward=5)
            for n in (1, 2):
                await task_service.claim_task(
                    uow, guild_id=GUILD_ID, task_id=task.id, user_id=member(n)
                )
            await task_service.submit_proof(
                uow, guild_id=GUILD_ID, task_id=task.id, user_id=member(1), proof="seed"
            )
            await uow.commit()
        for n in (1, 2, 3):
            await fund(services, GUILD_ID, member(n), 10_000)
        await send(services, GUILD_ID, member(1), member(2), 5, "seed")
        await services.relay.drain()
        return await make_api_key(services)
    finally:
        await services.close()


def _config(key: str, *, boundaries: bool) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "seed": 20260314,
            # The document's security scheme, so ``ignored_auth`` probes without and with a
            # wrong key.
            "auth": {"openapi": {"bearer": {"bearer": key}}},
            # Most generated requests name the seeded guild (others: unknown guilds, 404).
            "parameters": {"guild_id": GUILD_ID},
            "generation": {"max-examples": MAX_EXAMPLES, "database": "none"},
            "phases": {"coverage": {"enabled": boundaries}},
            "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED_VALID}},
            "operations": [
                *({"include-path": path, "enabled": False} for path in NOT_FUZZED),
            ],
        }
    )


@pytest.fixture
def guildbank_schema(
    backend: str, database_url: str, request: pytest.FixtureRequest
) -> Iterator[BaseSchema]:
    # schemathesis (4.32) renames the test per operation through ``node._nodeid``, which
    # pytest 9 no longer sets: give it one.
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid
    key = asyncio.run(_seed(database_url))
    app = create_app(settings_for(database_url))
    loaded = schemathesis.openapi.from_asgi(
        "/api/openapi.json", app, config=_config(key, boundaries=backend == "postgres")
    )
    try:
        yield loaded
    finally:
        asgi.shutdown_lifespans()  # close the app's services (its lifespan's exit)


schema = schemathesis.pytest.from_fixture("guildbank_schema")


# One pytest item runs every operation (subtests): more than the default 120 s per item.
@pytest.mark.timeout(300)
@schema.parametrize()
def test_the_api_answers_as_its_openapi_document_says(case: Case[Any]) -> None:
    case.call_and_validate()
