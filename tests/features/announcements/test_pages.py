"""The dashboard pages on both backends: the embed editor (every violation shown, nothing
saved), posting an embed, announcements now and scheduled (in the server's time zone),
cancel and delete, and the operator's System page."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import httpx

from guildbank.features.announcements import queries
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import GUILD_ID, FakeClock
from tests.features.announcements.support import CHANNEL, jobs, snapshot
from tests.web.helpers import page_csrf

G = f"/admin/guilds/{GUILD_ID}"
EMBED = {
    "name": "Welcome",
    "title": "Hello",
    "description": "Be **nice**",
    "color": "#ff0000",
    "footer_text": "Mods",
    "field_name": ["Rule", ""],
    "field_value": ["No spam", ""],
    "field_inline": ["yes", "no"],
}


async def _post(
    client: httpx.AsyncClient, path: str, data: Mapping[str, object], *, page: str = "/embeds"
) -> httpx.Response:
    token = await page_csrf(client, f"{G}{page}")
    return await client.post(path, data={**data, "csrf_token": token})


async def test_the_editor_saves_an_embed_with_its_fields_in_order(
    admin: httpx.AsyncClient, services: Services, guild: str
) -> None:
    page = await admin.get(f"{G}/embeds")
    assert page.status_code == 200
    title = page.text.split("<title>", 1)[1].split("</title>", 1)[0]
    assert title.startswith("Embeds · ")
    assert "<" not in title  # the page's sections stay in its body
    assert page.text.count('id="custom-commands"') == 1
    assert 'id="embed-preview"' in page.text
    assert "/admin/assets/announcements/embed-editor.js" in page.text
    data = {
        **EMBED,
        "field_name": ["Second", "First", ""],
        "field_value": ["b", "a", ""],
        "field_inline": ["no", "yes", "no"],
    }
    response = await _post(admin, f"{G}/embeds", data)
    assert response.status_code == 303, response.text
    async with unit_of_work(services, read_only=True) as uow:
        [saved] = await queries.list_embeds(uow, guild_id=guild)
        await uow.commit()
    assert saved.embed == {
        "title": "Hello",
        "description": "Be **nice**",
        "color": 0xFF0000,
        "footer": {"text": "Mods"},
        "fields": [
            {"name": "Second", "value": "b", "inline": False},
            {"name": "First", "value": "a", "inline": True},
        ],
    }
    shown = await admin.get(response.headers["location"])
    assert "Embed Welcome saved" in shown.text
    assert 'value="Second"' in shown.text


async def test_every_violation_is_shown_and_nothing_saved(
    admin: httpx.AsyncClient, services: Services, guild: str
) -> None:
    before = await snapshot(services)
    response = await _post(
        admin,
        f"{G}/embeds",
        {
            **EMBED,
            "title": "x" * 257,
            "color": "red",
            "image_url": "ftp://nope",
            "field_name": ["", ""],
            "field_value": ["v" * 1025, ""],
        },
    )
    assert response.status_code == 400
    text = response.text
    assert "nothing was saved" in text
    for said in (
        "title is 257 characters",
        "six hex digits",
        "image.url must be an http(s) link",
        "fields[0].name is required",
        "fields[0].value is 1,025 characters",
    ):
        assert said in text, said
    assert await snapshot(services) == before


async def test_post_an_embed_in_a_channel(
    admin: httpx.AsyncClient, services: Services, guild: str
) -> None:
    created = await _post(admin, f"{G}/embeds", EMBED)
    embed_page = created.headers["location"]
    posted = await _post(admin, f"{embed_page}/post", {"channel_id": CHANNEL}, page="/embeds")
    assert posted.status_code == 303
    assert "Posting" in (await admin.get(posted.headers["location"])).text
    [job] = await jobs(services, guild)
    assert job["payload"]["channel_id"] == CHANNEL
    assert job["payload"]["embeds"][0]["title"] == "Hello"


async def test_schedule_in_the_servers_time_zone_then_cancel(
    admin: httpx.AsyncClient, services: Services, guild: str, clock: FakeClock
) -> None:
    from tests.factories import configure  # noqa: PLC0415

    await configure(services, guild, timezone="Europe/Paris")
    response = await _post(
        admin,
        f"{G}/announcements",
        {"channel_id": CHANNEL, "content": "Party", "at": "2030-06-01T20:00", "embed_id": ""},
        page="/announcements",
    )
    assert response.status_code == 303, response.text
    listed = await admin.get(f"{G}/announcements")
    assert "Scheduled for 2030-06-01 20:00 (Europe/Paris)" in listed.text
    async with unit_of_work(services, read_only=True) as uow:
        [made] = await queries.list_announcements(uow, guild_id=guild)
        await uow.commit()
    assert made.scheduled_at == datetime(2030, 6, 1, 18, 0, tzinfo=UTC)  # 20:00 in Paris
    assert await jobs(services, guild) == []

    cancel = await _post(admin, f"{G}/announcements/{made.id}/cancel", {}, page="/announcements")
    assert cancel.status_code == 303
    assert "Cancelled" in (await admin.get(f"{G}/announcements")).text
    assert 'data-status="cancelled"' in (await admin.get(f"{G}/announcements")).text


async def test_post_now_with_a_saved_embed_and_delete_keeping_the_message(
    admin: httpx.AsyncClient, services: Services, guild: str
) -> None:
    await _post(admin, f"{G}/embeds", EMBED)
    async with unit_of_work(services, read_only=True) as uow:
        [embed] = await queries.list_embeds(uow, guild_id=guild)
        await uow.commit()
    made = await _post(
        admin,
        f"{G}/announcements",
        {"channel_id": CHANNEL, "content": "", "embed_id": str(embed.id), "at": ""},
        page="/announcements",
    )
    assert made.status_code == 303
    [job] = await jobs(services, guild)
    assert job["payload"]["embeds"][0]["title"] == "Hello"
    async with unit_of_work(services, read_only=True) as uow:
        [row] = await queries.list_announcements(uow, guild_id=guild)
        await uow.commit()
    await _post(
        admin,
        f"{G}/announcements/{row.id}/delete",
        {"keep_message": "1"},
        page="/announcements",
    )
    assert len(await jobs(services, guild)) == 1  # no delete job: the message stays


async def test_refusals_on_the_announcements_page(
    admin: httpx.AsyncClient, services: Services, guild: str
) -> None:
    before = await snapshot(services)
    empty = await _post(
        admin,
        f"{G}/announcements",
        {"channel_id": CHANNEL, "content": "  ", "embed_id": "", "at": ""},
        page="/announcements",
    )
    assert empty.status_code == 400
    assert "needs a content" in empty.text
    past = await _post(
        admin,
        f"{G}/announcements",
        {"channel_id": CHANNEL, "content": "x", "embed_id": "", "at": "2001-01-01T00:00"},
        page="/announcements",
    )
    assert past.status_code == 400
    assert "in the past" in past.text
    assert await snapshot(services) == before


async def test_the_system_page_is_the_operators(
    admin: httpx.AsyncClient, services: Services, guild: str
) -> None:
    page = await admin.get("/admin/system")
    assert page.status_code == 200
    assert "No bot has reported yet." in page.text
    token = await page_csrf(admin, "/admin/system")
    saved = await admin.post(
        "/admin/system/presence",
        data={
            "status": "idle",
            "activity_type": "playing",
            "activity_text": "chess",
            "csrf_token": token,
        },
    )
    assert saved.status_code == 303
    defaults = await admin.post(
        "/admin/system/defaults",
        data={
            "currency_name": "coins",
            "currency_emoji": "🪙",
            "starting_balance": "5",
            "daily_amount": "2",
            "streak_bonuses": "7:2, 30:3",
            "csrf_token": token,
        },
    )
    assert defaults.status_code == 303
    shown = await admin.get("/admin/system")
    assert "Defaults for new servers saved." in shown.text
    assert 'value="coins"' in shown.text
    assert "7:2, 30:3" in shown.text
    async with unit_of_work(services, read_only=True) as uow:
        from guildbank.features.announcements.operator import get_presence  # noqa: PLC0415

        presence = await get_presence(uow)
        await uow.commit()
    assert (presence.status, presence.activity_text) == ("idle", "chess")


async def test_a_discord_login_cannot_open_the_system_page(
    manager_client: httpx.AsyncClient,
) -> None:
    response = await manager_client.get("/admin/system")
    assert response.status_code == 403
    assert 'href="/admin/system"' not in (await manager_client.get("/admin/")).text


async def test_the_operator_finds_the_system_page_in_the_top_bar(
    admin: httpx.AsyncClient, guild: str
) -> None:
    for path in ("/admin/", f"{G}/announcements"):
        shown = await admin.get(path)
        assert shown.status_code == 200, path
        assert 'href="/admin/system"' in shown.text, path
    system = await admin.get("/admin/system")
    assert 'href="/admin/system" aria-current="page"' in system.text


async def test_custom_commands_on_the_embeds_page(
    admin: httpx.AsyncClient, services: Services, guild: str
) -> None:
    made = await _post(
        admin, f"{G}/commands", {"name": "rules", "description": "", "response": "Be nice"}
    )
    assert made.status_code == 303, made.text
    shown = await admin.get(made.headers["location"])
    assert "/rules saved" in shown.text
    assert 'data-command="rules"' in shown.text
    before = await snapshot(services)
    refused = await _post(admin, f"{G}/commands", {"name": "Daily!", "response": "x"})
    assert refused.status_code == 400
    assert "lowercase" in refused.text
    assert await snapshot(services) == before
    gone = await _post(admin, f"{G}/commands/rules/delete", {})
    assert gone.status_code == 303
    assert 'data-command="rules"' not in (await admin.get(f"{G}/embeds")).text


async def test_edit_a_posted_announcement_and_reschedule_a_scheduled_one(
    admin: httpx.AsyncClient, services: Services, guild: str
) -> None:
    page = "/announcements"
    await _post(admin, f"{G}/embeds", EMBED)
    await _post(
        admin, f"{G}/announcements", {"channel_id": CHANNEL, "content": "v1", "at": ""}, page=page
    )
    await _post(
        admin,
        f"{G}/announcements",
        {"channel_id": CHANNEL, "content": "later", "at": "2030-01-01T10:00"},
        page=page,
    )
    async with unit_of_work(services, read_only=True) as uow:
        rows = await queries.list_announcements(uow, guild_id=guild)
        [embed] = await queries.list_embeds(uow, guild_id=guild)
        await uow.commit()
    posted = next(a for a in rows if a.status == "posted")
    scheduled = next(a for a in rows if a.status == "scheduled")
    form = await admin.get(f"{G}/announcements/{posted.id}")
    assert form.status_code == 200
    assert "v1" in form.text
    saved = await _post(
        admin,
        f"{G}/announcements/{posted.id}",
        {"content": "v2", "embed": str(embed.id), "channel_id": CHANNEL, "version": "1"},
        page=f"/announcements/{posted.id}",
    )
    assert saved.status_code == 303, saved.text
    last = (await jobs(services, guild))[-1]
    assert (last["payload"]["content"], last["payload"]["embeds"][0]["title"]) == ("v2", "Hello")
    stale = await _post(
        admin,
        f"{G}/announcements/{posted.id}",
        {"content": "v3", "embed": "", "channel_id": CHANNEL, "version": "1"},
        page=f"/announcements/{posted.id}",
    )
    assert stale.status_code == 409
    assert "changed since you opened it" in stale.text

    moved = await _post(
        admin,
        f"{G}/announcements/{scheduled.id}",
        {"content": "later", "embed": "", "channel_id": CHANNEL, "at": "2030-01-02T10:00"},
        page=f"/announcements/{scheduled.id}",
    )
    assert moved.status_code == 303, moved.text
    async with unit_of_work(services, read_only=True) as uow:
        again = await queries.get_announcement(uow, guild_id=guild, announcement_id=scheduled.id)
        await uow.commit()
    assert again.scheduled_at == datetime(2030, 1, 2, 10, 0, tzinfo=UTC)


async def test_a_task_is_announced_from_the_announcements_page(
    admin: httpx.AsyncClient, api: httpx.AsyncClient, services: Services, guild: str
) -> None:
    assert 'id="announce-task"' not in (await admin.get(f"{G}/announcements")).text
    task = await api.post(
        f"/api/guilds/{guild}/tasks",
        json={"name": "Write docs", "reward": 50, "duration_hours": 24, "channel_id": CHANNEL},
    )
    assert task.status_code == 201, task.text
    shown = await admin.get(f"{G}/announcements")
    assert f'<option value="{task.json()["id"]}">#{task.json()["id"]} Write docs</option>' in (
        shown.text
    )
    before = await snapshot(services)
    missing = await _post(
        admin,
        f"{G}/announcements/task",
        {"task_id": "9999", "channel_id": ""},
        page="/announcements",
    )
    assert missing.status_code == 404
    assert await snapshot(services) == before
    made = await _post(
        admin,
        f"{G}/announcements/task",
        {"task_id": str(task.json()["id"]), "channel_id": ""},
        page="/announcements",
    )
    assert made.status_code == 303, made.text
    posts = [j for j in await jobs(services, guild) if j["kind"] == "message.post"]
    assert posts[-1]["payload"]["channel_id"] == CHANNEL  # the task's own channel
    assert posts[-1]["payload"]["embeds"][0]["title"] == "New task: Write docs"
