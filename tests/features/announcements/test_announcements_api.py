"""Announcements over HTTP on both backends: post now or scheduled, edit, cancel, delete,
pin, orphans, the task helper; every Discord effect an outbox job; refusals change nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import update

from guildbank.features.announcements.scheduler import AnnouncementScheduler
from guildbank.platform.models.outbox import OutboxJob, OutboxMessage
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import FakeClock
from tests.factories import error_of
from tests.features.announcements.support import CHANNEL, OTHER_CHANNEL, jobs, snapshot


def url(guild: str, path: str = "") -> str:
    return f"/api/guilds/{guild}/announcements{path}"


async def announce(api: httpx.AsyncClient, guild: str, **fields: Any) -> Any:
    response = await api.post(url(guild), json={"channel_id": CHANNEL, **fields})
    assert response.status_code == 201, response.text
    return response.json()


async def shown(services: Services, guild: str, key: str, message_id: str) -> None:
    """What the worker records once Discord posted a keyed message."""
    async with unit_of_work(services) as uow:
        uow.session.add(
            OutboxMessage(
                guild_id=guild,
                key=key,
                channel_id=CHANNEL,
                message_id=message_id,
                updated_at=uow.now,
            )
        )
        await uow.session.execute(update(OutboxJob).values(status="done"))
        await uow.commit()


async def test_post_now_with_content_and_embed(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    made = await announce(api, guild, content="Hello @everyone", embed={"title": "News"})
    assert (made["status"], made["sync"], made["posted_at"] is not None) == (
        "posted",
        "pending",
        True,
    )
    [job] = await jobs(services, guild)
    assert job["key"] == f"message:announcement:{made['id']}"
    assert job["payload"] == {
        "channel_id": CHANNEL,
        "key": f"announcement:{made['id']}",
        "content": "Hello @everyone",
        "embeds": [{"title": "News"}],
    }


async def test_a_saved_embed_is_used_by_id(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    saved = (
        await api.post(
            f"/api/guilds/{guild}/embeds", json={"name": "E", "embed": {"title": "Saved"}}
        )
    ).json()
    made = await announce(api, guild, embed_id=saved["id"])
    assert made["embed"] == {"title": "Saved"}
    error_of(
        await api.post(url(guild), json={"channel_id": CHANNEL, "embed_id": 999}),
        404,
        "embed_not_found",
    )


async def test_refusals_change_nothing(
    api: httpx.AsyncClient, guild: str, services: Services, clock: FakeClock
) -> None:
    before = await snapshot(services)
    error_of(await api.post(url(guild), json={"channel_id": CHANNEL}), 400, "invalid_announcement")
    error_of(
        await api.post(
            url(guild),
            json={
                "channel_id": CHANNEL,
                "content": "x",
                "scheduled_at": (clock.now - timedelta(minutes=1)).isoformat(),
            },
        ),
        400,
        "invalid_announcement",
    )
    body = error_of(
        await api.post(url(guild), json={"channel_id": CHANNEL, "embed": {"title": "x" * 300}}),
        400,
        "invalid_embed",
    )
    assert body["violations"][0]["path"] == "embed.title"
    error_of(await api.post(url(guild), json={"channel_id": "nope", "content": "x"}), 422)
    error_of(await api.post(url(guild), json={"channel_id": CHANNEL, "content": "x" * 2001}), 422)
    assert await snapshot(services) == before


async def test_edit_edits_the_discord_message_and_moves_it(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    made = await announce(api, guild, content="v1")
    await shown(services, guild, f"announcement:{made['id']}", "900000000000000001")
    assert (await api.get(url(guild, f"/{made['id']}"))).json()["sync"] == "synced"

    edited = await api.put(
        url(guild, f"/{made['id']}"), json={"content": "v2", "expected_version": 1}
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["content"], edited.json()["version"], edited.json()["sync"]) == (
        "v2",
        2,
        "pending",
    )
    post = (await jobs(services, guild))[-1]
    assert (post["kind"], post["payload"]["content"], post["status"]) == (
        "message.post",
        "v2",
        "pending",
    )

    moved = await api.put(url(guild, f"/{made['id']}"), json={"channel_id": OTHER_CHANNEL})
    assert moved.json()["channel_id"] == OTHER_CHANNEL
    assert (await jobs(services, guild))[-1]["payload"]["channel_id"] == OTHER_CHANNEL

    error_of(
        await api.put(url(guild, f"/{made['id']}"), json={"content": "v3", "expected_version": 1}),
        409,
        "stale_version",
    )
    error_of(
        await api.put(url(guild, f"/{made['id']}"), json={"content": "", "remove_embed": True}),
        400,
        "invalid_announcement",
    )


async def test_delete_with_and_without_the_message(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    first = await announce(api, guild, content="a")
    second = await announce(api, guild, content="b")
    await shown(services, guild, f"announcement:{first['id']}", "900000000000000001")
    done = await api.delete(url(guild, f"/{first['id']}"))
    assert done.json()["status"] == "deleted"
    assert (await jobs(services, guild))[-1] == {
        "kind": "message.delete",
        "key": f"message:announcement:{first['id']}",
        "payload": {"key": f"announcement:{first['id']}"},
        "status": "pending",
    }
    count = len(await jobs(services, guild))
    kept = await api.delete(url(guild, f"/{second['id']}"), params={"delete_message": "false"})
    assert kept.json()["status"] == "deleted"
    assert len(await jobs(services, guild)) == count  # the message stays in Discord
    error_of(await api.delete(url(guild, f"/{first['id']}")), 409, "announcement_state")
    error_of(
        await api.put(url(guild, f"/{first['id']}"), json={"content": "x"}),
        409,
        "announcement_state",
    )
    assert [a["id"] for a in (await api.get(url(guild))).json()] == []
    assert len((await api.get(url(guild), params={"include_deleted": "true"})).json()) == 2


async def test_scheduled_then_cancelled_never_posts(
    api: httpx.AsyncClient, guild: str, services: Services, clock: FakeClock
) -> None:
    at = clock.now + timedelta(hours=1)
    made = await announce(api, guild, content="later", scheduled_at=at.isoformat())
    assert (made["status"], made["posted_at"], made["sync"]) == ("scheduled", None, "none")
    assert await jobs(services, guild) == []
    cancelled = await api.post(url(guild, f"/{made['id']}/cancel"))
    assert cancelled.json()["status"] == "cancelled"
    clock.advance(hours=2)
    assert await AnnouncementScheduler(services, owner="a").run_once() == []
    assert await jobs(services, guild) == []
    error_of(await api.post(url(guild, f"/{made['id']}/cancel")), 409, "announcement_state")


async def test_scheduled_is_posted_at_its_time_once_with_two_schedulers(
    api: httpx.AsyncClient, guild: str, services: Services, clock: FakeClock
) -> None:
    at = clock.now + timedelta(minutes=30)
    made = await announce(api, guild, content="on time", scheduled_at=at.isoformat())
    web1 = AnnouncementScheduler(services, owner="web-1", every=5)
    web2 = AnnouncementScheduler(services, owner="web-2", every=5)
    assert await web1.run_once() == []  # not yet due
    assert await web2.run_once() is None  # web-1 holds the lease
    clock.advance(minutes=29, seconds=59)
    assert await web1.run_once() == []
    clock.advance(seconds=1)
    assert await web1.run_once() == [made["id"]]
    assert await web1.run_once() == []
    # web-1 dies: its lease runs out, web-2 takes over and finds nothing left to post.
    clock.advance(minutes=5)
    assert await web2.run_once() == []
    [job] = await jobs(services, guild)
    assert job["payload"]["content"] == "on time"
    got = (await api.get(url(guild, f"/{made['id']}"))).json()
    assert (got["status"], got["posted_at"] is not None) == ("posted", True)


async def test_a_scheduled_one_can_be_edited_and_rescheduled(
    api: httpx.AsyncClient, guild: str, services: Services, clock: FakeClock
) -> None:
    made = await announce(
        api, guild, content="x", scheduled_at=(clock.now + timedelta(hours=1)).isoformat()
    )
    later = clock.now + timedelta(hours=3)
    changed = await api.put(
        url(guild, f"/{made['id']}"), json={"content": "y", "scheduled_at": later.isoformat()}
    )
    assert changed.json()["content"] == "y"
    assert await jobs(services, guild) == []
    clock.advance(hours=2)
    assert await AnnouncementScheduler(services, owner="a").run_once() == []
    clock.advance(hours=1)
    assert await AnnouncementScheduler(services, owner="a").run_once() == [made["id"]]


async def test_pin_and_unpin_are_outbox_jobs_the_newest_wish_wins(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    made = await announce(api, guild, content="x")
    key = f"announcement:{made['id']}"
    pinned = (await api.post(url(guild, f"/{made['id']}/pin"))).json()
    assert (pinned["pin"], pinned["pin_sync"]) == (True, "pending")
    assert [(j["kind"], j["key"], j["payload"]) for j in await jobs(services, guild)] == [
        (
            "message.post",
            f"message:{key}",
            {"channel_id": CHANNEL, "key": key, "content": "x", "embeds": []},
        ),
        ("message.pin", f"pin:{key}", {"key": key}),
    ]
    unpinned = (await api.post(url(guild, f"/{made['id']}/unpin"))).json()
    assert unpinned["pin"] is False
    # The unpin replaced the pin that had not run yet.
    assert [j["kind"] for j in await jobs(services, guild)] == ["message.post", "message.unpin"]
    await shown(services, guild, key, "900000000000000009")
    got = (await api.get(url(guild, f"/{made['id']}"))).json()
    assert (got["sync"], got["pin_sync"]) == ("synced", "synced")


async def test_posted_with_pin_writes_the_post_then_the_pin(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    made = await announce(api, guild, content="x", pin=True)
    key = f"announcement:{made['id']}"
    assert [(j["kind"], j["key"]) for j in await jobs(services, guild)] == [
        ("message.post", f"message:{key}"),
        ("message.pin", f"pin:{key}"),
    ]
    # Every later post pins again: a moved (or re-posted) message is a new, unpinned one.
    await api.put(url(guild, f"/{made['id']}"), json={"channel_id": OTHER_CHANNEL})
    assert [j["kind"] for j in await jobs(services, guild)] == ["message.post", "message.pin"]
    await shown(services, guild, key, "900000000000000009")
    await api.put(url(guild, f"/{made['id']}"), json={"content": "y"})
    kinds = [(j["kind"], j["status"]) for j in await jobs(services, guild)]
    assert kinds[-2:] == [("message.post", "pending"), ("message.pin", "pending")]


async def test_a_scheduled_pinned_one_is_pinned_when_posted(
    api: httpx.AsyncClient, guild: str, services: Services, clock: FakeClock
) -> None:
    at = clock.now + timedelta(hours=1)
    made = await announce(api, guild, content="x", scheduled_at=at.isoformat())
    assert (await api.post(url(guild, f"/{made['id']}/pin"))).json()["pin"] is True
    assert await jobs(services, guild) == []  # nothing to pin before it is posted
    clock.advance(hours=1)
    assert await AnnouncementScheduler(services, owner="a").run_once() == [made["id"]]
    assert [j["kind"] for j in await jobs(services, guild)] == ["message.post", "message.pin"]


async def test_an_orphan_is_flagged_and_an_edit_posts_it_again(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    made = await announce(api, guild, content="x")
    await shown(services, guild, f"announcement:{made['id']}", "900000000000000009")
    unrelated = await api.post(
        url(guild, "/orphans"), json={"channel_id": CHANNEL, "message_id": "900000000000000001"}
    )
    assert unrelated.status_code == 200
    assert unrelated.json() is None
    flagged = await api.post(
        url(guild, "/orphans"), json={"channel_id": CHANNEL, "message_id": "900000000000000009"}
    )
    assert (flagged.json()["orphaned"], flagged.json()["sync"]) == (True, "orphaned")
    edited = (await api.put(url(guild, f"/{made['id']}"), json={"content": "again"})).json()
    assert (edited["orphaned"], edited["sync"]) == (False, "pending")


async def test_task_helper_posts_the_task_card(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    task = await api.post(
        f"/api/guilds/{guild}/tasks",
        json={
            "name": "Write docs",
            "description": "The README",
            "reward": 50,
            "duration_hours": 24,
            "channel_id": CHANNEL,
        },
    )
    assert task.status_code == 201, task.text
    made = await api.post(url(guild, f"/task/{task.json()['id']}"), json={})
    assert made.status_code == 201, made.text
    embed = made.json()["embed"]
    assert embed["title"] == "New task: Write docs"
    assert embed["description"] == "The README"
    assert {"name": "Reward", "value": "50", "inline": True} in embed["fields"]
    assert made.json()["task_id"] == task.json()["id"]
    error_of(await api.post(url(guild, "/task/9999"), json={}), 404, "task_not_found")


async def test_the_old_message_of_a_move_is_no_orphan(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    made = await announce(api, guild, content="x")
    await shown(services, guild, f"announcement:{made['id']}", "900000000000000009")
    await api.put(url(guild, f"/{made['id']}"), json={"channel_id": OTHER_CHANNEL})
    # The worker posts in the new channel and deletes the old message before it reports.
    report = await api.post(
        url(guild, "/orphans"), json={"channel_id": CHANNEL, "message_id": "900000000000000009"}
    )
    assert report.json() is None
    got = (await api.get(url(guild, f"/{made['id']}"))).json()
    assert (got["orphaned"], got["sync"]) == (False, "pending")
