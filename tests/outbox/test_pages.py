"""The Sync page: waiting and failed jobs with their reasons, retry and cancel (admins, CSRF),
and the count of failed jobs on the Sync tab of every page of the server."""

from __future__ import annotations

import re

import httpx

from guildbank.outbox import leases
from guildbank.outbox.service import enqueue_dm
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import GUILD_ID, OTHER_GUILD_ID
from tests.outbox.helpers import POLICY, ROLE, USER, grant, job_row, lease
from tests.web.helpers import page_csrf

G = f"/admin/guilds/{GUILD_ID}"


async def _fail(services: Services) -> int:
    [job] = await lease(services)
    async with unit_of_work(services) as uow:
        await leases.fail_job(
            uow,
            job_id=job.id,
            lease=job.lease,
            error="Discord refused adding the role: 403 Missing Permissions",
            retry_after=None,
            permanent=True,
            policy=POLICY,
        )
        await uow.commit()
    return job.id


async def test_the_sync_page_lists_waiting_and_failed_jobs_with_a_tab_count(
    admin: httpx.AsyncClient, services: Services, guild: str
) -> None:
    failed = await _fail_after(services, guild)
    waiting = await grant(services, guild, role=str(int(ROLE) + 1))
    page = await admin.get(f"{G}/sync")
    assert page.status_code == 200
    html = page.text
    assert f'data-job="{failed}"' in html
    assert f'data-job="{waiting}"' in html
    assert "403 Missing Permissions" in html
    assert re.search(r'data-nav-count="sync"[^>]*>1<', html)
    overview = await admin.get(G)
    assert re.search(r'data-nav-count="sync"[^>]*>1<', overview.text)


async def _fail_after(services: Services, guild: str) -> int:
    await grant(services, guild)
    return await _fail(services)


async def test_retry_and_cancel_need_the_csrf_token(
    admin: httpx.AsyncClient, services: Services, guild: str
) -> None:
    job_id = await _fail_after(services, guild)
    forged = await admin.post(f"{G}/sync/{job_id}/retry", data={"csrf_token": "nope"})
    assert forged.status_code == 403
    assert (await job_row(services, job_id)).status == "failed"
    token = await page_csrf(admin, f"{G}/sync")
    retried = await admin.post(f"{G}/sync/{job_id}/retry", data={"csrf_token": token})
    assert retried.status_code == 303
    assert (await job_row(services, job_id)).status == "pending"
    page = await admin.get(f"{G}/sync")
    assert f"Job #{job_id} will be tried again now." in page.text
    assert 'data-nav-count="sync"' not in page.text
    cancelled = await admin.post(f"{G}/sync/{job_id}/cancel", data={"csrf_token": token})
    assert cancelled.status_code == 303
    assert (await job_row(services, job_id)).status == "cancelled"
    again = await admin.post(f"{G}/sync/{job_id}/cancel", data={"csrf_token": token})
    assert again.status_code == 409


async def test_a_job_of_another_server_is_not_found(
    admin: httpx.AsyncClient, services: Services, guild: str, other_guild: str
) -> None:
    job_id = await grant(services, OTHER_GUILD_ID, user=USER)
    token = await page_csrf(admin, f"{G}/sync")
    refused = await admin.post(f"{G}/sync/{job_id}/cancel", data={"csrf_token": token})
    assert refused.status_code == 404
    assert (await job_row(services, job_id)).status == "pending"


async def test_a_waiting_dm_is_described_with_its_member(
    admin: httpx.AsyncClient, services: Services, guild: str
) -> None:
    async with unit_of_work(services) as uow:
        job_id = await enqueue_dm(uow, guild_id=guild, user_id=USER, content="Accepted")
        await uow.commit()
    html = (await admin.get(f"{G}/sync")).text
    row = html[html.index(f'data-job="{job_id}"') :]
    assert "Send a direct message to" in row[: row.index("</tr>")]
