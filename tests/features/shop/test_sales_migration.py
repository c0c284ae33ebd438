"""Migration 0020 (sales shards): each item's ``sales_count`` moves to shard 0 of
``shop_item_sales`` and comes back on a downgrade, with its check. Runs on a private database
per backend."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from guildbank.platform.engine import create_engine
from guildbank.platform.migrate import downgrade, upgrade


async def _run(url: str, sql: str) -> list[tuple[int, ...]]:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as connection:
            result = await connection.execute(text(sql))
            return (
                sorted(tuple(int(v) for v in row) for row in result.all())
                if (result.returns_rows)
                else []
            )
    finally:
        await engine.dispose()


async def test_sales_counts_move_to_shards_and_back(empty_database: str) -> None:
    upgrade(empty_database, "0019")
    await _run(empty_database, "INSERT INTO guilds (id, name) VALUES ('111111111111111111', 'a')")
    await _run(
        empty_database,
        "INSERT INTO shop_items (guild_id, name, price, sales_count) VALUES "
        "('111111111111111111', 'Cookie', 5, 7), ('111111111111111111', 'Cake', 9, 0), "
        "('111111111111111111', 'Tea', 2, 3)",
    )
    upgrade(empty_database, "0020")
    assert await _run(empty_database, "SELECT item_id, shard, sold FROM shop_item_sales") == [
        (1, 0, 7),
        (3, 0, 3),
    ]
    # Sales in several shards, a refund's negative shard among them.
    await _run(
        empty_database,
        "INSERT INTO shop_item_sales (item_id, shard, guild_id, sold) VALUES "
        "(1, 5, '111111111111111111', 4), (3, 9, '111111111111111111', -1), "
        "(2, 2, '111111111111111111', 1)",
    )

    downgrade(empty_database, "0019")
    assert await _run(empty_database, "SELECT id, sales_count FROM shop_items") == [
        (1, 11),
        (2, 1),
        (3, 2),
    ]
    with pytest.raises(IntegrityError):
        await _run(empty_database, "UPDATE shop_items SET sales_count = -1 WHERE id = 1")

    upgrade(empty_database, "0020")
    assert await _run(empty_database, "SELECT item_id, shard, sold FROM shop_item_sales") == [
        (1, 0, 11),
        (2, 0, 1),
        (3, 0, 2),
    ]
