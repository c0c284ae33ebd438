"""The CLI starts fast: a command imports only what it uses (no hikari, Alembic or the app
for ``--help``). Checked on the modules a fresh interpreter loaded, not on time;
``bench/cli_start.py`` measures the time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from guildbank.platform.migrate import upgrade

HEAVY = (
    "hikari",
    "lightbulb",
    "alembic",
    "sqlalchemy",
    "asyncpg",
    "fastapi",
    "uvicorn",
    "redis",
    "limits",
)

PROBE = """
import json, os, sys
from guildbank.cli import app
try:
    app(sys.argv[1:])
except SystemExit as done:
    code = done.code
else:
    code = 0
packages = {name.split(".")[0] for name in sys.modules}
heavy = sorted(packages & set(os.environ["GB_HEAVY"].split(",")))
print("GB_PROBE", json.dumps({"code": code, "heavy": heavy}))
"""


def loaded(tmp_path: Path, *args: str) -> tuple[int, list[str]]:
    """Run ``guildbank *args`` in a fresh interpreter: (exit code, heavy packages imported)."""
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", PROBE, *args],
        cwd=tmp_path,  # no stray .env
        env={
            **os.environ,
            "GUILDBANK_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
            "GB_HEAVY": ",".join(HEAVY),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    line = next((line for line in result.stdout.splitlines() if line.startswith("GB_PROBE ")), None)
    assert line is not None, result.stdout + result.stderr
    probe = json.loads(line.removeprefix("GB_PROBE "))
    return probe["code"], probe["heavy"]


@pytest.mark.parametrize("args", [("--help",), ("web", "--help"), ("create-api-key", "--help")])
def test_help_imports_nothing_heavy(tmp_path: Path, args: tuple[str, ...]) -> None:
    assert loaded(tmp_path, *args) == (0, [])


def test_api_key_commands_need_the_database_but_neither_discord_nor_alembic(
    tmp_path: Path,
) -> None:
    upgrade(f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    code, heavy = loaded(tmp_path, "list-api-keys")
    assert code == 0
    assert "sqlalchemy" in heavy  # it did reach the database
    # Nor Redis or the rate limiter: on first use only (platform/ratelimit.py).
    unused = {"hikari", "lightbulb", "alembic", "fastapi", "uvicorn", "redis", "limits"}
    assert not unused & set(heavy), heavy


def test_migrate_needs_alembic_but_not_discord(tmp_path: Path) -> None:
    code, heavy = loaded(tmp_path, "migrate")
    assert code == 0
    assert "alembic" in heavy
    assert not {"hikari", "lightbulb", "fastapi", "uvicorn"} & set(heavy), heavy
