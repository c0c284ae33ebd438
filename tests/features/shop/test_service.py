"""The shop through its services (SPEC §6), on SQLite and PostgreSQL.

A purchase pays the guild's shop account, takes stock, fills the inventory and counts the
sale in one transaction; every refusal is specific and changes nothing; use, sell-back and
refund move money only through the ledger, and the ledger stays consistent throughout.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from guildbank.core.errors import GuildbankError, InvalidInput, RateLimited
from guildbank.features.guilds.service import register_guild
from guildbank.features.shop import admin as shop_admin
from guildbank.features.shop import queries as shop
from guildbank.features.shop import service as shop_service
from guildbank.features.shop.errors import (
    AlreadyRefunded,
    CannotAfford,
    ItemConflict,
    ItemExpired,
    ItemHasSales,
    ItemInactive,
    ItemNotFound,
    ItemNotOwned,
    ItemNotSellable,
    ItemNotUsable,
    MaxPerMember,
    RefundItemsGone,
    RequirementNotMet,
    RolesUnknown,
    SoldOut,
)
from guildbank.features.shop.schemas import RefundOut, SellOut, UseOut
from guildbank.ledger.accounts import shop_shard
from guildbank.platform.models.events import EventLogEntry
from guildbank.platform.models.ledger import LedgerTransaction
from guildbank.platform.models.shop import ShopItemSales
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import OTHER_GUILD_ID, FakeClock
from tests.factories import balance_view, configure, fund, guild_money, member
from tests.features.shop.helpers import (
    buy,
    held,
    integrity_ok,
    item_row,
    jobs,
    make_item,
    purchases,
    role,
)

ALICE, BOB = member(1), member(2)
CHANNEL = "600000000000000001"


async def use(services: Services, guild_id: str, user_id: str, item_id: int) -> UseOut:
    async with unit_of_work(services) as uow:
        result = await shop_service.use_item(
            uow, guild_id=guild_id, user_id=user_id, item_id=item_id
        )
        await uow.commit()
    return result


async def sell(
    services: Services, guild_id: str, user_id: str, item_id: int, quantity: int = 1
) -> SellOut:
    async with unit_of_work(services) as uow:
        result = await shop_service.sell_item(
            uow, guild_id=guild_id, user_id=user_id, item_id=item_id, quantity=quantity
        )
        await uow.commit()
    return result


async def refund(services: Services, guild_id: str, purchase_id: int) -> RefundOut:
    async with unit_of_work(services) as uow:
        result = await shop_admin.refund_purchase(uow, guild_id=guild_id, purchase_id=purchase_id)
        await uow.commit()
    return result


async def test_buying_a_cookie_with_150_leaves_50(services: Services, guild: str) -> None:
    """The seed scenario: unlimited stock stays unlimited; the shop account gets the money."""
    await fund(services, guild, ALICE, 150)
    cookie = await make_item(services, guild, "Cookie", price=100, emoji="🍪")
    before = await guild_money(services, guild)

    result = await buy(services, guild, ALICE, cookie.id)

    assert (result.balance, result.total, result.held, result.quantity) == (50, 100, 1, 1)
    assert (await balance_view(services, guild, ALICE)).balance == 50
    assert await held(services, guild, ALICE, cookie.id) == 1
    assert await item_row(services, cookie.id) == (-1, 1)
    after = await guild_money(services, guild)
    assert after.shop() == before.shop() + 100
    assert after.transactions == before.transactions + 1
    async with unit_of_work(services, read_only=True) as uow:
        inventory = await shop.inventory(uow, guild_id=guild, user_id=ALICE)
    assert [(i.name, i.quantity) for i in inventory.items] == [("Cookie", 1)]
    assert await integrity_ok(services, guild)


async def test_the_purchase_is_a_shop_purchase_naming_item_and_quantity(
    services: Services, guild: str
) -> None:
    await fund(services, guild, ALICE, 1000)
    item = await make_item(services, guild, "Potion", price=30)
    result = await buy(services, guild, ALICE, item.id, quantity=3)
    assert result.total == 90
    async with unit_of_work(services, read_only=True) as uow:
        row = await uow.session.get(LedgerTransaction, result.transaction_id)
        assert row is not None
        assert (row.type, row.amount, row.reason) == ("shop_purchase", 90, "Bought 3 x Potion")


async def test_limited_stock_sells_out_with_a_clear_refusal(services: Services, guild: str) -> None:
    await fund(services, guild, ALICE, 1000)
    item = await make_item(services, guild, "Badge", price=10, stock=2)
    await buy(services, guild, ALICE, item.id)
    with pytest.raises(SoldOut, match="Only 1 of Badge left; you asked for 2"):
        await buy(services, guild, ALICE, item.id, quantity=2)
    await buy(services, guild, ALICE, item.id)
    before = await guild_money(services, guild)
    with pytest.raises(SoldOut, match=r"^Sold out$"):
        await buy(services, guild, ALICE, item.id)
    assert await guild_money(services, guild) == before
    assert await item_row(services, item.id) == (0, 2)
    assert await held(services, guild, ALICE, item.id) == 2


async def test_max_per_member_is_held_not_bought(services: Services, guild: str) -> None:
    await fund(services, guild, ALICE, 1000)
    item = await make_item(services, guild, "VIP pass", price=10, max_per_member=1, usable=True)
    await buy(services, guild, ALICE, item.id)
    with pytest.raises(MaxPerMember, match="You can hold at most 1 of this"):
        await buy(services, guild, ALICE, item.id)
    await use(services, guild, ALICE, item.id)
    await buy(services, guild, ALICE, item.id)  # used up: may buy another
    assert await held(services, guild, ALICE, item.id) == 1


async def test_cannot_afford_says_what_you_have_and_what_it_costs(
    services: Services, guild: str
) -> None:
    await fund(services, guild, ALICE, 40)
    item = await make_item(services, guild, "Cake", price=100, stock=5)
    before = await guild_money(services, guild)
    with pytest.raises(CannotAfford, match="You have 40 bytes; this costs 100"):
        await buy(services, guild, ALICE, item.id)
    assert await guild_money(services, guild) == before
    assert await item_row(services, item.id) == (5, 0)
    assert await held(services, guild, ALICE, item.id) == 0
    assert await purchases(services) == 0


async def test_a_new_member_buys_with_the_starting_balance(services: Services, guild: str) -> None:
    item = await make_item(services, guild, "Sticker", price=60)
    result = await buy(services, guild, BOB, item.id)
    assert result.balance == 40
    with pytest.raises(CannotAfford, match="You have 40 bytes; this costs 60"):
        await buy(services, guild, BOB, item.id)


async def test_free_items_post_nothing(services: Services, guild: str) -> None:
    item = await make_item(services, guild, "Flyer", price=0)
    before = await guild_money(services, guild)
    result = await buy(services, guild, ALICE, item.id)
    assert result.transaction_id is None
    after = await guild_money(services, guild)
    # Only ALICE's account opening (the starting balance) was posted.
    assert after.transactions == before.transactions + 1


@pytest.mark.parametrize("quantity", [0, -1, 10**9])
async def test_bad_quantities_are_refused(services: Services, guild: str, quantity: int) -> None:
    item = await make_item(services, guild, "Gem", price=1)
    with pytest.raises(InvalidInput):
        await buy(services, guild, ALICE, item.id, quantity=quantity)
    assert await item_row(services, item.id) == (-1, 0)


async def test_inactive_expired_and_unknown_items(
    services: Services, guild: str, clock: FakeClock
) -> None:
    await fund(services, guild, ALICE, 1000)
    closed = await make_item(services, guild, "Closed", price=1, is_active=False)
    with pytest.raises(ItemInactive, match="Closed is not for sale"):
        await buy(services, guild, ALICE, closed.id)
    soon = clock.now + timedelta(hours=1)
    fleeting = await make_item(
        services, guild, "Fleeting", price=1, expires_at=soon.isoformat(), usable=True
    )
    await buy(services, guild, ALICE, fleeting.id)
    clock.advance(hours=2)
    with pytest.raises(ItemExpired, match="Fleeting has expired"):
        await buy(services, guild, ALICE, fleeting.id)
    with pytest.raises(ItemExpired):
        await use(services, guild, ALICE, fleeting.id)
    with pytest.raises(ItemNotFound):
        await buy(services, guild, ALICE, 999)
    async with unit_of_work(services) as uow:
        await register_guild(uow, guild_id=OTHER_GUILD_ID)
        await uow.commit()
    with pytest.raises(ItemNotFound):  # another guild's item
        await buy(services, OTHER_GUILD_ID, ALICE, closed.id)
    async with unit_of_work(services, read_only=True) as uow:
        listed = await shop.list_items(uow, guild_id=guild)
        everything = await shop.list_items(uow, guild_id=guild, active_only=False)
    assert [i.name for i in listed] == []
    assert {i.name: i.is_expired for i in everything} == {"Closed": False, "Fleeting": True}


async def test_role_requirements_need_the_members_roles(services: Services, guild: str) -> None:
    await fund(services, guild, ALICE, 1000)
    vip = role(1)
    item = await make_item(
        services, guild, "Lounge key", price=5, requirements=[{"type": "role", "role_id": vip}]
    )
    with pytest.raises(RolesUnknown):
        await buy(services, guild, ALICE, item.id)
    with pytest.raises(RequirementNotMet, match=f"You need <@&{vip}> to buy this"):
        await buy(services, guild, ALICE, item.id, role_ids=[role(2)])
    assert (await buy(services, guild, ALICE, item.id, role_ids=[vip])).held == 1
    banned = await make_item(
        services, guild, "Newbie kit", price=5, requirements=[{"type": "not_role", "role_id": vip}]
    )
    with pytest.raises(RequirementNotMet, match="while you hold"):
        await buy(services, guild, ALICE, banned.id, role_ids=[vip])


async def test_item_and_balance_requirements_all_or_any(services: Services, guild: str) -> None:
    await fund(services, guild, ALICE, 500)
    ticket = await make_item(services, guild, "Ticket", price=10)
    both = await make_item(
        services,
        guild,
        "Backstage",
        price=10,
        requirements=[
            {"type": "item", "item_id": ticket.id},
            {"type": "balance", "amount": 1000},
        ],
    )
    with pytest.raises(RequirementNotMet, match="You need Ticket to buy this"):
        await buy(services, guild, ALICE, both.id)
    either = await make_item(
        services,
        guild,
        "Side door",
        price=10,
        requirement_mode="any",
        requirements=[
            {"type": "item", "item_id": ticket.id},
            {"type": "balance", "amount": 1000},
        ],
    )
    with pytest.raises(RequirementNotMet, match=" or You need at least 1000 bytes"):
        await buy(services, guild, ALICE, either.id)
    await buy(services, guild, ALICE, ticket.id)
    await buy(services, guild, ALICE, either.id)
    with pytest.raises(RequirementNotMet, match="at least 1000 bytes"):
        await buy(services, guild, ALICE, both.id)


async def test_use_consumes_one_and_runs_its_actions(services: Services, guild: str) -> None:
    await fund(services, guild, ALICE, 100)
    token = await make_item(services, guild, "Token", price=0)
    box = await make_item(
        services,
        guild,
        "Lootbox",
        price=20,
        usable=True,
        use_actions=[
            {"type": "reply", "message": "You open the box!"},
            {"type": "add_bytes", "amount": 50},
            {"type": "add_role", "role_id": role(7)},
            {"type": "add_item", "item_id": token.id, "quantity": 2},
        ],
    )
    await buy(services, guild, ALICE, box.id, quantity=2)
    before = await guild_money(services, guild)
    used = await use(services, guild, ALICE, box.id)
    assert (used.remaining, used.balance, used.bytes_change) == (1, 110, 50)
    assert used.messages == ["You open the box!"]
    assert used.roles_added == [role(7)]
    assert await held(services, guild, ALICE, token.id) == 2
    after = await guild_money(services, guild)
    assert after.shop() == before.shop() - 50
    roles = [j for j in await jobs(services, guild) if j.kind == "role.add"]
    assert [(j.payload["user_id"], j.payload["role_id"]) for j in roles] == [(ALICE, role(7))]
    assert await integrity_ok(services, guild)


async def test_use_refusals_change_nothing(services: Services, guild: str) -> None:
    await fund(services, guild, ALICE, 30)
    plain = await make_item(services, guild, "Rock", price=0)
    with pytest.raises(ItemNotUsable, match="Rock cannot be used"):
        await use(services, guild, ALICE, plain.id)
    pricey = await make_item(
        services,
        guild,
        "Toll",
        price=0,
        usable=True,
        use_actions=[{"type": "remove_bytes", "amount": 100}],
    )
    with pytest.raises(ItemNotOwned, match="You don't have Toll"):
        await use(services, guild, ALICE, pricey.id)
    await buy(services, guild, ALICE, pricey.id)
    before = await guild_money(services, guild)
    with pytest.raises(CannotAfford, match="You have 30 bytes; this costs 100"):
        await use(services, guild, ALICE, pricey.id)
    assert await guild_money(services, guild) == before
    assert await held(services, guild, ALICE, pricey.id) == 1


async def test_sell_back_returns_the_share_and_the_stock(services: Services, guild: str) -> None:
    await fund(services, guild, ALICE, 1000)
    item = await make_item(
        services, guild, "Sword", price=101, stock=5, sellable=True, sell_percent=50
    )
    await buy(services, guild, ALICE, item.id, quantity=2)
    sold = await sell(services, guild, ALICE, item.id, quantity=2)
    assert (sold.amount, sold.remaining, sold.balance) == (100, 0, 1000 - 202 + 100)
    assert await item_row(services, item.id) == (5, 2)
    with pytest.raises(ItemNotOwned, match="You don't have Sword"):
        await sell(services, guild, ALICE, item.id)
    fixed = await make_item(services, guild, "Anchor", price=10)
    await buy(services, guild, ALICE, fixed.id)
    with pytest.raises(ItemNotSellable, match="Anchor cannot be sold back"):
        await sell(services, guild, ALICE, fixed.id)
    assert await integrity_ok(services, guild)


async def test_refund_round_trip(services: Services, guild: str) -> None:
    await fund(services, guild, ALICE, 500)
    item = await make_item(
        services,
        guild,
        "Crown",
        price=200,
        stock=3,
        purchase_actions=[{"type": "add_role", "role_id": role(3)}],
    )
    start = await guild_money(services, guild)
    bought = await buy(services, guild, ALICE, item.id)
    assert bought.roles_added == [role(3)]
    refunded = await refund(services, guild, bought.purchase_id)
    assert (refunded.amount, refunded.balance, refunded.roles_removed) == (200, 500, [role(3)])
    assert await item_row(services, item.id) == (3, 0)
    assert await held(services, guild, ALICE, item.id) == 0
    end = await guild_money(services, guild)
    assert end.accounts == start.accounts
    with pytest.raises(AlreadyRefunded):
        await refund(services, guild, bought.purchase_id)
    assert await integrity_ok(services, guild)
    removes = [j for j in await jobs(services, guild) if j.kind == "role.remove"]
    assert [j.payload["role_id"] for j in removes] == [role(3)]


async def test_sales_are_counted_in_the_buyers_shards_not_on_the_item(
    services: Services, guild: str, clock: FakeClock
) -> None:
    """An unlimited item's row is not written by a purchase (buyers of one item do not
    queue on it); its sales are the sum of the buyers' shards, less refunds."""
    item = await make_item(services, guild, "Cookie", price=5)
    buyers = [member(n) for n in range(1, 7)]
    for buyer in buyers:
        await fund(services, guild, buyer, 100)
    clock.advance(minutes=5)
    bought = [await buy(services, guild, b, item.id, quantity=2) for b in buyers]
    assert [b.item.sales_count for b in bought] == [2, 4, 6, 8, 10, 12]
    assert await item_row(services, item.id) == (-1, 12)
    async with unit_of_work(services, read_only=True) as uow:
        rows = await uow.session.execute(select(ShopItemSales.shard, ShopItemSales.sold))
        shards = dict(rows.all())
    assert shards == {shop_shard(b): 2 for b in buyers}
    assert bought[-1].item.updated_at == item.updated_at
    await refund(services, guild, bought[2].purchase_id)
    assert await item_row(services, item.id) == (-1, 10)
    assert await integrity_ok(services, guild)


