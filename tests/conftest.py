"""Shared fixtures: a fresh database per test on SQLite and PostgreSQL, services, API clients.

PostgreSQL and Redis are real services on 127.0.0.1. They are required: a missing service
fails the run (CI=true or not), because a suite that silently skips its database proves nothing.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from guildbank.features.guilds.service import register_guild, update_config
from guildbank.platform.apikeys import create_api_key
from guildbank.platform.bus import InProcessBus
from guildbank.platform.engine import create_engine
from guildbank.platform.migrate import upgrade
from guildbank.platform.uow import Services, unit_of_work
from guildbank.runtime.app import create_app
from guildbank.settings import Settings

# Fixtures of the bot world and the dashboard, used by tests across feature folders.
pytest_plugins = ("tests.bot.world", "tests.web.fixtures", "tests.e2e.browser")

PG_HOST = os.environ.get("GUILDBANK_TEST_PG_HOST", "127.0.0.1")
PG_ADMIN_DSN = f"postgresql://postgres@{PG_HOST}:5432/postgres"
PG_DATABASE = f"guildbank_test_{os.getpid()}"
PG_URL = f"postgresql+asyncpg://postgres@{PG_HOST}:5432/{PG_DATABASE}"
REDIS_URL = os.environ.get("GUILDBANK_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

GUILD_ID = "111111111111111111"
OTHER_GUILD_ID = "222222222222222222"
START = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)


# `make test` runs the suite on two pytest-xdist workers (--dist loadgroup). Tests sharing a
# machine-wide resource run on one worker, one after another (one group), and each of them
# alone on the machine (``machine_share``):
# * Redis: pub/sub channels and rate limit keys are global (every guildbank process uses the
#   channel "guildbank:events");
# * PostgreSQL's 100 connections: the load tests (up to 50 clients), the crash tests (a server
#   process under load) and the multi-process tests (each process with its own pools) would
#   otherwise meet on another worker and be refused ("too many clients", answered as 503).
# A new test with real parallel connections or other processes belongs here.
SERIAL_GROUPS = {
    "serial": (
        "tests/test_cross_process.py",
        "tests/test_scaled_mode.py",
        "tests/test_redis_outage.py",
        "tests/test_crash_recovery.py",
        "tests/web/test_redis_web.py",
        "tests/platform/test_ratelimit.py",
        "tests/runtime/test_workers.py",
        "tests/concurrency/",
        "tests/features/announcements/test_scheduler_concurrent.py",
        "tests/features/archive/test_concurrent.py",
        "tests/features/backup/test_backup_under_load.py",
        "tests/features/backup/test_export_under_load.py",
        "tests/features/members/test_cleanup_concurrency.py",
        "tests/ledger/test_daily_batches.py",
    ),
}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The browser tests' live site (tests/e2e/browser.py) runs on SQLite: its PostgreSQL
    # variants would repeat the same pages (the pages' queries run on both in tests/web).
    on_postgres = [
        item
        for item in items
        if isinstance(item, pytest.Function)
        and "site" in item.fixturenames
        and getattr(item, "callspec", None) is not None
        and item.callspec.params.get("backend") == "postgres"
    ]
    if on_postgres:
        config.hook.pytest_deselected(items=on_postgres)
        dropped = set(on_postgres)
        items[:] = [item for item in items if item not in dropped]
    for item in items:
        for group, prefixes in SERIAL_GROUPS.items():
            if item.nodeid.startswith(prefixes):
                item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(autouse=True)
def machine_share(request: pytest.FixtureRequest) -> Iterator[None]:
    """Under pytest-xdist, a test of the serial group runs alone on the machine.

    It takes an exclusive lock that every other test holds shared while it runs: the serial
    group's tests alone can take most of PostgreSQL's 100 connections (the 50-buyer shop test
    peaks at 80), so a busy test on the other worker would be refused ("too many clients").
    """
    workerinput = getattr(request.config, "workerinput", None)
    if workerinput is None:
        yield
        return
    path = Path(tempfile.gettempdir()) / f"guildbank-tests-{workerinput['testrunuid']}.lock"
    serial = request.node.get_closest_marker("xdist_group") is not None
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if serial else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class FakeClock:
    """A settable clock so streak and cooldown tests need no sleeping."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


