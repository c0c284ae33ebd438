"""The Archive tab (both backends): the list with downloads, preview, typed confirmation."""

from __future__ import annotations

import gzip
from pathlib import Path

import httpx

from guildbank.features.economy import admin as economy_admin
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import GUILD_ID, FakeClock
from tests.features.archive.conftest import archive_rows, build_history, ledger
from tests.web.helpers import page_csrf

G = f"/admin/guilds/{GUILD_ID}"


async def _post(client: httpx.AsyncClient, data: dict[str, str]) -> httpx.Response:
    token = await page_csrf(client, f"{G}/archive")
    return await client.post(f"{G}/archive", data={**data, "csrf_token": token})


async def test_preview_confirm_archive_and_download(
    admin: httpx.AsyncClient, services: Services, guild: str, clock: FakeClock, archive_dir: Path
) -> None:
    await build_history(services, guild, clock)
    before = await ledger(services, guild)
    page = await admin.get(f"{G}/archive")
    assert page.status_code == 200
    assert f'<a href="{G}/archive" aria-current="page">Archive</a>' in page.text
    assert "No archives yet." in page.text

    preview = await _post(admin, {"days_to_keep": "60", "preview": "yes"})
    assert preview.status_code == 200
    assert 'id="preview"' in preview.text
    assert "would archive" in preview.text
    assert await ledger(services, guild) == before

    unconfirmed = await _post(admin, {"days_to_keep": "60", "go": "yes", "confirm": "yes"})
    assert unconfirmed.status_code == 400
    assert "Type ARCHIVE to confirm" in unconfirmed.text
    assert await ledger(services, guild) == before

    bad = await _post(admin, {"days_to_keep": "0", "go": "yes", "confirm": "ARCHIVE"})
    assert bad.status_code == 400
    assert "Days to keep" in bad.text

    done = await _post(admin, {"days_to_keep": "60", "go": "yes", "confirm": "ARCHIVE"})
    assert done.status_code == 303
    listed = await admin.get(f"{G}/archive")
    assert "Archived " in listed.text
    [row] = await archive_rows(services, guild)
    assert row.actor_id
    link = f"{G}/archive/{row.id}/download"
    assert link in listed.text
    download = await admin.get(link)
    assert download.status_code == 200
    assert download.content == (archive_dir / row.file_name).read_bytes()
    assert gzip.decompress(download.content).count(b'"kind":"transaction"') == row.transactions
    assert (await ledger(services, guild)).balances == before.balances
    missing = await admin.get(f"{G}/archive/999/download")
    assert missing.status_code == 404


async def test_a_split_is_shown_not_applied(
    admin: httpx.AsyncClient, services: Services, guild: str, clock: FakeClock, archive_dir: Path
) -> None:
    await build_history(services, guild, clock)
    before = await ledger(services, guild)
    first = before.transactions[0]["id"]
    async with unit_of_work(services) as uow:
        await economy_admin.reverse_transaction(
            uow, guild_id=guild, transaction_id=int(str(first)), reason="x", actor_id=None
        )
        await uow.commit()
    before = await ledger(services, guild)
    refused = await _post(admin, {"days_to_keep": "31", "go": "yes", "confirm": "ARCHIVE"})
    assert refused.status_code == 409
    assert "would split history" in refused.text
    assert await ledger(services, guild) == before
