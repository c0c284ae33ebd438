"""Migration 0012 (shop): every existing guild gets a ``shop`` system account; the tables
round-trip. Runs on a private database per backend, so downgrading disturbs no other test."""

from __future__ import annotations

from sqlalchemy import inspect, text

from guildbank.platform.engine import create_engine
from guildbank.platform.migrate import downgrade, upgrade

SHOP_TABLES = {"shop_items", "shop_inventories", "shop_purchases"}


async def _state(url: str, sql: str | None = None) -> tuple[set[str], list[tuple[str, bool]]]:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as connection:
            if sql is not None:
                await connection.execute(text(sql))
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
            rows = (
                await connection.execute(
                    text(
                        "SELECT guild_id, is_system FROM accounts WHERE user_id = 'shop' "
                        "ORDER BY guild_id"
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    return tables, [(str(g), bool(s)) for g, s in rows]


async def test_existing_guilds_get_a_shop_account(empty_database: str) -> None:
    upgrade(empty_database, "0011")
    await _state(
        empty_database,
        "INSERT INTO guilds (id, name) VALUES ('111111111111111111', 'a'), "
        "('222222222222222222', 'b')",
    )
    upgrade(empty_database, "0012")
    tables, shops = await _state(empty_database)
    assert tables >= SHOP_TABLES
    assert shops == [("111111111111111111", True), ("222222222222222222", True)]

    downgrade(empty_database, "0011")
    tables, shops = await _state(empty_database)
    assert not tables & SHOP_TABLES
    assert shops == []

    upgrade(empty_database, "0012")
    _, shops = await _state(empty_database)
    assert len(shops) == 2
