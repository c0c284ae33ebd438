"""``guildbank export``, ``import FILE``, ``backup`` and ``restore`` on SQLite files."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner, Result

from guildbank.cli import app as cli
from guildbank.features.guilds.service import register_guild, update_config
from guildbank.platform.bus import InProcessBus
from guildbank.platform.engine import create_engine
from guildbank.platform.migrate import upgrade
from guildbank.platform.uow import Services, unit_of_work
from tests.factories import fund, member, send

GUILD = "100000000000000001"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory without ``.env``, holding the databases."""
    monkeypatch.chdir(tmp_path)
    for name in ("GUILDBANK_ENV", "GUILDBANK_SECRET_KEY", "GUILDBANK_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def url_of(database: Path) -> str:
    return f"sqlite+aiosqlite:///{database}"


def run(database: Path | str, *args: str, stdin: str | None = None) -> Result:
    url = database if isinstance(database, str) else url_of(database)
    return CliRunner().invoke(cli, list(args), env={"GUILDBANK_DATABASE_URL": url}, input=stdin)


def ok(result: Result) -> str:
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def refused(result: Result) -> str:
    assert result.exit_code == 1, (result.output, result.exception)
    return " ".join(result.output.split())  # rich wraps lines


async def _fill(database: Path) -> None:
    services = Services(engine=create_engine(url_of(database)), bus=InProcessBus())
    try:
        async with unit_of_work(services) as uow:
            await register_guild(uow, guild_id=GUILD, name="CLI guild")
            await update_config(uow, guild_id=GUILD, changes={"rate_limit_per_minute": 0})
            await uow.commit()
        await fund(services, GUILD, member(1), 500)
        for n in range(2, 6):
            await send(services, GUILD, member(1), member(n), 10 * n, "hi")
    finally:
        await services.close()


@pytest.fixture
def source(workdir: Path) -> Path:
    database = workdir / "source.db"
    upgrade(url_of(database))
    asyncio.run(_fill(database))
    return database


def test_export_then_import_into_an_empty_database(source: Path, workdir: Path) -> None:
    exported = workdir / "out" / "guild.json"
    assert "Exported guild" in ok(run(source, "export", GUILD, "-o", str(exported)))
    document = orjson.loads(exported.read_bytes())
    assert document["format"] == "guildbank.guild-export"
    assert not list(exported.parent.glob(".*part"))  # written through a temporary file
    # Without -o the export is the command's whole output.
    assert orjson.loads(ok(run(source, "export", GUILD)))["tables"] == document["tables"]

    target = workdir / "target.db"
    output = ok(run(target, "import", str(exported)))
    assert "ledger is consistent" in output
    assert "accounts" in output
    assert "ledger is consistent" in ok(run(target, "check-integrity", GUILD))
    again = orjson.loads(ok(run(target, "export", GUILD)))
    assert again["tables"]["accounts"] == document["tables"]["accounts"]

    # A second import: the guild is there now, nothing changes.
    assert "already exists" in refused(run(target, "import", str(exported)))


def test_a_bad_export_file_is_refused_with_its_reason(source: Path, workdir: Path) -> None:
    exported = workdir / "guild.json"
    ok(run(source, "export", GUILD, "-o", str(exported)))
    document = orjson.loads(exported.read_bytes())
    document["tables"]["accounts"][2]["balance"] = "lots"
    exported.write_bytes(orjson.dumps(document))
    target = workdir / "target.db"
    output = refused(run(target, "import", str(exported)))
    assert "tables.accounts[2].balance: expected an integer" in output
    assert "Nothing was imported" in output
    exported.write_bytes(b"\x00garbage")
    assert "not JSON" in refused(run(target, "import", str(exported)))
    assert "not found" in refused(run(source, "export", "100000000000000999"))


def test_backup_then_restore(source: Path, workdir: Path) -> None:
    backup = workdir / "backups" / "one.db"
    output = " ".join(ok(run(source, "backup", str(backup))).split())
    assert "1 guild" in output
    assert "integrity ok" in output
    assert "already exists" in refused(run(source, "backup", str(backup)))

    target = workdir / "restored.db"
    # Asked first; anything but yes changes nothing.
    assert "Nothing changed" in refused(run(target, "restore", str(backup), stdin="n\n"))
    assert not target.exists()
    output = ok(run(target, "restore", str(backup), stdin="y\n"))
    assert "Restored" in output
    assert "ledger is consistent" in ok(run(target, "check-integrity", GUILD))
    restored = orjson.loads(ok(run(target, "export", GUILD)))
    assert restored["tables"] == orjson.loads(ok(run(source, "export", GUILD)))["tables"]
    # Over an existing database, with --yes.
    ok(run(source, "restore", str(backup), "--yes"))


def test_restore_refuses_a_database_in_use(source: Path, workdir: Path) -> None:
    backup = workdir / "one.db"
    ok(run(source, "backup", str(backup)))
    holder = sqlite3.connect(source)  # what a running guildbank does: connections held open
    try:
        holder.execute("SELECT count(*) FROM guilds").fetchone()
        assert "in use" in refused(run(source, "restore", str(backup), "--yes"))
    finally:
        holder.close()
    ok(run(source, "restore", str(backup), "--yes"))


def test_restore_refuses_what_is_not_a_guildbank_backup(source: Path, workdir: Path) -> None:
    target = workdir / "target.db"
    text = workdir / "notes.txt"
    text.write_text("hello")
    assert "not an SQLite database" in refused(run(target, "restore", str(text), "--yes"))
    other = workdir / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    assert "not a guildbank database" in refused(run(target, "restore", str(other), "--yes"))
    newer = workdir / "newer.db"
    ok(run(source, "backup", str(newer)))
    with sqlite3.connect(newer) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    assert "'9999'" in refused(run(target, "restore", str(newer), "--yes"))
    damaged = workdir / "damaged.db"
    ok(run(source, "backup", str(damaged)))
    raw = damaged.read_bytes()
    damaged.write_bytes(raw[: len(raw) // 2])  # a copy cut short
    assert "damaged" in refused(run(target, "restore", str(damaged), "--yes"))
    assert "missing.db" in refused(run(target, "restore", str(workdir / "missing.db"), "--yes"))
    assert not target.exists()


def test_postgres_backups_are_pg_dumps_job(workdir: Path) -> None:
    url = "postgresql+asyncpg://guildbank@localhost:5432/guildbank"
    assert "pg_dump" in refused(run(url, "backup", str(workdir / "x.db")))
    assert "pg_restore" in refused(run(url, "restore", str(workdir / "x.db"), "--yes"))
