"""``/squads`` end to end: the real bot (hikari + lightbulb) against the fake Discord, talking
to the real API in-process; assertions are on what Discord sees (responses, role REST calls).

The bot's behaviour does not depend on the database, so these run on SQLite only; services
and API tests cover both backends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from guildbank.bot import menus
from guildbank.features.squads import admin as squad_admin
from guildbank.features.squads import queries as squads
from guildbank.features.squads import service as squads_service
from guildbank.features.squads.schemas import SquadOut
from guildbank.platform.uow import Services, unit_of_work
from tests.bot.world import WAIT, BotWorld
from tests.factories import balance_view, fund
from tests.fakes.discord import FakeDiscord, FakeGuild, FakeInteraction, FakeMember
from tests.outbox.helpers import all_settled, wait_for_jobs

ROLE_PATH = r"/guilds/\d+/members/\d+/roles/\d+"


@pytest.fixture
def backend() -> str:
    return "sqlite"


async def _create_squad(world: BotWorld, name: str, role_id: int, **fields: Any) -> SquadOut:
    async with unit_of_work(world.services) as uow:
        view = await squad_admin.create_squad(
            uow, guild_id=world.gid, role_id=str(role_id), name=name, **fields
        )
        await uow.commit()
    return view


@dataclass
class World:
    """The shared bot world (``tests/bot/world.py``) with two squads, Red and Blue."""

    base: BotWorld
    red: SquadOut
    blue: SquadOut

    @property
    def discord(self) -> FakeDiscord:
        return self.base.discord

    @property
    def services(self) -> Services:
        return self.base.services

    @property
    def guild(self) -> FakeGuild:
        return self.base.guild

    @property
    def gid(self) -> str:
        return self.base.gid

    @property
    def alice(self) -> FakeMember:
        return self.base.alice

    @property
    def bob(self) -> FakeMember:
        return self.base.bob

    async def command(
        self, member: FakeMember, name: str, options: dict[str, Any] | None = None
    ) -> FakeInteraction:
        interaction, _ = await self.base.command(member, name, options)
        return interaction

    def reply(self, interaction: FakeInteraction) -> dict[str, Any]:
        message: dict[str, Any] = self.discord.response_message(interaction)
        return message

    async def squad(self, name: str, role_id: int, **fields: Any) -> SquadOut:
        return await _create_squad(self.base, name, role_id, **fields)

    async def new_role(self, name: str) -> int:
        """A role created in Discord while the bot runs, once the bot has reported it (a
        squad's role must be one the guild has)."""
        role = await self.discord.role_create(self.guild.id, name)
        await self.base.recorder.wait_for("PUT", rf"/api/guilds/\d+/roles/{role.id}")
        return role.id

    async def join(self, member: FakeMember, squad_id: int) -> None:
        async with unit_of_work(self.services) as uow:
            await squads_service.join_squad(
                uow, guild_id=self.gid, user_id=str(member.user.id), squad_id=squad_id
            )
            await uow.commit()

    async def squad_of(self, member: FakeMember) -> int | None:
        async with unit_of_work(self.services, read_only=True) as uow:
            listed = await squads.list_squads(
                uow, guild_id=self.gid, include_inactive=True, user_id=str(member.user.id)
            )
        return next((s.id for s in listed if s.is_member), None)


@pytest.fixture
async def world(world: BotWorld) -> World:
    """tests/bot's ``world`` (requested by the same name) with two squads and the bot running."""
    red_role = world.discord.add_role(world.guild.id, "Red", position=5)
    blue_role = world.discord.add_role(world.guild.id, "Blue", position=6)
    red = await _create_squad(world, "Red", red_role.id, emoji="🔴", description="Reds win")
    blue = await _create_squad(world, "Blue", blue_role.id, switch_cost=80)
    await world.start_bot()
    return World(world, red, blue)


def roles_of(world: World, member: FakeMember) -> set[int]:
    found = world.discord.get_member(world.guild.id, member.user.id)
    assert found is not None
    return set(found.roles)


def fields_of(message: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["value"] for embed in message["embeds"] for f in embed.get("fields", [])}


async def test_list_marks_your_squad_and_your_price(world: World) -> None:
    await world.join(world.alice, world.red.id)
    fields = fields_of(world.reply(await world.command(world.alice, "squads list")))
    assert "your squad" in fields["✅ 🔴 Red"]
    assert "costs you 💰 **80** bytes" in fields["Blue"]
    assert f"<@&{world.red.role_id}>" in fields["✅ 🔴 Red"]
    newcomer = fields_of(world.reply(await world.command(world.bob, "squads list")))
    assert "free for you to join" in newcomer["Blue"]
    assert "✅ 🔴 Red" not in newcomer


async def test_autocomplete_offers_active_squads_with_the_price(world: World) -> None:
    await world.squad("Retired", await world.new_role("Retired"), is_active=False)
    await world.join(world.alice, world.red.id)
    typing = await world.discord.autocomplete(
        world.guild.id,
        world.alice.user.id,
        "squads join",
        {"squad": "e"},
        focused="squad",
    )
    choices = (await world.discord.wait_for_response(typing)).json["data"]["choices"]
    assert [(c["name"], c["value"]) for c in choices] == [
        ("Blue — 80 bytes", str(world.blue.id)),
        ("🔴 Red — your squad", str(world.red.id)),
    ]


async def test_join_grants_the_role_and_a_switch_swaps_roles_and_pays(world: World) -> None:
    await fund(world.services, world.gid, str(world.alice.user.id), 500)
    mark = world.discord.mark()
    first = await world.command(world.alice, "squads join", {"squad": str(world.red.id)})
    assert "Welcome to 🔴 Red" in world.reply(first)["embeds"][0]["title"]
    added = await world.discord.wait_for_call("PUT", ROLE_PATH, since=mark)
    assert added.path.endswith(f"/members/{world.alice.user.id}/roles/{world.red.role_id}")
    assert int(world.red.role_id) in roles_of(world, world.alice)

    mark = world.discord.mark()
    switch = await world.command(world.alice, "squads join", {"squad": "blue"})  # typed name
    embed = world.reply(switch)["embeds"][0]
    assert "paid 💰 **80** bytes" in embed["description"]
    await world.discord.wait_for_call("PUT", ROLE_PATH, since=mark)
    removed = await world.discord.wait_for_call("DELETE", ROLE_PATH, since=mark)
    assert removed.path.endswith(f"/roles/{world.red.role_id}")
    assert roles_of(world, world.alice) >= {int(world.blue.role_id)}
    assert int(world.red.role_id) not in roles_of(world, world.alice)
    assert (await balance_view(world.services, world.gid, str(world.alice.user.id))).balance == 420


async def test_join_without_a_squad_picks_from_a_menu_and_confirms_the_price(
    world: World,
) -> None:
    await world.join(world.alice, world.red.id)
    asked = await world.command(world.alice, "squads join")
    prompt = world.reply(asked)
    assert asked.response is not None
    assert asked.response["data"]["flags"] & 64  # ephemeral
    options = prompt["components"][0]["components"][0]["options"]
    assert [o["value"] for o in options] == [str(world.blue.id)]  # not the squad you are in

    picked = await world.discord.select_menu(
        int(prompt["id"]), None, [str(world.blue.id)], user_id=world.alice.user.id
    )
    await world.discord.wait_for_response(picked)
    confirm = world.reply(asked)
    assert confirm["content"] == "Join **Blue**? It costs 💰 **80** bytes."
    mark = world.discord.mark()
    pressed = await world.discord.button_click(
        int(confirm["id"]), label="Join", user_id=world.alice.user.id
    )
    await world.discord.wait_for_response(pressed)
    done = world.reply(asked)
    assert "Welcome to Blue" in done["embeds"][0]["title"]
    assert done["components"] == []
    await world.discord.wait_for_call("PUT", ROLE_PATH, since=mark)
    await world.discord.wait_for_call("DELETE", ROLE_PATH, since=mark)
    assert await world.squad_of(world.alice) == world.blue.id


async def test_cancelling_the_confirmation_joins_nothing(world: World) -> None:
    asked = await world.command(world.bob, "squads join")
    prompt = world.reply(asked)
    picked = await world.discord.select_menu(
        int(prompt["id"]), None, [str(world.red.id)], user_id=world.bob.user.id
    )
    await world.discord.wait_for_response(picked)
    assert world.reply(asked)["content"] == "Join **Red**? It's free for you."
    intruder = await world.discord.button_click(
        int(prompt["id"]), label="Join", user_id=world.alice.user.id
    )
    refusal = (await world.discord.wait_for_response(intruder)).json
    assert refusal["data"]["content"] == "Only the member who asked can answer this."
    assert refusal["data"]["flags"] & 64  # ephemeral
    pressed = await world.discord.button_click(
        int(prompt["id"]), label="Cancel", user_id=world.bob.user.id
    )
    await world.discord.wait_for_response(pressed)
    assert world.reply(asked)["content"] == "Cancelled: you did not join a squad."
    assert await world.squad_of(world.alice) is None
    assert await world.squad_of(world.bob) is None
    assert world.discord.calls("PUT", f"/guilds/{world.guild.id}/members") == []


async def test_an_unanswered_confirmation_times_out_with_its_buttons_disabled(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(menus, "MENU_TIMEOUT_SECONDS", 0.3)  # the confirmation, not the picker
    asked = await world.command(world.bob, "squads join")
    picked = await world.discord.select_menu(
        int(world.reply(asked)["id"]), None, [str(world.red.id)], user_id=world.bob.user.id
    )
    await world.discord.wait_for_response(picked)

    app = world.discord.application_id
    await world.discord.wait_for_call(
        "PATCH", rf"/webhooks/{app}/{asked.token}/messages/.+", timeout=WAIT
    )
    message = world.reply(asked)
    assert message["content"] == "Timed out: you did not join a squad."
    buttons = [c for row in message["components"] for c in row["components"]]
    assert [(b["label"], b["disabled"]) for b in buttons] == [("Join", True), ("Cancel", True)]
    assert await world.squad_of(world.bob) is None


async def test_leave_removes_the_role(world: World) -> None:
    await world.command(world.alice, "squads join", {"squad": str(world.red.id)})
    await world.discord.wait_for_call("PUT", ROLE_PATH, timeout=WAIT)  # the outbox worker
    assert int(world.red.role_id) in roles_of(world, world.alice)
    mark = world.discord.mark()
    left = await world.command(world.alice, "squads leave")
    assert world.reply(left)["content"].startswith("You left **Red**.")
    removed = await world.discord.wait_for_call("DELETE", ROLE_PATH, since=mark)
    assert removed.path.endswith(f"/roles/{world.red.role_id}")
    assert int(world.red.role_id) not in roles_of(world, world.alice)
    again = await world.command(world.alice, "squads leave")
    assert world.reply(again)["content"] == "You are not in a squad."


async def test_a_refused_role_change_fails_its_outbox_job_and_the_join_stands(
    world: World,
) -> None:
    world.discord.fail("PUT", ROLE_PATH, status=403, code=50013, message="Missing Permissions")
    joined = await world.command(world.bob, "squads join", {"squad": "Red"})
    assert "Welcome to 🔴 Red" in world.reply(joined)["embeds"][0]["title"]
    assert await world.squad_of(world.bob) == world.red.id
    [job] = await wait_for_jobs(world.services, all_settled)
    assert (job.kind, job.status, job.payload["role_id"]) == (
        "role.add",
        "failed",
        world.red.role_id,
    )
    assert "Missing Permissions" in (job.last_error or "")  # on the dashboard's Sync page


async def test_a_role_deleted_in_discord_needs_nothing_on_leave(world: World) -> None:
    await world.command(world.alice, "squads join", {"squad": "Red"})
    await world.discord.wait_for_call("PUT", ROLE_PATH, timeout=WAIT)
    world.discord.fail("DELETE", ROLE_PATH, status=404, code=10011, message="Unknown Role")
    left = await world.command(world.alice, "squads leave")
    assert world.reply(left)["content"].startswith("You left **Red**.")
    assert await world.squad_of(world.alice) is None
    # The join's job may still have been running: then the leave coalesced into it.
    jobs = await wait_for_jobs(
        world.services, lambda jobs: all_settled(jobs) and jobs[-1].kind == "role.remove"
    )
    assert (jobs[-1].kind, jobs[-1].status, jobs[-1].result) == (
        "role.remove",
        "done",
        {"skipped": "the role no longer exists"},
    )


async def test_info_members_and_leaderboard(world: World) -> None:
    await fund(world.services, world.gid, str(world.alice.user.id), 300)
    await world.join(world.alice, world.red.id)
    await world.join(world.bob, world.blue.id)

    mine = world.reply(await world.command(world.alice, "squads info"))
    assert mine["embeds"][0]["title"] == "🔴 Red"
    assert fields_of(mine)["Members"] == "1 member(s)"
    other = fields_of(
        world.reply(await world.command(world.alice, "squads info", {"squad": "Blue"}))
    )
    assert "80" in other["For you"]

    roster = world.reply(await world.command(world.bob, "squads members", {"squad": "red"}))
    assert roster["embeds"][0]["description"] == f"<@{world.alice.user.id}> — 💰 **300** bytes"
    board = world.reply(await world.command(world.bob, "squads leaderboard"))
    lines = board["embeds"][0]["description"].splitlines()
    assert lines[0].startswith("🥇 🔴 Red — 💰 **300** bytes")
    assert lines[1].startswith("🥈 Blue — 💰 **100** bytes")

    nobody = world.discord.add_member(world.guild.id, username="carol")
    lonely = await world.command(nobody, "squads info")
    assert world.reply(lonely)["content"].startswith("You are not in a squad yet")
    unknown = await world.command(nobody, "squads members", {"squad": "Purple"})
    assert world.reply(unknown)["content"] == "There is no squad called 'Purple'."


async def test_api_refusals_reach_the_member_unchanged(world: World) -> None:
    tiny = await world.squad("Tiny", await world.new_role("Tiny"), max_members=1)
    await world.join(world.alice, tiny.id)
    full = await world.command(world.bob, "squads join", {"squad": "Tiny"})
    assert world.reply(full)["content"] == "Tiny is full (1 members)."
    assert full.response is not None
    assert full.response["data"]["flags"] & 64
    await fund(world.services, world.gid, str(world.alice.user.id), 10)
    poor = await world.command(world.alice, "squads join", {"squad": "Blue"})
    assert "insufficient" in world.reply(poor)["content"]
    assert await world.squad_of(world.alice) == tiny.id
