"""The ``guildbank`` command against a temporary SQLite database."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner, Result

from guildbank.cli import app as cli
from guildbank.runtime.app import create_app
from guildbank.runtime.demo import DEMO_GUILD_ID, DEMO_MEMBERS
from guildbank.runtime.services import build_services
from guildbank.settings import PLACEHOLDER_SECRET, Settings
from tests.conftest import settings_for


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A path for the CLI's SQLite database; the working directory has no ``.env``."""
    monkeypatch.chdir(tmp_path)
    for name in ("GUILDBANK_ENV", "GUILDBANK_SECRET_KEY", "GUILDBANK_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "data" / "cli.db"


def url_of(database: Path) -> str:
    return f"sqlite+aiosqlite:///{database}"


def run(database: Path, *args: str, **env: str) -> Result:
    return CliRunner().invoke(
        cli, list(args), env={"GUILDBANK_DATABASE_URL": url_of(database), **env}
    )


def ok(result: Result) -> str:
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def new_key(database: Path, *args: str) -> str:
    lines = ok(run(database, "create-api-key", *args)).strip().splitlines()
    assert "not shown again" in " ".join(" ".join(lines[:-1]).split())  # rich wraps lines
    return lines[-1]


async def _statuses(database: Path, token: str) -> tuple[int, int]:
    """(GET config, PUT config) of the demo guild with ``token``, through a fresh app."""
    settings = settings_for(url_of(database))
    services = build_services(settings)
    app = create_app(settings, services)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://testserver",
            headers={"Authorization": f"Bearer {token}"},
        ) as client:
            url = f"/api/guilds/{DEMO_GUILD_ID}/bytes/config"
            read = await client.get(url)
            write = await client.put(url, json={"currency_name": "coins"})
    finally:
        await services.close()
    return read.status_code, write.status_code


def statuses(database: Path, token: str) -> tuple[int, int]:
    return asyncio.run(_statuses(database, token))


def test_migrate_creates_the_database(database: Path) -> None:
    assert "latest migration" in ok(run(database, "migrate"))
    assert database.exists()
    with sqlite3.connect(database) as connection:
        tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master")}
    assert {"accounts", "ledger_entries", "api_keys", "alembic_version"} <= tables
    ok(run(database, "migrate"))  # idempotent


def test_api_keys_are_created_used_listed_and_revoked(database: Path) -> None:
    ok(run(database, "demo"))
    admin = new_key(database, "--name", "x", "--admin")
    assert admin.startswith("gb_")
    reader = new_key(database, "--name", "reader", "--scope", "read")
    assert statuses(database, admin) == (200, 200)
    assert statuses(database, reader) == (200, 403)
    assert statuses(database, admin + "x") == (401, 401)

    listing = ok(run(database, "list-api-keys"))
    assert "reader" in listing
    assert admin not in listing
    assert admin.split("_", 2)[2] not in listing  # the secret (itself may hold "_")

    assert "Revoked 1 key(s)" in ok(run(database, "revoke-api-key", "x"))
    assert statuses(database, admin) == (401, 401)
    assert statuses(database, reader) == (200, 403)
    revoked_again = run(database, "revoke-api-key", "x")
    assert revoked_again.exit_code == 1
    assert "No live API key" in revoked_again.output


def test_create_api_key_refuses_an_unknown_scope(database: Path) -> None:
    ok(run(database, "migrate"))
    result = run(database, "create-api-key", "--name", "x", "--scope", "root")
    assert result.exit_code == 1
    assert "Scopes must be among" in result.output


def test_demo_then_integrity_is_consistent(database: Path) -> None:
    output = ok(run(database, "demo"))
    assert f"Demo guild {DEMO_GUILD_ID}: {len(DEMO_MEMBERS)} members" in output
    report = ok(run(database, "check-integrity", DEMO_GUILD_ID))
    assert "ledger is consistent" in report
    assert "guild total 0" in report


