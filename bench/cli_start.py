"""How long ``guildbank`` commands take to start: median wall time of fresh interpreters.

Run from the repository root: ``uv run python -m bench.cli_start`` (``--quick``: 3 runs each).
Each row starts a new ``python`` process, as a shell does, in an empty folder (no ``.env``)
against a migrated SQLite file. References measured in the same run: a bare interpreter,
``import typer`` (the floor of any Typer CLI), and importing everything the CLI used to import
eagerly (the app, hikari, Alembic): what every command paid before issue 11. Goal: < 1 s for
commands that need neither the bot nor Alembic.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from guildbank.platform.migrate import upgrade

CLI = "from guildbank.cli import app; app()"
EAGER = (
    "import guildbank.runtime.runner, guildbank.runtime.bot, guildbank.platform.migrate, "
    "guildbank.runtime.demo, guildbank.ledger.integrity"
)
ROWS: list[tuple[str, list[str]]] = [
    ("python (nothing imported)", ["-c", "pass"]),
    ("import typer", ["-c", "import typer"]),
    ("the old eager imports", ["-c", EAGER]),
    ("guildbank --help", ["-c", CLI, "--help"]),
    ("guildbank web --help", ["-c", CLI, "web", "--help"]),
    ("guildbank list-api-keys", ["-c", CLI, "list-api-keys"]),
    ("guildbank migrate (at head)", ["-c", CLI, "migrate"]),
]


def timed(args: list[str], cwd: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--quick", action="store_true", help="3 runs per row")
    args = parser.parse_args(argv)
    runs = 3 if args.quick else args.runs
    with tempfile.TemporaryDirectory(prefix="gb-cli-start-") as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'cli.db'}"
        upgrade(url)
        env = {**os.environ, "GUILDBANK_DATABASE_URL": url}
        print(f"median of {runs} runs, seconds")
        print("| command | median | min | x import typer |")
        print("|---|---|---|---|")
        floor = 0.0
        for name, command in ROWS:
            timed(command, folder, env)  # warm the file cache
            times = [timed(command, folder, env) for _ in range(runs)]
            median = statistics.median(times)
            if name == "import typer":
                floor = median
            ratio = f"{median / floor:.1f}" if floor else ""
            print(f"| {name} | {median:.2f} | {min(times):.2f} | {ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
