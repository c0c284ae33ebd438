"""The tasks pages: list with statistics and sync status, create (validation next to fields,
nothing created), edit, archive/reopen, delete, and the review queue (accept pays, reject
needs a reason), on both backends."""

from __future__ import annotations

import re
from collections.abc import Mapping

import httpx

from guildbank.platform.uow import Services
from tests.conftest import GUILD_ID
from tests.features.tasks.support import (
    ALICE,
    BOB,
    claim,
    make_task,
    rewards,
    submit,
    task_state,
)
from tests.web.helpers import page_csrf

G = f"/admin/guilds/{GUILD_ID}"
NEW = {
    "name": "Write a guide",
    "reward": "250",
    "duration_hours": "48",
    "max_claims": "3",
    "category": "Docs",
    "description": "Explain the daily streak",
    "channel_id": "700000000000000001",
}


async def _post(client: httpx.AsyncClient, path: str, data: Mapping[str, str]) -> httpx.Response:
    token = await page_csrf(client, f"{G}/tasks")
    return await client.post(path, data={**data, "csrf_token": token})


def _field_error(html: str, field_id: str) -> str:
    found = re.search(rf'id="{field_id}-error" role="alert">([^<]+)<', html)
    assert found is not None, f"no error shown for {field_id}"
    return found.group(1)


async def test_create_from_the_list_then_edit_archive_reopen_and_delete(
    admin: httpx.AsyncClient, services: Services, guild: str
) -> None:
    empty = await admin.get(f"{G}/tasks")
    assert empty.status_code == 200
    assert "No tasks yet" in empty.text
    created = await _post(admin, f"{G}/tasks", NEW)
    assert created.status_code == 303
    task_url = created.headers["location"]
    page = await admin.get(task_url)
    assert "Write a guide" in page.text
    assert "Task Write a guide created." in page.text
    listed = await admin.get(f"{G}/tasks")
    assert 'data-sync="pending"' in listed.text  # its post waits for the bot
    assert "Docs" in listed.text

    saved = await _post(admin, task_url, {**NEW, "reward": "300", "version": "1"})
    assert saved.status_code == 303
    assert "300" in (await admin.get(task_url)).text
    stale = await _post(admin, task_url, {**NEW, "reward": "1", "version": "1"})
    assert stale.status_code == 409
    assert "changed meanwhile" in stale.text

    archived = await _post(admin, f"{task_url}/status", {"status": "archived"})
    assert archived.status_code == 303
    assert "is archived" in (await admin.get(task_url)).text
    reopened = await _post(admin, f"{task_url}/status", {"status": "active"})
    assert reopened.status_code == 303
    unconfirmed = await _post(admin, f"{task_url}/delete", {})
    assert "Tick the box" in (await admin.get(unconfirmed.headers["location"])).text
    deleted = await _post(admin, f"{task_url}/delete", {"confirm": "yes"})
    assert deleted.headers["location"] == f"{G}/tasks"
    assert (await admin.get(task_url)).status_code == 404


async def test_bad_task_forms_show_errors_and_create_nothing(
    admin: httpx.AsyncClient, services: Services, guild: str
) -> None:
    before = await task_state(services, guild)
    for field, value, message in (
        ("reward", "-5", "at least 0"),
        ("duration_hours", "0", "at least 1"),
        ("name", "", "empty"),
        ("reward", "ten", "whole number"),
    ):
        refused = await _post(admin, f"{G}/tasks", {**NEW, field: value})
        assert refused.status_code == 400
        assert message in _field_error(refused.text, f"n-{field}")
    assert await task_state(services, guild) == before


async def test_the_review_queue_accepts_and_rejects(
    admin: httpx.AsyncClient, services: Services, guild: str
) -> None:
    task = await make_task(services, guild, "Screenshot", reward=40)
    await claim(services, guild, task.id, ALICE)
    await claim(services, guild, task.id, BOB)
    await submit(
        services, guild, task.id, ALICE, "Here it is", ["https://cdn.discordapp.com/a/1.png"]
    )
    await submit(services, guild, task.id, BOB, "Mine", ["https://example.com/x.png"])
    queue = await admin.get(f"{G}/tasks/review")
    assert queue.status_code == 200
    assert '<img src="https://cdn.discordapp.com/a/1.png"' in queue.text  # Discord's CDN: previewed
    assert 'href="https://example.com/x.png"' in queue.text
    assert '<img src="https://example.com/x.png"' not in queue.text  # elsewhere: a link only
    assert "Here it is" in queue.text
    assert 'data-nav-count="tasks"' in queue.text

    base = {"task_id": str(task.id)}
    refused = await _post(
        admin, f"{G}/tasks/review", {**base, "user_id": BOB, "decision": "reject"}
    )
    assert "needs a reason" in (await admin.get(refused.headers["location"])).text
    rejected = await _post(
        admin,
        f"{G}/tasks/review",
        {**base, "user_id": BOB, "decision": "reject", "reason": "Not a screenshot"},
    )
    assert "rejected" in (await admin.get(rejected.headers["location"])).text
    accepted = await _post(
        admin, f"{G}/tasks/review", {**base, "user_id": ALICE, "decision": "accept"}
    )
    assert "the reward is paid" in (await admin.get(accepted.headers["location"])).text
    again = await _post(
        admin, f"{G}/tasks/review", {**base, "user_id": ALICE, "decision": "accept"}
    )
    assert "not awaiting review" in (await admin.get(again.headers["location"])).text
    assert await rewards(services, guild) == 1
    page = await admin.get(f"{G}/tasks/review")
    assert "No proof is waiting for review." in page.text
    stats = await admin.get(f"{G}/tasks")
    assert "40" in stats.text


async def test_csrf_is_required(admin: httpx.AsyncClient, guild: str) -> None:
    response = await admin.post(f"{G}/tasks", data=NEW)
    assert response.status_code == 403


async def test_task_settings_form(admin: httpx.AsyncClient, guild: str) -> None:
    form = {
        "require_proof": "1",
        "max_tasks_per_user": "3",
        "review_channel_id": "700000000000000009",
        "version": "0",
    }
    saved = await _post(admin, f"{G}/tasks/settings", form)
    assert saved.status_code == 303
    page = await admin.get(f"{G}/tasks")
    assert "Task settings saved." in page.text
    assert 'name="max_tasks_per_user" value="3"' in page.text
    stale = await _post(admin, f"{G}/tasks/settings", form)  # version 0 is no longer current
    assert "changed meanwhile" in (await admin.get(stale.headers["location"])).text
    bad = await _post(
        admin, f"{G}/tasks/settings", {**form, "max_tasks_per_user": "0", "version": "1"}
    )
    assert "max_tasks_per_user must be 1 to" in (await admin.get(bad.headers["location"])).text