async def test_refund_is_refused_when_the_items_are_gone(services: Services, guild: str) -> None:
    await fund(services, guild, ALICE, 500)
    item = await make_item(services, guild, "Snack", price=10, usable=True)
    bought = await buy(services, guild, ALICE, item.id)
    await use(services, guild, ALICE, item.id)
    before = await guild_money(services, guild)
    with pytest.raises(RefundItemsGone, match="holds only 0 now"):
        await refund(services, guild, bought.purchase_id)
    assert await guild_money(services, guild) == before


async def test_names_are_unique_and_sold_items_are_not_deleted(
    services: Services, guild: str
) -> None:
    await fund(services, guild, ALICE, 500)
    item = await make_item(services, guild, "Lamp", price=10)
    with pytest.raises(ItemConflict, match="already exists"):
        await make_item(services, guild, "lamp", price=5)
    spare = await make_item(services, guild, "Spare", price=10)
    async with unit_of_work(services) as uow:
        deleted = await shop_admin.delete_item(uow, guild_id=guild, item_id=spare.id)
        await uow.commit()
    assert deleted.name == "Spare"
    await buy(services, guild, ALICE, item.id)
    async with unit_of_work(services) as uow:
        with pytest.raises(ItemHasSales):
            await shop_admin.delete_item(uow, guild_id=guild, item_id=item.id)


