"""The members pages (issue 15 items 1 and 4) on SQLite and PostgreSQL: the list with stored
names, a member's page (squad, inventory, tasks, reactivation), the members who left with the
cleanup preview and run, and the economy reset behind a typed confirmation."""

from __future__ import annotations

import re
from collections.abc import Mapping

import httpx

from guildbank.features.squads import admin as squad_admin
from guildbank.features.squads import service as squads_service
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import GUILD_ID, FakeClock
from tests.factories import balance_view, claim, db_snapshot, fund, member
from tests.features.members.helpers import integrity_ok, leave, name, type_counts
from tests.features.shop.helpers import buy, make_item
from tests.web.helpers import page_csrf

G = f"/admin/guilds/{GUILD_ID}"


async def post(client: httpx.AsyncClient, path: str, data: Mapping[str, object]) -> httpx.Response:
    token = await page_csrf(client, f"{G}/members")
    return await client.post(path, data={**data, "csrf_token": token})


def rows(html: str, attribute: str = "data-member") -> list[str]:
    return re.findall(rf'<tr {attribute}="(\d+)"', html)


async def test_the_members_tab_lists_stored_names_and_finds_members_by_name(
    admin: httpx.AsyncClient, services: Services, guild: str
) -> None:
    await fund(services, guild, member(1), 10)
    await fund(services, guild, member(2), 20)
    await name(services, guild, {member(1): "Arthur Dent"})
    page = await admin.get(f"{G}/members")
    assert page.status_code == 200
    assert page.text.count('href="/admin/guilds/' + GUILD_ID + '/members"') >= 1
    assert len(re.findall(r">Members</a>", page.text)) == 1  # one tab
    assert "Arthur Dent" in page.text
    assert f"{G}/members/inactive" in page.text
    found = await admin.get(f"{G}/members", params={"q": "dent"})
    assert rows(found.text) == [member(1)]


async def test_a_members_page_shows_squad_inventory_tasks_and_reactivates(
    admin: httpx.AsyncClient, services: Services, guild: str
) -> None:
    user = member(1)
    await claim(services, guild, user)
    async with unit_of_work(services) as uow:
        squad = await squad_admin.create_squad(
            uow, guild_id=guild, role_id="500000000000000001", name="Owls"
        )
        await squads_service.join_squad(uow, guild_id=guild, user_id=user, squad_id=squad.id)
        await uow.commit()
    item = await make_item(services, guild, "Cookie", price=5)
    await buy(services, guild, user, item.id, 3)
    await leave(services, guild, user)
    page = (await admin.get(f"{G}/members/{user}")).text
    assert "Owls" in page
    assert "Cookie × 3" in page
    assert "No tasks claimed." in page
    assert "data-inactive" in page
    back = await post(admin, f"{G}/members/{user}/reactivate", {})
    assert back.status_code == 303
    shown = (await admin.get(back.headers["location"])).text
    assert "Member reactivated" in shown
    assert "data-inactive" not in shown
    assert (await balance_view(services, guild, user)).is_active
    # An unknown member has no account to reactivate.
    missing = await post(admin, f"{G}/members/{member(9)}/reactivate", {})
    assert missing.status_code == 404


async def test_cleanup_preview_then_run_from_the_dashboard(
    admin: httpx.AsyncClient, services: Services, guild: str, clock: FakeClock
) -> None:
    for n, balance in ((1, 40), (2, 60), (3, 7)):
        await fund(services, guild, member(n), balance)
    await leave(services, guild, member(1))
    await leave(services, guild, member(2))
    clock.advance(days=40)
    await leave(services, guild, member(3))
    listing = await admin.get(f"{G}/members/inactive")
    assert listing.status_code == 200
    assert rows(listing.text) == [member(1), member(2), member(3)]
    assert "2026-03-14" in listing.text  # leave dates

    before = await db_snapshot(services)
    preview = await post(admin, f"{G}/members/cleanup", {"action": "preview", "days": "30"})
    assert preview.status_code == 200
    assert 'data-preview-members="2" data-preview-amount="100"' in preview.text
    assert rows(preview.text, "data-cleanup") == [member(1), member(2)]
    assert await db_snapshot(services) == before
    bad = await post(admin, f"{G}/members/cleanup", {"action": "preview", "days": "soon"})
    assert bad.status_code == 400
    assert "Days: enter a whole number" in bad.text

    # A run that no longer matches what the admin saw is refused with a fresh preview.
    stale = await post(
        admin,
        f"{G}/members/cleanup",
        {"action": "run", "days": "30", "members": "2", "amount": "90"},
    )
    assert stale.status_code == 409
    assert "Members changed since the preview" in stale.text
    assert await db_snapshot(services) == before

    run = await post(
        admin,
        f"{G}/members/cleanup",
        {"action": "run", "days": "30", "members": "2", "amount": "100"},
    )
    assert run.status_code == 303
    shown = (await admin.get(run.headers["location"])).text
    assert "Cleaned up 2 members: 100 returned to the mint." in shown
    assert (await type_counts(services, guild))["cleanup"] == 2
    assert (await balance_view(services, guild, member(3))).balance == 7
    assert await integrity_ok(services, guild)


async def test_the_economy_reset_needs_the_typed_confirmation(
    admin: httpx.AsyncClient, services: Services, guild: str
) -> None:
    for n in (1, 2):
        await claim(services, guild, member(n))
    form = await admin.get(f"{G}/economy/reset")
    assert form.status_code == 200
    assert 'data-members="2" data-amount="220"' in form.text
    before = await db_snapshot(services)
    for typed in ("", "reset", "Test"):
        refused = await post(admin, f"{G}/economy/reset", {"confirm": typed})
        assert refused.status_code == 400
        assert "To reset the economy, type" in refused.text
    assert await db_snapshot(services) == before
    done = await post(admin, f"{G}/economy/reset", {"confirm": "Test guild", "reason": "S2"})
    assert done.status_code == 303
    shown = (await admin.get(done.headers["location"])).text
    assert "Economy reset: 220 returned to the mint from 2 members" in shown
    assert (await type_counts(services, guild))["reset"] == 2
    assert await integrity_ok(services, guild)
    again = await post(admin, f"{G}/economy/reset", {"confirm": "RESET"})
    assert again.status_code == 303
    assert (await type_counts(services, guild))["reset"] == 2  # nothing left to reset
