"""``/economy`` for members holding one of the guild's admin roles (no Manage Server)."""

from __future__ import annotations

from guildbank.runtime.bot import GuildbankBot
from tests.bot.world import BotWorld, content_of, is_ephemeral

REFUSED = (
    "You need the Manage Server permission or one of this server's admin roles "
    "to manage the economy."
)


async def test_an_admin_role_admits_a_member_to_economy_commands(
    world: BotWorld, running: GuildbankBot
) -> None:
    bankers = await world.discord.role_create(world.guild.id, "Bankers")
    await world.recorder.wait_for("PUT", rf"/api/guilds/\d+/roles/{bankers.id}")
    world.carol.roles.append(bankers.id)
    args = {"user": world.bob.id, "amount": 40, "reason": "prize"}

    # Before the guild names the role, holding it is not enough.
    _, refused = await world.command(world.carol, "economy add", args)
    assert content_of(refused) == REFUSED
    assert (await world.balance(world.bob)).balance == 100

    await world.configure(admin_role_ids=[str(bankers.id)])
    _, added = await world.command(world.carol, "economy add", args)
    assert is_ephemeral(added)
    assert content_of(added) == f"<@{world.bob.id}> now has 💰 **140** bytes (+40). Reason: prize"

    # Members without the role are still refused; losing the role ends it at once.
    _, other = await world.command(world.alice, "economy set", {**args, "amount": 0})
    assert content_of(other) == REFUSED
    world.carol.roles.remove(bankers.id)
    _, gone = await world.command(world.carol, "economy remove", args)
    assert content_of(gone) == REFUSED
    assert (await world.balance(world.bob)).balance == 140
