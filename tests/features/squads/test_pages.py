"""The squads pages: list, create, edit, deactivate/reactivate, delete (empty, moving or
removing members) and the roster; validation next to fields, domain refusals as flashes,
CSRF, and a manager of one server who cannot touch another server's squads."""

from __future__ import annotations

import re
from collections.abc import Mapping

import httpx
from sqlalchemy import select

from guildbank.features.squads import admin as squad_admin
from guildbank.features.squads import queries as squads
from guildbank.features.squads.schemas import SquadOut
from guildbank.platform.models.squads import SquadMembership
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import GUILD_ID, OTHER_GUILD_ID
from tests.factories import db_snapshot, member
from tests.fakes.discord import FakeDiscord
from tests.features.squads.test_service import join, make_squad, role, squad_of
from tests.web.helpers import page_csrf

G = f"/admin/guilds/{GUILD_ID}"
NEW = {
    "name": "Red Team",
    "role_id": role(1),
    "emoji": "🔴",
    "description": "Fast and loud",
    "switch_cost": "25",
    "max_members": "3",
    "is_active": "1",
}


async def _post(
    client: httpx.AsyncClient, path: str, data: Mapping[str, str], *, base: str = G
) -> httpx.Response:
    token = await page_csrf(client, f"{base}/squads")
    return await client.post(path, data={**data, "csrf_token": token})


async def _all(services: Services, guild_id: str = GUILD_ID) -> list[SquadOut]:
    async with unit_of_work(services, read_only=True) as uow:
        rows = await squads.list_squads(uow, guild_id=guild_id, include_inactive=True)
        await uow.commit()
    return rows


async def _snapshot(
    services: Services, guild_ids: tuple[str, ...] = (GUILD_ID, OTHER_GUILD_ID)
) -> tuple[object, ...]:
    """Ledger, accounts and settings, plus every squad and membership of these servers."""
    async with unit_of_work(services, read_only=True) as uow:
        memberships = (
            await uow.session.execute(
                select(
                    SquadMembership.guild_id, SquadMembership.user_id, SquadMembership.squad_id
                ).order_by(SquadMembership.id)
            )
        ).all()
        await uow.commit()
    every = [view for guild_id in guild_ids for view in await _all(services, guild_id)]
    return await db_snapshot(services), tuple(every), tuple(map(tuple, memberships))


def _field_error(html: str, field_id: str) -> str:
    found = re.search(rf'id="{field_id}-error" role="alert">([^<]+)<', html)
    assert found is not None, f"no error shown for {field_id}"
    return found.group(1)


async def test_the_list_shows_squads_counts_and_status(
    admin: httpx.AsyncClient, services: Services, guild: str
) -> None:
    reds = await make_squad(services, guild, "Reds", 1, emoji="🔴", switch_cost=30, max_members=5)
    blues = await make_squad(services, guild, "Blues", 2, is_active=False)
    await join(services, guild, member(1), reds.id)
    await join(services, guild, member(2), reds.id)
    page = await admin.get(f"{G}/squads")
    assert page.status_code == 200
    html = page.text
    assert f'<a href="{G}/squads" aria-current="page">Squads</a>' in html
    rows = re.findall(r'<tr data-squad="(\d+)"', html)
    assert rows == [str(blues.id), str(reds.id)]  # by name
    reds_row = html.split(f'data-squad="{reds.id}"')[1].split("</tr>")[0]
    assert "🔴" in reds_row
    assert "Reds" in reds_row
    assert f"<code>{role(1)}</code>" in reds_row  # no bot token: the role id
    assert ">30<" in reds_row
    assert re.search(r"data-squad-count=\"\d+\">2</span> / 5", reds_row)
    assert "badge active" in reds_row
    blues_row = html.split(f'data-squad="{blues.id}"')[1].split("</tr>")[0]
    assert "badge inactive" in blues_row
    assert 'class="inactive"' in html


async def test_create_a_squad(admin: httpx.AsyncClient, services: Services, guild: str) -> None:
    response = await _post(admin, f"{G}/squads", NEW)
    assert response.status_code == 303, response.text[:500]
    [created] = await _all(services)
    assert response.headers["location"] == f"{G}/squads/{created.id}"
    assert (created.name, created.role_id, created.emoji) == ("Red Team", role(1), "🔴")
    assert (created.switch_cost, created.max_members, created.is_active) == (25, 3, True)
    assert created.description == "Fast and loud"
    shown = await admin.get(response.headers["location"])
    assert "Squad Red Team created." in shown.text
    assert 'value="Red Team"' in shown.text

    closed = await _post(
        admin, f"{G}/squads", {"name": "Later", "role_id": role(2), "switch_cost": "0"}
    )
    assert closed.status_code == 303
    later = next(s for s in await _all(services) if s.name == "Later")
    assert (later.is_active, later.max_members, later.emoji) == (False, None, None)


