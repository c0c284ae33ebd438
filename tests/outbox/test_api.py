"""The outbox over HTTP on SQLite and PostgreSQL: the worker protocol (admin scope), the
long poll woken by ``outbox.ready``, each guild's jobs, the health report and the metrics."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from guildbank.outbox import api as outbox_api
from guildbank.outbox.service import enqueue_role_change
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import make_api_key
from tests.outbox.helpers import ROLE, USER

LEASE = {"owner": "test-worker", "shard_ids": [0], "shard_count": 1}
GRANT = {"kind": "role.grant", "payload": {"user_id": USER, "role_id": ROLE}}


async def test_jobs_are_leased_and_reported_through_the_api(
    api: httpx.AsyncClient, guild: str
) -> None:
    created = await api.post(f"/api/guilds/{guild}/outbox/jobs", json=GRANT)
    assert created.status_code == 201, created.text
    assert (created.json()["status"], created.json()["payload"]["role_id"]) == ("pending", ROLE)
    [job] = (await api.post("/api/outbox/lease", json=LEASE)).json()
    assert (job["id"], job["status"], job["attempts"]) == (created.json()["id"], "running", 1)
    report = {"lease": job["lease"], "revision": job["revision"], "result": {"ok": 1}}
    done = await api.post(f"/api/outbox/jobs/{job['id']}/done", json=report)
    assert (done.status_code, done.json()["status"]) == (200, "done")
    again = await api.post(f"/api/outbox/jobs/{job['id']}/done", json=report)
    assert (again.status_code, again.json()["code"]) == (409, "stale_lease")
    listed = await api.get(f"/api/guilds/{guild}/outbox/jobs", params={"status": "done"})
    assert [(j["id"], j["result"]) for j in listed.json()] == [(job["id"], {"ok": 1})]


async def test_a_failure_report_schedules_a_retry_or_fails_the_job(
    api: httpx.AsyncClient, guild: str
) -> None:
    await api.post(f"/api/guilds/{guild}/outbox/jobs", json=GRANT)
    [job] = (await api.post("/api/outbox/lease", json=LEASE)).json()
    failed = await api.post(
        f"/api/outbox/jobs/{job['id']}/failed",
        json={"lease": job["lease"], "error": "Missing Permissions", "permanent": True},
    )
    assert (failed.json()["status"], failed.json()["last_error"]) == (
        "failed",
        "Missing Permissions",
    )
    counts = (await api.get(f"/api/guilds/{guild}/outbox/counts")).json()
    assert counts == {"pending": 0, "running": 0, "failed": 1}
    retried = await api.post(f"/api/guilds/{guild}/outbox/jobs/{job['id']}/retry")
    assert (retried.status_code, retried.json()["status"]) == (200, "pending")
    cancelled = await api.post(f"/api/guilds/{guild}/outbox/jobs/{job['id']}/cancel")
    assert cancelled.json()["status"] == "cancelled"
    twice = await api.post(f"/api/guilds/{guild}/outbox/jobs/{job['id']}/cancel")
    assert (twice.status_code, twice.json()["code"]) == (409, "outbox_job_conflict")


async def test_the_long_poll_answers_when_work_is_written(
    api: httpx.AsyncClient, services: Services, guild: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox_api, "MAX_QUIET", 60.0)  # only the outbox.ready event wakes it
    waiting = asyncio.create_task(api.post("/api/outbox/lease", json=LEASE | {"wait_seconds": 30}))
    await asyncio.sleep(0.2)
    assert not waiting.done()
    async with unit_of_work(services) as uow:
        await enqueue_role_change(uow, guild_id=guild, user_id=USER, add=ROLE, reason="joined")
        await uow.commit()
    async with asyncio.timeout(15):
        response = await waiting
    assert [j["kind"] for j in response.json()] == ["role.add"]


async def test_an_idle_long_poll_ends_empty(api: httpx.AsyncClient, guild: str) -> None:
    response = await api.post("/api/outbox/lease", json=LEASE | {"wait_seconds": 0.2})
    assert (response.status_code, response.json()) == (200, [])


async def test_the_worker_protocol_needs_the_admin_scope(
    app: FastAPI, services: Services, guild: str
) -> None:
    key = await make_api_key(services, ("read", "write"))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {key}"},
    ) as writer:
        assert (await writer.post("/api/outbox/lease", json=LEASE)).status_code == 403
        refused = await writer.post(f"/api/guilds/{guild}/outbox/jobs", json=GRANT)
        assert refused.status_code == 403
        assert (await writer.get(f"/api/guilds/{guild}/outbox/jobs")).status_code == 200


async def test_bad_jobs_and_unknown_guilds_are_refused(api: httpx.AsyncClient, guild: str) -> None:
    bad = await api.post(
        f"/api/guilds/{guild}/outbox/jobs",
        json={"kind": "role.grant", "payload": {"user_id": "nope", "role_id": ROLE}},
    )
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_payload")
    unknown = await api.post(
        f"/api/guilds/{guild}/outbox/jobs", json={"kind": "nuke", "payload": {}}
    )
    assert unknown.status_code == 422
    missing = await api.get("/api/guilds/999999999999999999/outbox/jobs")
    assert missing.status_code == 404
    stranger = await api.post(f"/api/guilds/{guild}/outbox/jobs/123456/retry")
    assert (stranger.status_code, stranger.json()["code"]) == (404, "outbox_job_not_found")
    bad_lease = await api.post("/api/outbox/lease", json=LEASE | {"owner": "a b"})
    assert bad_lease.status_code == 422


async def test_health_reports_the_backlog_and_metrics_count_jobs(
    api: httpx.AsyncClient, guild: str
) -> None:
    for n in range(2):
        grant = GRANT | {"payload": {"user_id": USER, "role_id": str(int(ROLE) + n)}}
        await api.post(f"/api/guilds/{guild}/outbox/jobs", json=grant)
    health = (await api.get("/health/detailed")).json()
    outbox = health["checks"]["outbox"]
    assert (outbox["ok"], outbox["pending"], outbox["failed"]) == (True, 2, 0)
    assert outbox["oldest_pending_seconds"] is not None
    [job, _] = (await api.post("/api/outbox/lease", json=LEASE)).json()
    await api.post(
        f"/api/outbox/jobs/{job['id']}/done", json={"lease": job["lease"], "revision": 0}
    )
    metrics = (await api.get("/metrics")).text
    assert 'guildbank_outbox_jobs_done_total{kind="role.grant"}' in metrics
    assert "guildbank_outbox_queue_seconds_bucket" in metrics
    backlog = (await api.get("/api/outbox/backlog")).json()
    assert (backlog["pending"], backlog["running"]) == (0, 1)


async def test_a_batch_of_reports_is_recorded_in_one_request(
    api: httpx.AsyncClient, guild: str
) -> None:
    for n in range(3):
        grant = GRANT | {"payload": {"user_id": USER, "role_id": str(int(ROLE) + n)}}
        await api.post(f"/api/guilds/{guild}/outbox/jobs", json=grant)
    done, failed, stale = (await api.post("/api/outbox/lease", json=LEASE)).json()
    reports = [
        {"job_id": done["id"], "lease": done["lease"], "result": {"ok": True}},
        {"job_id": failed["id"], "lease": failed["lease"], "error": "500", "retry_after": 5},
        {"job_id": stale["id"], "lease": "someone-else#0000", "result": {}},
    ]
    answers = (await api.post("/api/outbox/reports", json={"reports": reports})).json()
    assert answers == [
        {"job_id": done["id"], "status": "done", "refused": None},
        {"job_id": failed["id"], "status": "pending", "refused": None},
        {"job_id": stale["id"], "status": None, "refused": "stale_lease"},
    ]
    still = (await api.get(f"/api/guilds/{guild}/outbox/jobs/{stale['id']}")).json()
    assert still["status"] == "running"
