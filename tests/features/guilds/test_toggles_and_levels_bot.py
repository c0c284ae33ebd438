"""Feature toggles and permission levels in Discord, with the real bot against the fake:
commands of a turned-off feature answer "disabled on this server" (from the bot's cached
settings, or from the API's 409 when that cache is behind), the daily listener stays quiet,
and the moderator check admits moderators, admins and the owner but not members."""

from __future__ import annotations

import lightbulb

from guildbank.bot.checks import moderator
from guildbank.features.guilds.service import update_config
from guildbank.platform.uow import unit_of_work
from guildbank.runtime.bot import GuildbankBot, create_bot
from tests.bot.world import WAIT, BotWorld, content_of, is_ephemeral
from tests.fakes.discord_bot import guilds_on_shards, start_until_available

SQUADS_OFF = "The squads feature is disabled on this server."
ECONOMY_OFF = "The economy feature is disabled on this server."
DAILY = r"/api/guilds/\d+/bytes/daily/\d+"


async def test_commands_of_a_turned_off_feature_are_refused(
    world: BotWorld, running: GuildbankBot
) -> None:
    await world.configure(features={"squads": False})
    _, refused = await world.command(world.alice, "squads list")
    assert (content_of(refused), is_ephemeral(refused)) == (SQUADS_OFF, True)
    assert not world.recorder.matching("GET", r"/api/guilds/\d+/squads")  # refused in the bot
    _, balance = await world.command(world.alice, "bytes balance")
    assert "100" in str(balance.json)  # the economy is still on

    await world.configure(features={"squads": True, "economy": False})
    for name, options in (
        ("bytes balance", None),
        ("daily", None),
        ("give", {"user": world.bob.id, "amount": 5}),
        ("economy add", {"user": world.bob.id, "amount": 5, "reason": "x"}),
    ):
        _, answer = await world.command(world.admin, name, options)
        assert content_of(answer) == ECONOMY_OFF, name
    _, squads = await world.command(world.alice, "squads list")
    assert content_of(squads) != SQUADS_OFF


async def test_no_daily_is_claimed_while_the_economy_is_off(
    world: BotWorld, running: GuildbankBot
) -> None:
    await world.configure(features={"economy": False})
    handled = world.messages_handled(running)
    said = await world.discord.send_message(world.guild.id, None, world.alice.id, "hi")
    await handled.wait_for(said)
    assert running.daily.api_calls == 0
    assert not world.recorder.matching("POST", DAILY)


async def test_the_apis_refusal_reaches_the_member_when_the_bot_cache_is_behind(
    world: BotWorld, running: GuildbankBot
) -> None:
    _, listed = await world.command(world.alice, "squads list")  # caches the settings
    assert content_of(listed) != SQUADS_OFF
    async with unit_of_work(world.services) as uow:  # changed behind the bot's back
        await update_config(uow, guild_id=world.gid, changes={"features": {"squads": False}})
        await uow.commit()
    _, refused = await world.command(world.alice, "squads list")
    assert content_of(refused) == SQUADS_OFF
    assert world.recorder.matching("GET", r"/api/guilds/\d+/squads")[-1].status == 409


ping = lightbulb.Loader()


@ping.command
class ModPing(
    lightbulb.SlashCommand, name="modping", description="Moderators only", hooks=[moderator]
):
    @lightbulb.invoke
    async def invoke(self, ctx: lightbulb.Context) -> None:
        await ctx.respond("pong", ephemeral=True)


async def test_the_moderator_check_follows_the_levels(world: BotWorld) -> None:
    """Moderator role, admin role, Manage Server and the owner pass; a member does not."""
    discord, gid = world.discord, world.guild.id
    mods = discord.add_role(gid, "Mods", position=3)
    bankers = discord.add_role(gid, "Bankers", position=4)
    world.carol.roles.append(mods.id)
    world.bob.roles.append(bankers.id)
    await world.configure(moderator_role_ids=[str(mods.id)], admin_role_ids=[str(bankers.id)])
    gb = await create_bot(
        discord.token,
        world.client(world.recorder),
        rest_url=discord.rest_url,
        command_guilds=[gid],
    )
    await ping.add_to_client(gb.client)
    world.bots.append(gb)
    await start_until_available(gb.bot, gb.start, guilds_on_shards(discord), timeout=WAIT)

    owner = discord.get_member(gid, world.guild.owner_id)
    assert owner is not None
    for who in (world.carol, world.bob, world.admin, owner):
        _, answer = await world.command(who, "modping")
        assert content_of(answer) == "pong", who.user.username
    _, refused = await world.command(world.alice, "modping")
    assert content_of(refused) == (
        "You need to be a moderator of this server (or above) to do this."
    )
    world.carol.roles.remove(mods.id)  # losing the role ends it at once
    _, gone = await world.command(world.carol, "modping")
    assert content_of(gone) != "pong"