async def test_stock_set_add_subtract(services: Services, guild: str) -> None:
    item = await make_item(services, guild, "Ore", price=1)

    async def stock(quantity: int, operation: str) -> int:
        async with unit_of_work(services) as uow:
            view = await shop_admin.set_stock(
                uow, guild_id=guild, item_id=item.id, quantity=quantity, operation=operation
            )
            await uow.commit()
        return view.stock

    with pytest.raises(InvalidInput, match="unlimited"):
        await stock(5, "add")
    assert await stock(10, "set") == 10
    assert await stock(5, "add") == 15
    assert await stock(3, "subtract") == 12
    with pytest.raises(InvalidInput, match="between 0"):
        await stock(13, "subtract")
    assert await stock(-1, "set") == -1


async def test_shop_posts_follow_the_item_through_the_outbox(
    services: Services, guild: str
) -> None:
    await configure(services, guild, shop_channel_id=CHANNEL)
    await fund(services, guild, ALICE, 500)
    item = await make_item(services, guild, "Banner", price=10, stock=2)
    posts = [j for j in await jobs(services, guild) if j.kind == "message.post"]
    assert len(posts) == 1
    assert posts[0].payload["key"] == f"shop.item:{item.id}"
    assert posts[0].payload["channel_id"] == CHANNEL
    fields = {f["name"]: f["value"] for f in posts[0].payload["embeds"][0]["fields"]}
    assert fields["Stock"] == "2 left"
    await buy(services, guild, ALICE, item.id)
    posts = [j for j in await jobs(services, guild) if j.kind == "message.post"]
    # The open job coalesced: one job, its newest revision shows the new stock.
    assert len(posts) == 1
    assert posts[0].revision == 1
    fields = {f["name"]: f["value"] for f in posts[0].payload["embeds"][0]["fields"]}
    assert fields["Stock"] == "1 left"
    assert posts[0].payload["components"] == [
        {
            "type": 1,
            "components": [
                {
                    "type": 2,
                    "style": 3,
                    "custom_id": f"shop.buy:{item.id}",
                    "label": "Buy",
                    "disabled": False,
                }
            ],
        }
    ]
    async with unit_of_work(services, read_only=True) as uow:
        view = await shop.get_item(uow, guild_id=guild, item_id=item.id)
    assert view.post.sync_status == "pending"
    async with unit_of_work(services) as uow:
        await shop_admin.update_item(
            uow, guild_id=guild, item_id=item.id, changes={"is_active": False}
        )
        await uow.commit()
    deletes = [j for j in await jobs(services, guild) if j.kind == "message.delete"]
    assert [j.payload["key"] for j in deletes] == [f"shop.item:{item.id}"]


