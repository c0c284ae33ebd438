"""The archive over HTTP (both backends): archive, list, download, refusals."""

from __future__ import annotations

import gzip
from pathlib import Path

import httpx
import orjson

from guildbank.platform.uow import Services
from tests.conftest import OTHER_GUILD_ID, FakeClock, make_api_key
from tests.factories import error_of
from tests.features.archive.conftest import build_history, ledger

BASE = "/api/guilds/{}/transactions"


async def test_archive_list_and_download(
    api: httpx.AsyncClient, services: Services, guild: str, clock: FakeClock, archive_dir: Path
) -> None:
    await build_history(services, guild, clock)
    before = await ledger(services, guild)
    url = BASE.format(guild)

    preview = await api.post(f"{url}/archive", json={"days_to_keep": 60, "dry_run": True})
    assert preview.status_code == 200, preview.text
    assert preview.json()["dry_run"] is True
    assert preview.json()["archive"] is None
    assert preview.json()["transactions"] > 0
    assert await ledger(services, guild) == before

    done = await api.post(f"{url}/archive", json={"days_to_keep": 60, "archive": True})
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["transactions"] == preview.json()["transactions"]
    stored = body["archive"]
    assert stored["actor_id"].startswith("key:")
    assert stored["download_url"] == f"{url}/archives/{stored['id']}/download"

    integrity = await api.get(f"/api/guilds/{guild}/bytes/integrity")
    assert integrity.json()["ok"], integrity.json()
    assert (await ledger(services, guild)).balances == before.balances

    listed = await api.get(f"{url}/archives")
    assert listed.status_code == 200
    assert [a["id"] for a in listed.json()] == [stored["id"]]
    one = await api.get(f"{url}/archives/{stored['id']}")
    assert one.json() == stored

    download = await api.get(stored["download_url"])
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/gzip"
    assert download.content == (archive_dir / stored["file_name"]).read_bytes()
    lines = [orjson.loads(line) for line in gzip.decompress(download.content).splitlines()]
    ids = [line["id"] for line in lines if line["kind"] == "transaction"]
    assert ids == [tx["id"] for tx in before.transactions[: len(ids)]]
    assert len(ids) == stored["transactions"]

    rerun = await api.post(f"{url}/archive", json={"days_to_keep": 60})
    assert rerun.status_code == 200
    assert rerun.json()["transactions"] == 0
    assert rerun.json()["archive"] is None


async def test_refusals(
    api: httpx.AsyncClient, services: Services, guild: str, clock: FakeClock, archive_dir: Path
) -> None:
    await build_history(services, guild, clock)
    url = BASE.format(guild)
    error_of(await api.post(f"{url}/archive", json={"days_to_keep": 0}), 422)
    error_of(await api.post(f"{url}/archive", json={}), 422)
    error_of(
        await api.post(f"{url}/archive", json={"days_to_keep": 31, "archive": False}),
        400,
        "archive_required",
    )
    error_of(await api.get(f"{url}/archives/99"), 404, "archive_not_found")
    error_of(await api.get(f"{url}/archives/99/download"), 404, "archive_not_found")
    unknown = BASE.format("333333333333333333")
    error_of(await api.post(f"{unknown}/archive", json={"days_to_keep": 31}), 404)
    # A reversal after the cut-off of a transaction before it: 409, nothing changed.
    before = await ledger(services, guild)
    first = before.transactions[0]["id"]
    reversed_ = await api.post(
        f"/api/guilds/{guild}/bytes/transactions/{first}/reverse", json={"reason": "oops"}
    )
    assert reversed_.status_code == 201, reversed_.text
    before = await ledger(services, guild)
    refused = error_of(
        await api.post(f"{url}/archive", json={"days_to_keep": 31}), 409, "archive_would_split"
    )
    assert f"reverses #{first}" in refused["detail"]
    assert await ledger(services, guild) == before
    assert (await api.get(f"{url}/archives")).json() == []


async def test_admin_scope_and_the_file_gone(
    api: httpx.AsyncClient,
    app: object,
    services: Services,
    guild: str,
    clock: FakeClock,
    archive_dir: Path,
) -> None:
    await build_history(services, guild, clock)
    url = BASE.format(guild)
    token = await make_api_key(services, scopes=("read", "write"))
    headers = {"Authorization": f"Bearer {token}"}
    error_of(await api.post(f"{url}/archive", json={"days_to_keep": 31}, headers=headers), 403)
    error_of(await api.get(f"{url}/archives", headers=headers), 403)
    done = (await api.post(f"{url}/archive", json={"days_to_keep": 31})).json()
    error_of(await api.get(f"{BASE.format(OTHER_GUILD_ID)}/archives/{done['archive']['id']}"), 404)
    (archive_dir / done["archive"]["file_name"]).unlink()
    error_of(await api.get(done["archive"]["download_url"]), 404, "archive_file_missing")
