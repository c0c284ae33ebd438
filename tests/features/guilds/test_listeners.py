"""Guild presence: the bot registers every guild it sees, on startup and on joining."""

from __future__ import annotations

from tests.bot.world import BotWorld


async def test_guilds_are_registered_when_available_and_when_joined(world: BotWorld) -> None:
    fresh = world.discord.add_guild(name="Fresh Guild")
    later = world.discord.add_guild(name="Later Guild", with_bot=False)
    gb = await world.start_bot()
    await world.recorder.wait_for("PUT", rf"/api/guilds/{fresh.id}")
    config = await world.api.config(str(fresh.id))
    assert config.currency_name == "bytes"

    await world.discord.guild_join(later.id)
    await world.recorder.wait_for("PUT", rf"/api/guilds/{later.id}")
    assert (await world.api.config(str(later.id))).starting_balance == 100
    assert gb.bot.cache.get_guild(later.id) is not None
    renamed = await world.api.register_guild(str(later.id), "Later Guild, renamed")
    assert not renamed.created  # the bot had created it
