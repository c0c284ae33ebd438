"""The shop in Discord end to end: the real bot (hikari + lightbulb) against the fake
Discord, talking to the real API in-process; assertions are on what Discord sees
(responses, role calls, the shop channel's posts).

The bot's behaviour does not depend on the database, so these run on SQLite only; service
and API tests cover both backends.
"""

from __future__ import annotations

from typing import Any

import hikari
import pytest

from guildbank.features.shop import commands as shop_commands
from guildbank.features.shop.schemas import ItemOut
from guildbank.platform.uow import Services
from tests.bot.world import WAIT, BotWorld
from tests.factories import balance_view, fund
from tests.fakes.discord import FakeMember
from tests.features.shop.helpers import held, item_row, make_item
from tests.outbox.helpers import all_settled, wait_for_jobs

ROLE_PATH = r"/guilds/\d+/members/\d+/roles/\d+"


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
async def world(world: BotWorld) -> BotWorld:
    """tests/bot's world with the bot running."""
    await world.start_bot()
    return world


def uid(member: FakeMember) -> str:
    return str(member.user.id)


async def run(
    world: BotWorld, member: FakeMember, name: str, options: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The bot's answer to a slash command, as Discord stores it."""
    interaction, _ = await world.command(member, name, options)
    message: dict[str, Any] = world.discord.response_message(interaction)
    return message


def fields_of(message: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["value"] for embed in message["embeds"] for f in embed.get("fields", [])}


async def item(world: BotWorld, name: str, **fields: Any) -> ItemOut:
    return await make_item(world.services, world.gid, name, **fields)


async def test_shop_lists_items_in_pages(world: BotWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shop_commands, "PAGER_TIMEOUT_SECONDS", 1.0)
    await item(world, "Cookie", price=100, emoji="🍪", description="Crunchy")
    for n in range(7):
        await item(world, f"Widget {n}", price=10 + n, stock=n)
    first = await run(world, world.alice, "shop")
    assert first["embeds"][0]["title"] == "🛒 Shop"
    fields = fields_of(first)
    assert fields["🍪 Cookie"] == "💰 **100** bytes · unlimited\nCrunchy"
    assert fields["Widget 0"] == "💰 **10** bytes · sold out"
    assert first["embeds"][0]["footer"]["text"].startswith("Page 1/2")
    interaction = await world.discord.button_click(
        int(first["id"]), label="Next ▶", user_id=world.alice.user.id
    )
    await world.discord.wait_for_response(interaction)
    turned = world.discord.messages[int(first["id"])]
    assert turned["embeds"][0]["footer"]["text"].startswith("Page 2/2")
    assert list(fields_of(turned)) == ["Widget 5", "Widget 6"]
    food = await run(world, world.alice, "shop", {"category": "tools"})
    assert food["embeds"][0]["description"] == "Nothing for sale right now."
    app = world.discord.application_id
    await world.discord.wait_for_call("PATCH", rf"/webhooks/{app}/.+/messages/.+", timeout=WAIT)
    assert world.discord.messages[int(first["id"])]["components"] == []  # timed out


async def test_buy_autocomplete_offers_items_with_price_and_stock(world: BotWorld) -> None:
    cookie = await item(world, "Cookie", price=100)
    cake = await item(world, "Cake", price=250, stock=3)
    await item(world, "Closed", price=1, is_active=False)
    typing = await world.discord.autocomplete(
        world.guild.id, world.alice.user.id, "buy", {"item": "c"}, focused="item"
    )
    choices = (await world.discord.wait_for_response(typing)).json["data"]["choices"]
    assert [(c["name"], c["value"]) for c in choices] == [
        ("Cake — 250 bytes, 3 left", str(cake.id)),
        ("Cookie — 100 bytes, unlimited", str(cookie.id)),
    ]


async def test_buying_a_cookie_below_the_confirm_threshold(world: BotWorld) -> None:
    await world.configure(confirm_threshold=500)
    cookie = await item(world, "Cookie", price=100, emoji="🍪")
    await fund(world.services, world.gid, uid(world.alice), 150)
    bought = await run(world, world.alice, "buy", {"item": str(cookie.id)})
    embed = bought["embeds"][0]
    assert embed["title"] == "You bought 1 × 🍪 Cookie"
    assert "your balance is 💰 **50** bytes" in embed["description"]
    assert (await balance_view(world.services, world.gid, uid(world.alice))).balance == 50
    assert await held(world.services, world.gid, uid(world.alice), cookie.id) == 1
    inventory = await run(world, world.alice, "inventory")
    assert "**1** × Cookie" not in inventory["embeds"][0]["description"]
    assert "**1** × 🍪 Cookie" in inventory["embeds"][0]["description"]
    theirs = await run(world, world.bob, "inventory", {"member": world.alice.user.id})
    assert theirs["embeds"][0]["description"].startswith(f"<@{world.alice.user.id}>")


async def test_big_purchases_ask_first(world: BotWorld) -> None:
    crown = await item(world, "Crown", price=200)
    await fund(world.services, world.gid, uid(world.alice), 1000)
    interaction, _ = await world.command(world.alice, "buy", {"item": "crown", "quantity": 2})
    prompt = world.discord.response_message(interaction)
    assert prompt["content"] == "Buy 2 × **Crown** for 💰 **400** bytes?"
    pressed = await world.discord.button_click(
        int(prompt["id"]), label="Buy", user_id=world.alice.user.id
    )
    await world.discord.wait_for_response(pressed)
    done = world.discord.response_message(interaction)
    assert done["embeds"][0]["title"] == "You bought 2 × Crown"
    assert done["components"] == []
    assert await held(world.services, world.gid, uid(world.alice), crown.id) == 2

    again, _ = await world.command(world.alice, "buy", {"item": "crown"})
    prompt = world.discord.response_message(again)
    cancel = await world.discord.button_click(
        int(prompt["id"]), label="Cancel", user_id=world.alice.user.id
    )
    await world.discord.wait_for_response(cancel)
    assert world.discord.response_message(again)["content"] == "Cancelled: nothing was bought."
    assert await held(world.services, world.gid, uid(world.alice), crown.id) == 2


async def test_refusals_are_specific(world: BotWorld) -> None:
    vip = world.discord.add_role(world.guild.id, "VIP", position=3)
    await world.configure(confirm_threshold=10_000)
    await fund(world.services, world.gid, uid(world.alice), 40)
    cake = await item(world, "Cake", price=100)
    said = await run(world, world.alice, "buy", {"item": "cake"})
    assert said["content"] == "You have 40 bytes; this costs 100."
    await fund(world.services, world.gid, uid(world.alice), 1000)
    pass_ = await item(world, "Pass", price=1, max_per_member=1)
    await run(world, world.alice, "buy", {"item": "pass"})
    said = await run(world, world.alice, "buy", {"item": "pass"})
    assert said["content"] == "You can hold at most 1 of this (you have 1)."
    rare = await item(world, "Rare", price=1, stock=0)
    said = await run(world, world.alice, "buy", {"item": "rare"})
    assert said["content"] == "Sold out"
    lounge = await item(
        world,
        "Lounge",
        price=1,
        requirements=[{"type": "role", "role_id": str(vip.id)}],
    )
    said = await run(world, world.alice, "buy", {"item": "lounge"})
    assert said["content"] == f"You need <@&{vip.id}> to buy this."
    world.alice.roles.append(vip.id)
    bought = await run(world, world.alice, "buy", {"item": "lounge"})
    assert bought["embeds"][0]["title"] == "You bought 1 × Lounge"
    unknown = await run(world, world.alice, "buy", {"item": "nothing"})
    assert unknown["content"] == "There is no item called 'nothing' for sale."
    assert (await item_row(world.services, cake.id)) == (-1, 0)
    assert (await item_row(world.services, rare.id)) == (0, 0)
    assert await held(world.services, world.gid, uid(world.alice), pass_.id) == 1
    assert await held(world.services, world.gid, uid(world.alice), lounge.id) == 1


async def test_use_runs_actions_and_grants_roles_through_the_outbox(world: BotWorld) -> None:
    role = await world.discord.role_create(world.guild.id, "Glowing")
    await world.recorder.wait_for("PUT", rf"/api/guilds/\d+/roles/{role.id}")
    potion = await item(
        world,
        "Potion",
        price=0,
        usable=True,
        use_actions=[
            {"type": "reply", "message": "You glow!"},
            {"type": "add_role", "role_id": str(role.id)},
            {"type": "add_bytes", "amount": 25},
        ],
    )
    await run(world, world.alice, "buy", {"item": "potion", "quantity": 2})
    typing = await world.discord.autocomplete(
        world.guild.id, world.alice.user.id, "use", {"item": "po"}, focused="item"
    )
    choices = (await world.discord.wait_for_response(typing)).json["data"]["choices"]
    assert [(c["name"], c["value"]) for c in choices] == [("Potion (×2)", str(potion.id))]
    mark = world.discord.mark()
    used = await run(world, world.alice, "use", {"item": str(potion.id)})
    embed = used["embeds"][0]
    assert (embed["title"], embed["description"]) == ("You used Potion", "1 left.")
    fields = fields_of(used)
    assert fields["Message"] == "You glow!"
    assert "You received 💰 **25** bytes" in fields["Balance"]
    call = await world.discord.wait_for_call("PUT", ROLE_PATH, since=mark, timeout=WAIT)
    assert call.path.endswith(f"/members/{world.alice.user.id}/roles/{role.id}")
    plain = await item(world, "Pebble", price=0)
    await run(world, world.alice, "buy", {"item": "pebble"})
    said = await run(world, world.alice, "use", {"item": "pebble"})
    assert said["content"] == "Pebble cannot be used."
    said = await run(world, world.bob, "use", {"item": "potion"})
    assert said["content"] == "You don't have 'potion'."
    assert await held(world.services, world.gid, uid(world.alice), plain.id) == 1


async def test_sell_back(world: BotWorld) -> None:
    await world.configure(confirm_threshold=10_000)
    await fund(world.services, world.gid, uid(world.alice), 500)
    sword = await item(world, "Sword", price=100, sellable=True, sell_percent=60, stock=4)
    await run(world, world.alice, "buy", {"item": "sword"})
    sold = await run(world, world.alice, "sell", {"item": "sword"})
    assert sold["embeds"][0]["title"] == "You sold 1 × Sword"
    assert "You received 💰 **60** bytes" in sold["embeds"][0]["description"]
    assert (await balance_view(world.services, world.gid, uid(world.alice))).balance == 460
    assert await item_row(world.services, sword.id) == (4, 1)


async def test_shop_posts_are_created_edited_and_recreated(world: BotWorld) -> None:
    channel = await world.discord.channel_create(world.guild.id, "shop")
    await world.recorder.wait_for("PUT", rf"/api/guilds/\d+/channels/{channel.id}")
    await world.configure(shop_channel_id=str(channel.id))
    await fund(world.services, world.gid, uid(world.alice), 500)
    banner = await item(world, "Banner", price=10, stock=3)

    async def post_shows(stock: str) -> dict[str, Any]:
        await wait_for_jobs(world.services, all_settled)
        posts = world.discord.channel_messages(channel.id)
        assert len(posts) == 1, posts
        values = {f["name"]: f["value"] for f in posts[0]["embeds"][0]["fields"]}
        assert values["Stock"] == stock
        return posts[0]

    first = await post_shows("3 left")
    assert first["embeds"][0]["title"] == "Banner"
    await run(world, world.alice, "buy", {"item": "banner"})
    edited = await post_shows("2 left")
    assert edited["id"] == first["id"]  # edited in place
    del world.discord.messages[int(first["id"])]  # someone deleted the post
    await run(world, world.alice, "buy", {"item": "banner"})
    recreated = await post_shows("1 left")
    assert recreated["id"] != first["id"]
    await world.api.update_item(world.gid, banner.id, {"is_active": False})
    await wait_for_jobs(world.services, all_settled)
    assert world.discord.channel_messages(channel.id) == []
    shown = await world.api.shop_item(world.gid, banner.id)
    assert shown.post.sync_status == "done"


async def test_the_shop_can_be_turned_off(world: BotWorld, services: Services) -> None:
    await world.configure(features={"shop": False})
    said = await run(world, world.alice, "shop")
    assert said["content"] == "The shop feature is disabled on this server."
    _ = services


async def test_the_buy_button_on_a_post_buys_one(world: BotWorld) -> None:
    """The item's shop post carries a Buy button (custom id ``shop.buy:<id>``), sent through
    the outbox; pressing it buys one, and the button greys out once the item is sold out."""
    channel = await world.discord.channel_create(world.guild.id, "shop")
    await world.recorder.wait_for("PUT", rf"/api/guilds/\d+/channels/{channel.id}")
    await world.configure(shop_channel_id=str(channel.id))
    await fund(world.services, world.gid, uid(world.alice), 150)
    await fund(world.services, world.gid, uid(world.bob), 150)
    cookie = await item(world, "Cookie", price=100, stock=2)
    await wait_for_jobs(world.services, all_settled)
    [post] = world.discord.channel_messages(channel.id)
    [create] = world.discord.rest.find("POST", rf"/channels/{channel.id}/messages")
    [[sent]] = [r["components"] for r in create.json["components"]]
    assert (sent["custom_id"], sent["label"], sent["style"]) == (f"shop.buy:{cookie.id}", "Buy", 3)

    pressed = await world.discord.button_click(
        int(post["id"]), label="Buy", user_id=world.alice.user.id
    )
    answer = (await world.discord.wait_for_response(pressed)).json["data"]
    assert answer["flags"] & 64  # only the buyer sees it
    assert answer["embeds"][0]["title"] == "You bought 1 × Cookie"
    assert await held(world.services, world.gid, uid(world.alice), cookie.id) == 1
    assert await item_row(world.services, cookie.id) == (1, 1)
    await wait_for_jobs(world.services, all_settled)
    edited = world.discord.messages[int(post["id"])]  # the stock's edit keeps the button
    assert fields_of(edited)["Stock"] == "1 left"
    [[button]] = [r["components"] for r in edited["components"]]
    assert button["custom_id"] == f"shop.buy:{cookie.id}"
    assert not button.get("disabled")

    # Bob presses on a post he saw before: the last one is his, and the post greys out.
    again = await world.discord.button_click(
        int(post["id"]), label="Buy", user_id=world.bob.user.id
    )
    assert (await world.discord.wait_for_response(again)).json["data"]["embeds"][0]["title"] == (
        "You bought 1 × Cookie"
    )
    await wait_for_jobs(world.services, all_settled)
    sold_out = world.discord.messages[int(post["id"])]
    assert fields_of(sold_out)["Stock"] == "Sold out"
    assert sold_out["components"][0]["components"][0]["disabled"] is True
    with pytest.raises(ValueError, match="disabled"):
        await world.discord.button_click(int(post["id"]), label="Buy", user_id=world.bob.user.id)


async def test_a_press_on_a_stale_buy_button_is_refused_sold_out(world: BotWorld) -> None:
    """A post not yet greyed out (the bot was behind): the purchase itself refuses."""
    await fund(world.services, world.gid, uid(world.alice), 150)
    cookie = await item(world, "Cookie", price=100, stock=1)
    rest = world.bots[0].bot.rest
    row = rest.build_message_action_row().add_interactive_button(
        hikari.ButtonStyle.SUCCESS, f"shop.buy:{cookie.id}", label="Buy"
    )
    channel = world.discord.default_channel(world.guild.id)
    post = await rest.create_message(channel.id, "Cookie", components=[row])
    pressed = await world.discord.button_click(post.id, label="Buy", user_id=world.alice.user.id)
    await world.discord.wait_for_response(pressed)
    assert await held(world.services, world.gid, uid(world.alice), cookie.id) == 1
    again = await world.discord.button_click(post.id, label="Buy", user_id=world.bob.user.id)
    refused = (await world.discord.wait_for_response(again)).json["data"]
    assert refused["content"] == "Sold out"
    assert refused["flags"] & 64
    assert await held(world.services, world.gid, uid(world.bob), cookie.id) == 0
