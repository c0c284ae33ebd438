"""Migration 0019 (shop shards): every existing guild gets the fifteen ``shop:N`` accounts
beside its ``shop``; downgrading removes them while they are unused and refuses once one
holds history. Runs on a private database per backend."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from guildbank.ledger.accounts import SHOP_ACCOUNTS, SYSTEM_ACCOUNTS, shop_account
from guildbank.platform.engine import create_engine
from guildbank.platform.migrate import downgrade, upgrade
from tests.factories import member

GUILDS = ("111111111111111111", "222222222222222222")


async def _run(url: str, sql: str) -> list[tuple[str, str]]:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as connection:
            result = await connection.execute(text(sql))
            return sorted((str(a), str(b)) for a, b in result.all()) if result.returns_rows else []
    finally:
        await engine.dispose()


SYSTEM = "SELECT guild_id, user_id FROM accounts WHERE is_system"


async def test_existing_guilds_get_every_shop_shard(empty_database: str) -> None:
    upgrade(empty_database, "0011")  # guilds from before the shop: 0012 opened their "shop"
    await _run(
        empty_database,
        "INSERT INTO guilds (id, name) VALUES "
        "('111111111111111111', 'a'), ('222222222222222222', 'b')",
    )
    upgrade(empty_database, "0018")
    upgrade(empty_database, "0019")
    # (guilds inserted by hand: no mint or sink, which register_guild opens)
    expected = sorted((g, name) for g in GUILDS for name in SHOP_ACCOUNTS)
    assert await _run(empty_database, SYSTEM) == expected

    downgrade(empty_database, "0018")
    assert await _run(empty_database, SYSTEM) == [(g, "shop") for g in GUILDS]

    upgrade(empty_database, "0019")
    await _run(
        empty_database,
        "UPDATE accounts SET balance = 5 "
        "WHERE user_id = 'shop:3' AND guild_id = '111111111111111111'",
    )
    with pytest.raises(RuntimeError, match="hold history"):
        downgrade(empty_database, "0018")
    assert len(await _run(empty_database, SYSTEM)) == len(expected)


def test_members_spread_over_every_shard_and_a_new_guild_opens_them_all() -> None:
    assert ("mint", "sink", *SHOP_ACCOUNTS) == SYSTEM_ACCOUNTS
    assert len(set(SHOP_ACCOUNTS)) == 16
    assert {shop_account(member(n)) for n in range(1, 200)} == set(SHOP_ACCOUNTS)
    assert shop_account("not-a-member") == "shop"