async def test_create_shows_what_to_fix_next_to_each_field(
    admin: httpx.AsyncClient, services: Services, guild: str
) -> None:
    bad = {"name": "  ", "role_id": "abc", "switch_cost": "-1", "max_members": "0"}
    response = await _post(admin, f"{G}/squads", bad)
    assert response.status_code == 400
    html = response.text
    assert "nothing was created" in html
    assert _field_error(html, "n-name") == "This cannot be empty."
    assert _field_error(html, "n-role_id") == "Enter a Discord role id (digits only)."
    assert _field_error(html, "n-switch_cost") == "Must be at least 0."
    assert _field_error(html, "n-max_members") == "Must be positive (at least 1)."
    assert 'value="abc"' in html  # what was typed stays
    assert await _all(services) == []

    await make_squad(services, guild, "Reds", 1)
    taken = await _post(admin, f"{G}/squads", {**NEW, "name": "REDS", "role_id": role(9)})
    assert taken.status_code == 409
    assert _field_error(taken.text, "n-name") == "A squad named Reds already exists."
    same_role = await _post(admin, f"{G}/squads", {**NEW, "name": "Other"})
    assert same_role.status_code == 409
    assert "already belongs to squad Reds" in _field_error(same_role.text, "n-role_id")
    assert [s.name for s in await _all(services)] == ["Reds"]


async def test_edit_a_squad(admin: httpx.AsyncClient, services: Services, guild: str) -> None:
    reds = await make_squad(services, guild, "Reds", 1, max_members=4)
    await make_squad(services, guild, "Blues", 2)
    path = f"{G}/squads/{reds.id}"
    form = {
        "name": "Crimson",
        "role_id": role(3),
        "emoji": "",
        "description": "renamed",
        "switch_cost": "7",
        "max_members": "",
    }
    saved = await _post(admin, path, form)
    assert saved.status_code == 303, saved.text[:500]
    assert "Squad saved." in (await admin.get(saved.headers["location"])).text
    [crimson] = [s for s in await _all(services) if s.id == reds.id]
    assert (crimson.name, crimson.role_id, crimson.switch_cost) == ("Crimson", role(3), 7)
    assert (crimson.max_members, crimson.description, crimson.is_active) == (None, "renamed", True)

    invalid = await _post(admin, path, {**form, "switch_cost": "lots"})
    assert invalid.status_code == 400
    assert _field_error(invalid.text, "e-switch_cost") == "Enter a whole number."
    taken = await _post(admin, path, {**form, "role_id": role(2)})
    assert taken.status_code == 409
    assert "already belongs to squad Blues" in _field_error(taken.text, "e-role_id")
    [unchanged] = [s for s in await _all(services) if s.id == reds.id]
    assert unchanged == crimson


async def test_deactivate_and_reactivate(
    admin: httpx.AsyncClient, services: Services, guild: str
) -> None:
    reds = await make_squad(services, guild, "Reds", 1)
    await join(services, guild, member(1), reds.id)
    path = f"{G}/squads/{reds.id}/active"
    off = await _post(admin, path, {"active": "0"})
    assert off.status_code == 303
    page = (await admin.get(off.headers["location"])).text
    assert "Reds is inactive: its members stay, nobody can join." in page
    assert ">Reactivate<" in page
    [closed] = await _all(services)
    assert (closed.is_active, closed.member_count) == (False, 1)
    on = await _post(admin, path, {"active": "1"})
    assert on.status_code == 303
    [opened] = await _all(services)
    assert opened.is_active
    nonsense = await _post(admin, path, {"active": "maybe"})
    shown = await admin.get(nonsense.headers["location"])
    assert "Choose to activate or deactivate." in shown.text


async def test_delete_empty_or_with_an_explicit_choice(
    admin: httpx.AsyncClient, services: Services, guild: str
) -> None:
    reds = await make_squad(services, guild, "Reds", 1)
    blues = await make_squad(services, guild, "Blues", 2, max_members=1)
    greens = await make_squad(services, guild, "Greens", 3)
    empty = await make_squad(services, guild, "Empty", 4)
    await join(services, guild, member(1), reds.id)
    await join(services, guild, member(2), reds.id)

    async def delete(squad_id: int, **data: str) -> str:
        response = await _post(admin, f"{G}/squads/{squad_id}/delete", data)
        assert response.status_code == 303, response.text[:300]
        return (await admin.get(response.headers["location"])).text

    assert "Tick the box" in await delete(empty.id)
    assert "Squad deleted." in await delete(empty.id, confirm="yes")

    refused = await delete(reds.id, confirm="yes")
    assert "still has 2 member(s)" in refused
    full = await delete(reds.id, confirm="yes", members="move", move_to=str(blues.id))
    assert "Blues is full" in full
    no_target = await delete(reds.id, confirm="yes", members="move", move_to="")
    assert "Choose the squad to move members to." in no_target
    assert {s.name for s in await _all(services)} == {"Reds", "Blues", "Greens"}

    moved = await delete(reds.id, confirm="yes", members="move", move_to=str(greens.id))
    assert "Squad deleted; 2 member(s) moved to Greens." in moved
    assert await squad_of(services, guild, member(1)) == greens.id

    removed = await delete(greens.id, confirm="yes", members="remove")
    assert "Squad deleted; 2 member(s) removed from it." in removed
    assert await squad_of(services, guild, member(2)) is None
    assert [s.name for s in await _all(services)] == ["Blues"]


