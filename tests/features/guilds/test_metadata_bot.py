"""The real bot reports each guild's channels and roles to the API: all of them when the guild
becomes available, then every channel and role event, and again when its own roles change."""

from __future__ import annotations

from guildbank.features.guilds.catalog import Catalog, load_catalog
from guildbank.platform.uow import unit_of_work
from guildbank.runtime.bot import GuildbankBot
from tests.bot.world import BotWorld
from tests.fakes.discord import FakeRole

METADATA = r"/api/guilds/\d+/metadata"


async def catalog(world: BotWorld) -> Catalog:
    async with unit_of_work(world.services, read_only=True) as uow:
        found = await load_catalog(uow, world.gid)
        await uow.commit()
    return found


def bot_role(world: BotWorld) -> FakeRole:
    return next(r for r in world.guild.roles.values() if r.bot_id is not None)


async def test_everything_is_reported_when_the_guild_becomes_available(world: BotWorld) -> None:
    whale = world.discord.add_role(world.guild.id, "Whale", position=2)
    log = world.discord.add_channel(world.guild.id, "bank-log")
    voice = world.discord.add_channel(world.guild.id, "Lounge", type=2)
    assert (await catalog(world)).synced is False
    await world.start_bot()
    await world.recorder.wait_for("PUT", METADATA)
    found = await catalog(world)
    assert found.synced
    names = {c.name: c for c in found.channels.values()}
    assert {"general", "bank-log", "Lounge"} <= set(names)
    assert names["bank-log"].id == str(log.id)
    assert names["bank-log"].postable
    assert not found.channels[str(voice.id)].postable
    mine = found.roles[str(bot_role(world).id)]
    assert (mine.bot_holds, mine.managed, mine.assignable) == (True, True, False)
    assert found.roles[str(whale.id)].assignable  # below the bot's role (position 100)
    assert found.roles[world.gid].name == "@everyone"


async def test_channel_and_role_events_are_reported(world: BotWorld, running: GuildbankBot) -> None:
    discord, gid = world.discord, world.guild.id
    await world.recorder.wait_for("PUT", METADATA)
    shop = await discord.channel_create(gid, "shop")
    await world.recorder.wait_for("PUT", rf"/api/guilds/\d+/channels/{shop.id}")
    shop.name = "shop-front"
    await discord.channel_update(shop)
    await world.recorder.wait_for("PUT", rf"/api/guilds/\d+/channels/{shop.id}", count=2)
    general = discord.default_channel(gid)
    await discord.channel_delete(general.id)
    await world.recorder.wait_for("DELETE", rf"/api/guilds/\d+/channels/{general.id}")

    vip = await discord.role_create(gid, "VIP", position=3)
    await world.recorder.wait_for("PUT", rf"/api/guilds/\d+/roles/{vip.id}")
    vip.position = 200  # moved above the bot's role
    await discord.role_update(vip)
    await world.recorder.wait_for("PUT", rf"/api/guilds/\d+/roles/{vip.id}", count=2)
    gone = await discord.role_create(gid, "Temporary")
    await discord.role_delete(gid, gone.id)
    await world.recorder.wait_for("DELETE", rf"/api/guilds/\d+/roles/{gone.id}")

    found = await catalog(world)
    assert found.channels[str(shop.id)].name == "shop-front"
    assert found.channels[str(general.id)].deleted
    assert found.roles[str(vip.id)].position == 200
    assert not found.roles[str(vip.id)].assignable
    assert found.roles[str(gone.id)].deleted
    assert all(r.status < 300 for r in world.recorder.requests if "/roles/" in r.path)


async def test_a_change_of_the_bots_own_roles_reports_the_guild_again(
    world: BotWorld, running: GuildbankBot
) -> None:
    discord, gid = world.discord, world.guild.id
    await world.recorder.wait_for("PUT", METADATA)
    high = await discord.role_create(gid, "High", position=150)
    await world.recorder.wait_for("PUT", rf"/api/guilds/\d+/roles/{high.id}")
    assert not (await catalog(world)).roles[str(high.id)].assignable
    below = await discord.role_create(gid, "Below high", position=120)
    await world.recorder.wait_for("PUT", rf"/api/guilds/\d+/roles/{below.id}")
    assert not (await catalog(world)).roles[str(below.id)].assignable

    discord.get_member(gid, discord.bot_user.id).roles.append(high.id)  # type: ignore[union-attr]
    await discord.member_update(gid, discord.bot_user.id)
    await world.recorder.wait_for("PUT", METADATA, count=2)
    found = await catalog(world)
    assert found.roles[str(high.id)].bot_holds
    assert found.roles[str(below.id)].assignable  # now below the bot's highest role