async def _pg_admin(*statements: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A migrated PostgreSQL database for this test process, dropped at the end."""
    try:
        asyncio.run(
            _pg_admin(
                f'DROP DATABASE IF EXISTS "{PG_DATABASE}"', f'CREATE DATABASE "{PG_DATABASE}"'
            )
        )
    except (OSError, asyncpg.PostgresError) as error:
        pytest.fail(f"PostgreSQL at {PG_HOST}:5432 is required for the test suite: {error!r}")
    upgrade(PG_URL)
    yield PG_URL
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


_EMPTY_TABLES_SQL = """
SELECT string_agg(format('DELETE FROM %I', c.relname), '; ') FILTER (WHERE c.relkind = 'r')
    || '; '
    || string_agg(format('ALTER SEQUENCE %I RESTART', c.relname), '; ')
        FILTER (WHERE c.relkind = 'S')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'S') AND c.relname <> 'alembic_version'
"""


async def _truncate_postgres(url: str) -> None:
    """Empty every table and restart every sequence, keeping the schema.

    DELETE with triggers off (``session_replication_role = replica``, which needs the
    superuser the suite connects as: no foreign-key or ledger trigger fires) is ~10x cheaper
    than TRUNCATE on tables of a test's size: TRUNCATE gives each of ~40 tables and their
    indexes new files.
    """
    connection = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        statements = await connection.fetchval(_EMPTY_TABLES_SQL)
        await connection.execute(f"SET session_replication_role = replica; {statements}")
    finally:
        await connection.close()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database of the parametrized backend."""
    if backend == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        asyncio.run(_truncate_postgres(url))
        return url
    template: Path = request.getfixturevalue("sqlite_template")
    path = tmp_path / "guildbank.db"
    shutil.copyfile(template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def empty_database(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """A database of its own, not even migrated: for tests that migrate up and down (the
    shared test database stays at head for everyone else)."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'private.db'}"
        return
    name = f"guildbank_private_{os.getpid()}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"postgresql+asyncpg://postgres@{PG_HOST}:5432/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def services(database_url: str, clock: FakeClock) -> AsyncIterator[Services]:
    engine = create_engine(database_url, pool_size=40)
    services = Services(engine=engine, bus=InProcessBus(), clock=clock)
    try:
        yield services
    finally:
        await services.close()


@pytest.fixture
async def guild(services: Services) -> str:
    """A registered guild with the rate limit off (tests of the limit turn it back on)."""
    async with unit_of_work(services) as uow:
        await register_guild(uow, guild_id=GUILD_ID, name="Test guild")
        await update_config(uow, guild_id=GUILD_ID, changes={"rate_limit_per_minute": 0})
        await uow.commit()
    return GUILD_ID


def settings_for(database_url: str, **overrides: Any) -> Settings:
    """Settings for a test app: no .env file, the test database, and any overrides."""
    return Settings(_env_file=None, database_url=database_url, **overrides)


@pytest.fixture
def app(services: Services, database_url: str) -> FastAPI:
    return create_app(settings_for(database_url), services)


async def make_api_key(
    services: Services, scopes: tuple[str, ...] = ("read", "write", "admin")
) -> str:
    async with unit_of_work(services) as uow:
        _, token = await create_api_key(uow, name="tests", scopes=scopes)
        await uow.commit()
    return token


@pytest.fixture
async def api_key(services: Services) -> str:
    return await make_api_key(services)


@pytest.fixture
async def api(app: FastAPI, api_key: str) -> AsyncIterator[httpx.AsyncClient]:
    """An authenticated client of the in-process API (full-scope service key)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {api_key}"},
    ) as client:
        yield client


@pytest.fixture
async def anonymous(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield client