async def test_unknown_squads_are_not_found(admin: httpx.AsyncClient, guild: str) -> None:
    for path in (f"{G}/squads/999", f"{G}/squads/x", f"{G}/squads/{'9' * 30}"):
        assert (await admin.get(path)).status_code == 404, path
    assert (await _post(admin, f"{G}/squads/999", NEW)).status_code == 404


async def test_forms_without_the_csrf_token_are_refused(
    admin: httpx.AsyncClient, services: Services, guild: str
) -> None:
    reds = await make_squad(services, guild, "Reds", 1)
    before = await _snapshot(services, (guild,))
    posts = [
        (f"{G}/squads", NEW),
        (f"{G}/squads/{reds.id}", {**NEW, "name": "Pwned"}),
        (f"{G}/squads/{reds.id}/active", {"active": "0"}),
        (f"{G}/squads/{reds.id}/delete", {"confirm": "yes"}),
    ]
    for path, data in posts:
        for token in ({}, {"csrf_token": "forged"}):
            response = await admin.post(path, data={**data, **token})
            assert response.status_code == 403, path
            assert "CSRF" in response.text
    assert await _snapshot(services, (guild,)) == before
    assert [(s.name, s.is_active) for s in await _all(services)] == [("Reds", True)]


async def test_a_manager_of_one_server_cannot_touch_another_servers_squads(
    manager_client: httpx.AsyncClient, services: Services
) -> None:
    theirs = await make_squad(services, OTHER_GUILD_ID, "Theirs", 1)
    await join(services, OTHER_GUILD_ID, member(1), theirs.id)
    ours = await make_squad(services, GUILD_ID, "Ours", 2)
    b = f"/admin/guilds/{OTHER_GUILD_ID}"
    for path in (f"{b}/squads", f"{b}/squads/{theirs.id}"):
        response = await manager_client.get(path)
        assert response.status_code == 404, path
        assert "Theirs" not in response.text
    # Guild B's squad id under guild A's URL is not found either.
    assert (await manager_client.get(f"{G}/squads/{theirs.id}")).status_code == 404

    before = await _snapshot(services)
    forged = [
        (f"{b}/squads", {**NEW, "role_id": role(5)}),
        (f"{b}/squads/{theirs.id}", {**NEW, "name": "Pwned"}),
        (f"{b}/squads/{theirs.id}/active", {"active": "0"}),
        (f"{b}/squads/{theirs.id}/delete", {"confirm": "yes", "members": "remove"}),
        (f"{G}/squads/{theirs.id}", {**NEW, "name": "Pwned"}),
        (f"{G}/squads/{theirs.id}/active", {"active": "0"}),
    ]
    for path, data in forged:
        response = await _post(manager_client, path, data)
        assert response.status_code == 404, path
    assert await _snapshot(services) == before
    # Moving members of A's squad into B's squad is refused too (flash, nothing moves).
    await join(services, GUILD_ID, member(2), ours.id)
    before = await _snapshot(services)
    move = await _post(
        manager_client,
        f"{G}/squads/{ours.id}/delete",
        {"confirm": "yes", "members": "move", "move_to": str(theirs.id)},
    )
    assert move.status_code == 303
    assert "not found" in (await manager_client.get(move.headers["location"])).text
    assert await _snapshot(services) == before
    assert [(s.name, s.member_count) for s in await _all(services, OTHER_GUILD_ID)] == [
        ("Theirs", 1)
    ]
    # The control: the same forms work on the server they manage.
    ok = await _post(manager_client, f"{G}/squads/{ours.id}/active", {"active": "0"})
    assert ok.status_code == 303
    [closed] = await _all(services)
    assert not closed.is_active


async def test_roles_and_members_are_named_from_discord(
    manager_client: httpx.AsyncClient, discord: FakeDiscord, services: Services
) -> None:
    a = int(GUILD_ID)
    reds_role = discord.add_role(a, "Red role", position=3)
    pat = discord.add_member(a, username="pat")
    reds = await make_squad(services, GUILD_ID, "Reds", 1)
    async with unit_of_work(services) as uow:
        await squad_admin.update_squad(
            uow, guild_id=GUILD_ID, squad_id=reds.id, changes={"role_id": str(reds_role.id)}
        )
        await uow.commit()
    await join(services, GUILD_ID, str(pat.id), reds.id)
    await join(services, GUILD_ID, member(7), reds.id)  # unknown to Discord: shown by id
    listing = (await manager_client.get(f"{G}/squads")).text
    assert "<td>@Red role</td>" in listing
    assert f'<option value="{reds_role.id}">@Red role</option>' in listing  # the create form
    roster = (await manager_client.get(f"{G}/squads/{reds.id}")).text
    assert f'data-user-id="{pat.id}" data-user-name="pat"' in roster
    assert f"<code>{member(7)}</code>" in roster
    assert f'<option value="{reds_role.id}" selected>@Red role</option>' in roster