async def test_actions_naming_unknown_items_are_refused(services: Services, guild: str) -> None:
    with pytest.raises(InvalidInput, match="Unknown shop item"):
        await make_item(
            services, guild, "Broken", price=1, use_actions=[{"type": "add_item", "item_id": 77}]
        )


async def test_concurrent_buyers_never_oversell(services: Services, guild: str) -> None:
    """Both backends: more buyers than stock; the item row lock serialises them."""
    buyers = [member(100 + n) for n in range(8)]
    for buyer in buyers:
        await fund(services, guild, buyer, 100)
    item = await make_item(services, guild, "Rare", price=10, stock=3)

    async def attempt(user: str) -> str:
        try:
            await buy(services, guild, user, item.id)
        except GuildbankError as error:
            return error.code
        return "ok"

    outcomes = await asyncio.gather(*(attempt(b) for b in buyers))
    assert sorted(outcomes) == ["ok"] * 3 + ["sold_out"] * 5
    assert await item_row(services, item.id) == (0, 3)
    assert await integrity_ok(services, guild)


async def test_purchases_announce_themselves_on_the_event_log(
    services: Services, guild: str
) -> None:
    await fund(services, guild, ALICE, 100)
    item = await make_item(services, guild, "Flag", price=10, stock=4)
    bought = await buy(services, guild, ALICE, item.id, quantity=2)
    async with unit_of_work(services, read_only=True) as uow:
        rows = (
            await uow.session.execute(
                select(EventLogEntry.name, EventLogEntry.data)
                .where(EventLogEntry.name.like("shop.%"))
                .order_by(EventLogEntry.id)
            )
        ).all()
    names = [name for name, _ in rows]
    assert names == ["shop.item_changed", "shop.stock_changed", "shop.purchase"]
    stock, purchase = rows[1][1], rows[2][1]
    assert (stock["item_id"], stock["stock"], stock["sales_count"]) == (item.id, 2, 2)
    assert (purchase["purchase_id"], purchase["total"], purchase["balance"]) == (
        bought.purchase_id,
        20,
        80,
    )


async def test_purchases_count_against_the_balance_rate_limit(
    services: Services, guild: str
) -> None:
    await fund(services, guild, ALICE, 1000)
    item = await make_item(services, guild, "Gum", price=1)
    await configure(services, guild, rate_limit_per_minute=2)
    await buy(services, guild, ALICE, item.id)
    await buy(services, guild, ALICE, item.id)
    before = await guild_money(services, guild)
    with pytest.raises(RateLimited):
        await buy(services, guild, ALICE, item.id)
    assert await guild_money(services, guild) == before
    assert await held(services, guild, ALICE, item.id) == 2
