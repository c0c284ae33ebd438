"""Tasks over HTTP (SPEC §7, §10) on both backends: the flow, bad input, idempotency, auth."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from guildbank.platform.uow import Services
from tests.conftest import make_api_key
from tests.factories import db_snapshot, error_of
from tests.features.tasks.support import ALICE, BOB, MOD, channel, rewards, task_state

URLS = [f"https://cdn.example.com/p/{n}.png" for n in range(6)]


def url(guild: str, path: str = "") -> str:
    return f"/api/guilds/{guild}/tasks{path}"


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def create(api: httpx.AsyncClient, guild: str, **fields: Any) -> Any:
    body = {"name": "Welcome", "reward": 100, **fields}
    return ok(await api.post(url(guild), json=body), 201)


async def test_the_whole_flow_over_http(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    task = await create(
        api,
        guild,
        name="Write a guide",
        reward=250,
        duration_hours=48,
        max_claims=2,
        category="Docs",
        channel_id=channel(1),
    )
    assert (task["status"], task["current_claims"], task["sync_status"]) == ("active", 0, "pending")
    listed = ok(await api.get(url(guild)))
    assert [t["id"] for t in listed] == [task["id"]]
    assert listed[0]["sync_status"] == "pending"
    assert ok(await api.get(url(guild, "?category=Docs&open=true")))[0]["id"] == task["id"]
    assert ok(await api.get(url(guild, "?category=Other"))) == []

    claimed = ok(await api.post(url(guild, f"/{task['id']}/claim"), json={"user_id": ALICE}))
    assert claimed["status"] == "in_progress"
    assert ok(await api.get(url(guild, f"/{task['id']}")))["current_claims"] == 1
    submitted = ok(
        await api.post(
            url(guild, f"/{task['id']}/submit"),
            json={"user_id": ALICE, "proof": "Guide at /docs", "attachments": URLS[:2]},
        )
    )
    assert (submitted["status"], submitted["proof_urls"]) == ("submitted", URLS[:2])
    queue = ok(await api.get(url(guild, "/review")))
    assert [(q["user_id"], q["task_name"]) for q in queue] == [(ALICE, "Write a guide")]

    reviewed = ok(
        await api.post(
            url(guild, f"/{task['id']}/review"),
            json={"user_id": ALICE, "accept": True, "reviewer_id": MOD},
        )
    )
    assert (reviewed["status"], reviewed["reviewer_id"]) == ("accepted", MOD)
    balance = ok(await api.get(f"/api/guilds/{guild}/bytes/balance/{ALICE}"))["balance"]
    assert balance == 100 + 250
    mine = ok(await api.get(url(guild, f"/user/{ALICE}")))
    assert [(m["task_id"], m["status"]) for m in mine] == [(task["id"], "accepted")]
    assert ok(await api.get(url(guild, "/review"))) == []
    stats = ok(await api.get(url(guild, "/stats")))
    assert (stats["accepted"], stats["bytes_paid"], stats["completion_rate"]) == (1, 250, 1.0)
    report = ok(await api.get(f"/api/guilds/{guild}/bytes/integrity"))
    assert report["ok"], report["problems"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("", {"name": "T", "reward": -5}, "reward"),
        ("", {"name": "T", "reward": 5, "duration_hours": 0}, "duration_hours"),
        ("", {"name": "T", "reward": 5, "max_claims": 0}, None),
        ("", {"name": "T", "reward": "5"}, "reward"),
        ("", {"name": "", "reward": 5}, "name"),
        ("/{task}/submit", {"user_id": ALICE, "proof": "x" * 10_240}, "proof"),
        ("/{task}/submit", {"user_id": ALICE, "proof": "ok", "attachments": URLS}, "attachments"),
        ("/{task}/submit", {"user_id": ALICE, "attachments": ["ftp://x/y"]}, "attachments"),
        ("/{task}/review", {"user_id": ALICE, "accept": "yes", "reviewer_id": MOD}, "accept"),
        ("/{task}/claim", {"user_id": "alice"}, "user_id"),
    ],
)
async def test_bad_input_is_a_clear_422_and_changes_nothing(
    api: httpx.AsyncClient,
    guild: str,
    services: Services,
    path: str,
    body: dict[str, Any],
    field: str | None,
) -> None:
    task = await create(api, guild)
    ok(await api.post(url(guild, f"/{task['id']}/claim"), json={"user_id": ALICE}))
    before = (await task_state(services, guild), await db_snapshot(services))
    response = await api.post(url(guild, path.format(task=task["id"])), json=body)
    error = error_of(response, 422)
    if field is not None:
        assert any(field in e["loc"] for e in error["errors"]), error
    assert (await task_state(services, guild), await db_snapshot(services)) == before


async def test_business_refusals_have_codes_and_change_nothing(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    task = await create(api, guild, max_claims=1)
    tid = task["id"]
    ok(await api.post(url(guild, f"/{tid}/claim"), json={"user_id": ALICE}))
    cases = [
        (api.post(url(guild, f"/{tid}/claim"), json={"user_id": BOB}), 409, "task_full"),
        (api.post(url(guild, f"/{tid}/claim"), json={"user_id": ALICE}), 409, "already_claimed"),
        (api.post(url(guild, "/999/claim"), json={"user_id": BOB}), 404, "task_not_found"),
        (api.post(url(guild, f"/{tid}/submit"), json={"user_id": ALICE}), 400, "proof_required"),
        (
            api.post(url(guild, f"/{tid}/submit"), json={"user_id": BOB, "proof": "x"}),
            404,
            "claim_not_found",
        ),
        (
            api.post(
                url(guild, f"/{tid}/review"),
                json={"user_id": ALICE, "accept": True, "reviewer_id": MOD},
            ),
            409,
            "not_awaiting_review",
        ),
    ]
    for call, status, code in cases:
        before = await task_state(services, guild)
        error_of(await call, status, code)
        assert await task_state(services, guild) == before
    ok(await api.post(url(guild, f"/{tid}/submit"), json={"user_id": ALICE, "proof": "done"}))
    before = await task_state(services, guild)
    error_of(
        await api.post(
            url(guild, f"/{tid}/review"),
            json={"user_id": ALICE, "accept": True, "reviewer_id": ALICE},
        ),
        403,
        "own_proof",
    )
    error_of(
        await api.post(
            url(guild, f"/{tid}/review"),
            json={"user_id": ALICE, "accept": False, "reviewer_id": MOD},
        ),
        400,
        "reason_required",
    )
    assert await task_state(services, guild) == before


async def test_a_double_click_pays_once(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    task = await create(api, guild, reward=30)
    tid = task["id"]
    ok(await api.post(url(guild, f"/{tid}/claim"), json={"user_id": ALICE}))
    ok(await api.post(url(guild, f"/{tid}/submit"), json={"user_id": ALICE, "proof": "done"}))
    body = {"user_id": ALICE, "accept": True, "reviewer_id": MOD}
    headers = {"Idempotency-Key": "accept-1"}
    first = await api.post(url(guild, f"/{tid}/review"), json=body, headers=headers)
    replay = await api.post(url(guild, f"/{tid}/review"), json=body, headers=headers)
    assert ok(first) == ok(replay)
    assert replay.headers["Idempotent-Replayed"] == "true"
    # A second click that sent another key: refused, nothing paid again.
    error_of(
        await api.post(url(guild, f"/{tid}/review"), json=body, headers={"Idempotency-Key": "b"}),
        409,
        "not_awaiting_review",
    )
    assert await rewards(services, guild) == 1
    assert ok(await api.get(f"/api/guilds/{guild}/bytes/balance/{ALICE}"))["balance"] == 130


async def test_reject_resubmit_accept_pays_once_over_http(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    tid = (await create(api, guild, reward=20))["id"]
    ok(await api.post(url(guild, f"/{tid}/claim"), json={"user_id": ALICE}))
    ok(await api.post(url(guild, f"/{tid}/submit"), json={"user_id": ALICE, "proof": "v1"}))
    rejected = ok(
        await api.post(
            url(guild, f"/{tid}/review"),
            json={"user_id": ALICE, "accept": False, "reviewer_id": MOD, "reason": "Too short"},
        )
    )
    assert (rejected["status"], rejected["rejection_reason"]) == ("rejected", "Too short")
    ok(await api.post(url(guild, f"/{tid}/submit"), json={"user_id": ALICE, "proof": "v2"}))
    ok(
        await api.post(
            url(guild, f"/{tid}/review"),
            json={"user_id": ALICE, "accept": True, "reviewer_id": MOD},
        )
    )
    assert await rewards(services, guild) == 1


async def test_edit_archive_delete_and_optimistic_versions(
    api: httpx.AsyncClient, guild: str
) -> None:
    task = await create(api, guild)
    tid = task["id"]
    edited = ok(
        await api.put(url(guild, f"/{tid}"), json={"reward": 500}, headers={"If-Match": '"1"'})
    )
    assert (edited["reward"], edited["version"]) == (500, 2)
    error_of(
        await api.put(url(guild, f"/{tid}"), json={"reward": 1}, headers={"If-Match": '"1"'}),
        409,
        "stale_version",
    )
    error_of(
        await api.put(url(guild, f"/{tid}"), json={"reward": 1, "version": 1}), 409, "stale_version"
    )
    error_of(await api.put(url(guild, f"/{tid}"), json={"name": None}), 422)
    error_of(await api.put(url(guild, f"/{tid}"), json={"status": "expired"}), 422)
    archived = ok(await api.put(url(guild, f"/{tid}"), json={"status": "archived"}))
    assert archived["status"] == "archived"
    error_of(
        await api.post(url(guild, f"/{tid}/claim"), json={"user_id": ALICE}), 409, "task_not_active"
    )
    assert ok(await api.get(url(guild, "?status=archived")))[0]["id"] == tid
    deleted = ok(await api.delete(url(guild, f"/{tid}")))
    assert deleted == {"guild_id": guild, "task_id": tid, "claims_removed": 0}
    error_of(await api.get(url(guild, f"/{tid}")), 404, "task_not_found")


async def test_settings_read_write_and_limits(api: httpx.AsyncClient, guild: str) -> None:
    settings = ok(await api.get(url(guild, "/settings")))
    assert {
        k: settings[k]
        for k in (
            "allow_user_tasks",
            "max_tasks_per_user",
            "auto_expire_enabled",
            "require_proof",
            "version",
        )
    } == {
        "allow_user_tasks": False,
        "max_tasks_per_user": 10,
        "auto_expire_enabled": True,
        "require_proof": True,
        "version": 0,
    }
    saved = ok(
        await api.put(
            url(guild, "/settings"),
            json={"max_tasks_per_user": 1, "review_channel_id": channel(5)},
        )
    )
    assert (saved["max_tasks_per_user"], saved["review_channel_id"], saved["version"]) == (
        1,
        channel(5),
        1,
    )
    error_of(await api.put(url(guild, "/settings"), json={"max_tasks_per_user": 0}), 422)
    error_of(
        await api.put(
            url(guild, "/settings"), json={"require_proof": False}, headers={"If-Match": '"0"'}
        ),
        409,
        "stale_version",
    )
    first, second = await create(api, guild, name="A"), await create(api, guild, name="B")
    ok(await api.post(url(guild, f"/{first['id']}/claim"), json={"user_id": ALICE}))
    error_of(
        await api.post(url(guild, f"/{second['id']}/claim"), json={"user_id": ALICE}),
        409,
        "task_limit_reached",
    )


async def test_scopes_and_the_feature_toggle(
    api: httpx.AsyncClient, guild: str, services: Services, app: Any
) -> None:
    task = await create(api, guild)
    token = await make_api_key(services, ("read", "write"))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {token}"},
    ) as writer:
        error_of(await writer.post(url(guild), json={"name": "X", "reward": 1}), 403, "forbidden")
        error_of(
            await writer.post(
                url(guild, f"/{task['id']}/review"),
                json={"user_id": ALICE, "accept": True, "reviewer_id": MOD},
            ),
            403,
            "forbidden",
        )
        ok(await writer.post(url(guild, f"/{task['id']}/claim"), json={"user_id": ALICE}))
    ok(await api.put(f"/api/guilds/{guild}/settings", json={"features": {"tasks": False}}))
    body = error_of(await api.get(url(guild)), 409, "feature_disabled")
    assert body["feature"] == "tasks"
    error_of(
        await api.post(url(guild, f"/{task['id']}/claim"), json={"user_id": BOB}),
        409,
        "feature_disabled",
    )
