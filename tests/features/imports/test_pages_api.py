"""The importer in the dashboard (upload a zip or the JSON files, see the report; a second
upload changes nothing; a bad file is refused with its path and changes nothing), the
imported history and import runs in the API, and ``guildbank import`` with its report. Both
backends."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from pathlib import Path
from unittest import mock

import httpx
import pytest
from rich.console import Console
from typer.testing import CliRunner

from guildbank.cli import app as cli
from guildbank.features.imports.schemas import FILES
from guildbank.ledger.integrity import check_integrity
from guildbank.platform.bus import InProcessBus
from guildbank.platform.engine import create_engine
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import GUILD_ID
from tests.features.imports.seed_data import GUILDS, write_dataset, write_guild
from tests.features.imports.test_import import counts, member_balances
from tests.web.helpers import page_csrf

G = f"/admin/guilds/{GUILD_ID}"


def _zip(folder: Path, *, prefix: str = "") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in FILES:
            archive.write(folder / name, arcname=f"{prefix}{name}")
    return buffer.getvalue()


async def _upload(client: httpx.AsyncClient, files: list[tuple[str, bytes]]) -> httpx.Response:
    token = await page_csrf(client, f"{G}/import")
    return await client.post(
        f"{G}/import",
        data={"csrf_token": token},
        files=[("files", (name, raw, "application/octet-stream")) for name, raw in files],
    )


async def test_a_zip_upload_imports_the_server_and_a_second_changes_nothing(
    admin: httpx.AsyncClient, services: Services, guild: str, tmp_path: Path
) -> None:
    expected = write_guild(tmp_path, GUILD_ID, 60, 300, seed=5, bad=True)
    raw = _zip(tmp_path / GUILD_ID, prefix=f"data/{GUILD_ID}/")
    response = await _upload(admin, [("data.zip", raw)])
    assert response.status_code == 200, response.text[:2000]
    assert "Imported (run" in response.text
    assert "$.users[&#34;not-a-user&#34;]: the key is not a Discord user id" in response.text
    assert await member_balances(services, GUILD_ID) == expected.balances
    async with unit_of_work(services, read_only=True) as uow:
        assert (await check_integrity(uow, guild_id=GUILD_ID)).ok
        await uow.commit()

    before = await counts(services)
    again = await _upload(admin, [("data.zip", raw)])
    assert again.status_code == 200
    assert "Already imported" in again.text
    assert "nothing changed" in again.text
    assert await counts(services) == before

    listing = await admin.get(f"{G}/import")
    assert "data.zip" in listing.text
    history = await admin.get(f"{G}/import/history?page=2")
    assert history.status_code == 200
    assert "Page 2 of 6" in history.text


async def test_the_json_files_upload_too(
    admin: httpx.AsyncClient, services: Services, guild: str, tmp_path: Path
) -> None:
    expected = write_guild(tmp_path, GUILD_ID, 20, 30, seed=6, bad=False)
    files = [(name, (tmp_path / GUILD_ID / name).read_bytes()) for name in FILES]
    response = await _upload(admin, files)
    assert response.status_code == 200, response.text[:2000]
    assert await member_balances(services, GUILD_ID) == expected.balances


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("currency.json", b'{"users": {"1": ', "currency.json: $: not valid JSON"),
        ("tasks.json", b'{"tasks": [1]}', "tasks.json: $.tasks: must be an object, not list"),
        ("notes.txt", b"hello", "notes.txt: upload a zip or the files"),
        ("data.zip", b"PK no zip", "data.zip is not a zip file"),
    ],
)
async def test_a_bad_upload_is_refused_and_changes_nothing(
    admin: httpx.AsyncClient,
    services: Services,
    guild: str,
    tmp_path: Path,
    name: str,
    raw: bytes,
    message: str,
) -> None:
    write_guild(tmp_path, GUILD_ID, 10, 10, seed=7, bad=False)
    files = [(n, (tmp_path / GUILD_ID / n).read_bytes()) for n in FILES if n != name]
    before = await counts(services)
    response = await _upload(admin, [*files, (name, raw)])
    assert response.status_code == 400
    assert "Nothing was imported: " + message in response.text
    assert await counts(services) == before


async def test_the_api_pages_the_imported_history_and_lists_runs(
    api: httpx.AsyncClient, admin: httpx.AsyncClient, guild: str, tmp_path: Path
) -> None:
    write_guild(tmp_path, GUILD_ID, 20, 120, seed=8, bad=False)
    response = await _upload(admin, [("g.zip", _zip(tmp_path / GUILD_ID))])
    assert response.status_code == 200
    log = json.loads((tmp_path / GUILD_ID / "transactions.json").read_text())

    page = await api.get(f"/api/guilds/{GUILD_ID}/imported-history?page=2&per_page=50")
    assert page.status_code == 200
    body = page.json()
    assert (body["total"], body["page"], body["per_page"], len(body["items"])) == (120, 2, 50, 50)
    first = body["items"][0]
    assert first["source_id"] == log[50]["id"]
    assert (first["amount"], first["type"]) == (log[50]["amount"], log[50]["type"])

    user = log[0]["user_id"]
    mine = (await api.get(f"/api/guilds/{GUILD_ID}/imported-history?user_id={user}")).json()
    assert mine["total"] == sum(1 for line in log if line["user_id"] == user)
    assert (await api.get(f"/api/guilds/{GUILD_ID}/imported-history?page=0")).status_code == 422
    assert (await api.get("/api/guilds/123/imported-history")).status_code == 404

    runs = (await api.get(f"/api/guilds/{GUILD_ID}/imports")).json()
    assert len(runs) == 1
    assert runs[0]["report"]["members"] == 20
    assert runs[0]["report"]["history"] == 120


def _cli(database_url: str, *args: str) -> tuple[int, str]:
    # The CLI's console reads its width once, when this process first imported it: a wide
    # one here, so report lines are not wrapped whatever ran before.
    with mock.patch("guildbank.cli.console", Console(width=200)):
        result = CliRunner().invoke(cli, list(args), env={"GUILDBANK_DATABASE_URL": database_url})
    return result.exit_code, result.output


async def _totals(database_url: str) -> dict[str, int]:
    services = Services(engine=create_engine(database_url, pool_size=2), bus=InProcessBus())
    try:
        return {g: sum((await member_balances(services, g)).values()) for g in GUILDS}
    finally:
        await services.close()


def test_the_cli_imports_with_a_report_and_a_rerun_says_nothing_changed(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    expected = write_dataset(tmp_path / "data", scale=0.05)
    code, output = _cli(database_url, "import", str(tmp_path / "data"))
    assert code == 0, output
    for guild_id, wanted in expected.items():
        assert f"Server {guild_id} imported" in output
        assert f"{wanted.total:,}" in output
    assert "skipped" in output
    assert 'currency.json: $.users["not-a-user"]' in output
    assert asyncio.run(_totals(database_url)) == {g: e.total for g, e in expected.items()}

    code, output = _cli(database_url, "import", str(tmp_path / "data"))
    assert code == 0, output
    assert "Nothing changed" in output
    assert output.count("already imported") == len(GUILDS)


def test_the_cli_refuses_a_bad_file_and_imports_nothing(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write_dataset(tmp_path / "data", scale=0.02, bad=False)
    second = list(GUILDS)[1]
    (tmp_path / "data" / second / "config.json").write_text('{"currency_name": ')
    code, output = _cli(database_url, "import", str(tmp_path / "data"))
    assert code == 1
    assert f"{second}/config.json: $: not valid JSON" in output
    assert "Nothing was imported" in output
    assert asyncio.run(_totals(database_url)) == dict.fromkeys(GUILDS, 0)

    code, output = _cli(database_url, "import", str(tmp_path / "data"), "--guild", "abc")
    assert code == 1
    assert "not a Discord server id" in output
