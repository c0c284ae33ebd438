"""A guild's name as Discord sends it, whatever it holds: the bot registers the guild anyway.

The API refuses control characters in a name (422), and a request header is ASCII; the bot
used to put the raw name in both (the body and the Idempotency-Key), so a server named with
an emoji, or a control character, was never registered and its economy never started.
"""

from __future__ import annotations

from sqlalchemy import select

from guildbank.features.guilds.service import register_guild
from guildbank.platform.models.guilds import Guild
from guildbank.platform.uow import Services, unit_of_work
from tests.bot.world import BotWorld


async def _stored_name(services: Services, guild_id: int) -> str | None:
    async with unit_of_work(services, read_only=True) as uow:
        return (
            await uow.session.execute(select(Guild.name).where(Guild.id == str(guild_id)))
        ).scalar_one_or_none()


async def test_a_guild_named_with_emoji_and_control_characters_is_registered(
    world: BotWorld,
) -> None:
    emoji = world.discord.add_guild(name="Café 🎮 Club")
    control = world.discord.add_guild(name="Bad\x00Name\x1b[31m\nhere")
    await world.start_bot()
    await world.recorder.wait_for("PUT", rf"/api/guilds/({emoji.id}|{control.id})$", count=2)
    assert await _stored_name(world.services, emoji.id) == "Café 🎮 Club"
    assert await _stored_name(world.services, control.id) == "Bad Name [31m here"
    assert (await world.api.config(str(control.id))).currency_name == "bytes"


async def test_the_service_stores_a_name_clean_whoever_calls_it(services: Services) -> None:
    async with unit_of_work(services) as uow:
        await register_guild(uow, guild_id="333333333333333333", name="\tTabs\x00and NUL ")
        await uow.commit()
    assert await _stored_name(services, 333333333333333333) == "Tabs and NUL"
