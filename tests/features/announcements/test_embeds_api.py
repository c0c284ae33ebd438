"""Embed templates over HTTP on both backends: CRUD, limits named, post/edit/delete through
the outbox, refusals that change nothing."""

from __future__ import annotations

from typing import Any

import httpx

from guildbank.platform.uow import Services
from tests.conftest import OTHER_GUILD_ID
from tests.factories import error_of
from tests.features.announcements.support import CHANNEL, OTHER_CHANNEL, jobs, snapshot

EMBED = {
    "title": "Welcome",
    "description": "Be nice.",
    "color": 0x5865F2,
    "fields": [{"name": "Rule 1", "value": "No spam", "inline": True}],
    "footer": {"text": "The mods"},
}


def url(guild: str, path: str = "") -> str:
    return f"/api/guilds/{guild}/embeds{path}"


async def create(api: httpx.AsyncClient, guild: str, name: str = "Rules", **embed: Any) -> Any:
    response = await api.post(url(guild), json={"name": name, "embed": {**EMBED, **embed}})
    assert response.status_code == 201, response.text
    return response.json()


async def test_create_list_get_update(api: httpx.AsyncClient, guild: str) -> None:
    made = await create(api, guild)
    assert made["name"] == "Rules"
    assert made["embed"]["fields"] == EMBED["fields"]
    assert (made["channel_id"], made["sync"], made["version"]) == (None, "none", 1)

    listed = (await api.get(url(guild))).json()
    assert [e["id"] for e in listed] == [made["id"]]

    changed = await api.put(
        url(guild, f"/{made['id']}"),
        json={"name": "House rules", "embed": {"title": "New"}, "expected_version": 1},
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["name"], changed.json()["embed"], changed.json()["version"]) == (
        "House rules",
        {"title": "New"},
        2,
    )
    fetched = (await api.get(url(guild, f"/{made['id']}"))).json()
    assert fetched["name"] == "House rules"


async def test_every_violation_is_named_and_nothing_stored(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    before = await snapshot(services)
    response = await api.post(
        url(guild),
        json={
            "name": "Bad",
            "embed": {
                "title": "x" * 257,
                "color": 0x1000000,
                "image": {"url": "ftp://x"},
                "fields": [{"name": "n", "value": "v"}] * 26,
            },
        },
    )
    body = error_of(response, 400, "invalid_embed")
    assert {(v["path"], v["code"]) for v in body["violations"]} == {
        ("embed.title", "too_long"),
        ("embed.color", "invalid_color"),
        ("embed.image.url", "invalid_url"),
        ("embed.fields", "too_many_fields"),
    }
    assert "embed.title" in body["detail"]
    assert await snapshot(services) == before


async def test_post_edits_in_place_moves_and_deletes_through_the_outbox(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    made = await create(api, guild)
    key = f"message:embed:{made['id']}"
    posted = await api.post(url(guild, f"/{made['id']}/post"), json={"channel_id": CHANNEL})
    assert posted.status_code == 200, posted.text
    assert (posted.json()["channel_id"], posted.json()["sync"]) == (CHANNEL, "pending")
    [job] = await jobs(services, guild)
    assert (job["kind"], job["key"], job["payload"]["channel_id"]) == ("message.post", key, CHANNEL)
    assert job["payload"]["embeds"][0]["title"] == "Welcome"

    # An edit while the post is still waiting coalesces into the same job: the newest wins.
    await api.put(url(guild, f"/{made['id']}"), json={"embed": {"title": "Edited"}})
    [job] = await jobs(services, guild)
    assert job["payload"]["embeds"] == [{"title": "Edited"}]

    # Posting in another channel moves the keyed message.
    await api.post(url(guild, f"/{made['id']}/post"), json={"channel_id": OTHER_CHANNEL})
    [job] = await jobs(services, guild)
    assert job["payload"]["channel_id"] == OTHER_CHANNEL

    deleted = await api.delete(url(guild, f"/{made['id']}"))
    assert deleted.status_code == 200, deleted.text
    [job] = await jobs(services, guild)
    assert (job["kind"], job["key"]) == ("message.delete", key)
    error_of(await api.get(url(guild, f"/{made['id']}")), 404, "embed_not_found")


async def test_names_are_unique_per_guild(api: httpx.AsyncClient, guild: str) -> None:
    await create(api, guild)
    error_of(
        await api.post(url(guild), json={"name": "rules", "embed": EMBED}), 409, "embed_name_taken"
    )


async def test_stale_version_is_refused(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    made = await create(api, guild)
    await api.put(url(guild, f"/{made['id']}"), json={"name": "First"})
    before = await snapshot(services)
    error_of(
        await api.put(url(guild, f"/{made['id']}"), json={"name": "Second", "expected_version": 1}),
        409,
        "stale_version",
    )
    assert await snapshot(services) == before


async def test_other_guilds_embeds_are_not_found(api: httpx.AsyncClient, guild: str) -> None:
    made = await create(api, guild)
    error_of(await api.get(url(OTHER_GUILD_ID, f"/{made['id']}")), 404)


async def test_idempotent_create(api: httpx.AsyncClient, guild: str) -> None:
    headers = {"Idempotency-Key": "embed-1"}
    body = {"name": "Once", "embed": EMBED}
    first = await api.post(url(guild), json=body, headers=headers)
    again = await api.post(url(guild), json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert len((await api.get(url(guild))).json()) == 1


async def test_unknown_fields_are_refused(api: httpx.AsyncClient, guild: str) -> None:
    error_of(
        await api.post(url(guild), json={"name": "x", "embed": {"title": "t", "video": {}}}),
        422,
        "validation_error",
    )