def test_demo_twice_adds_no_second_copy(database: Path) -> None:
    first = " ".join(ok(run(database, "demo")).split())
    assert "30 days of history" in first
    assert "3 squads, 3 role rewards" in first
    with sqlite3.connect(database) as connection:
        counted = "SELECT count(*) FROM ledger_transactions"
        transactions = connection.execute(counted).fetchone()[0]
    assert transactions > 300
    again = " ".join(ok(run(database, "demo")).split())
    assert f"Demo guild {DEMO_GUILD_ID}: already there, nothing added" in again
    with sqlite3.connect(database) as connection:
        assert connection.execute(counted).fetchone()[0] == transactions
        assert connection.execute("SELECT count(*) FROM squads").fetchone()[0] == 3
    assert "ledger is consistent" in ok(run(database, "check-integrity", DEMO_GUILD_ID))


def test_integrity_of_a_tampered_database_exits_1(database: Path) -> None:
    ok(run(database, "demo"))
    with sqlite3.connect(database) as connection:
        changed = connection.execute(
            "UPDATE accounts SET balance = balance + 5 WHERE user_id = ?", (DEMO_MEMBERS[0],)
        ).rowcount
    assert changed == 1
    result = run(database, "check-integrity", DEMO_GUILD_ID)
    assert result.exit_code == 1, result.output
    assert "balance_mismatch" in result.output
    assert "problems found" in result.output


def test_integrity_of_an_unknown_guild_exits_1(database: Path) -> None:
    ok(run(database, "migrate"))
    result = run(database, "check-integrity", "333333333333333333")
    assert result.exit_code == 1
    assert "not found" in result.output


def test_production_refuses_the_placeholder_secret(database: Path) -> None:
    with pytest.raises(ValidationError, match="GUILDBANK_SECRET_KEY"):
        Settings(_env_file=None, env="production")
    with pytest.raises(ValidationError, match="GUILDBANK_SECRET_KEY"):
        Settings(_env_file=None, env="production", secret_key=PLACEHOLDER_SECRET)
    with pytest.raises(ValidationError, match="GUILDBANK_SECRET_KEY"):
        Settings(_env_file=None, env="production", secret_key="short")
    real = Settings(_env_file=None, env="production", secret_key="s" * 48)
    assert real.env == "production"

    result = run(database, "migrate", GUILDBANK_ENV="production")
    assert result.exit_code == 2
    assert "Configuration error" in result.output
    assert not database.exists()
    ok(run(database, "migrate", GUILDBANK_ENV="production", GUILDBANK_SECRET_KEY="k" * 40))


def test_a_key_gets_read_and_write_unless_admin_is_asked_for(database: Path) -> None:
    ok(run(database, "demo"))
    output = ok(run(database, "create-api-key", "--name", "tool"))
    key = output.strip().splitlines()[-1]
    assert "read: read balances" in output
    assert "write: member actions" in output
    assert "admin:" not in output
    assert "no admin scope: pass --admin" in output
    assert statuses(database, key) == (200, 403)  # the config PUT needs admin

    output = ok(run(database, "create-api-key", "--name", "ops", "--admin"))
    assert "admin: settings, money tools" in output
    assert statuses(database, output.strip().splitlines()[-1]) == (200, 200)


def test_run_on_a_taken_port_says_so_in_one_line_and_exits_1(database: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for command in ("run", "web"):
            result = run(database, command, GUILDBANK_HOST="127.0.0.1", GUILDBANK_PORT=str(port))
            assert result.exit_code == 1, (result.output, result.exception)
            lines = result.output.strip().splitlines()
            assert len(lines) == 1, lines
            assert f"Port {port} on 127.0.0.1 is already in use" in lines[0]
            assert "GUILDBANK_PORT" in lines[0]
            assert "serving" not in result.output
            assert "Traceback" not in result.output
    assert not database.exists()  # refused before migrating anything


def test_production_with_the_placeholder_secret_says_how_to_make_one(database: Path) -> None:
    result = run(database, "run", GUILDBANK_ENV="production")
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert "GUILDBANK_SECRET_KEY must be a random value of at least 32 characters" in output
    assert 'python -c "import secrets; print(secrets.token_urlsafe(48))"' in output
    assert "Traceback" not in output
    assert "errors.pydantic.dev" not in output
    assert not database.exists()
