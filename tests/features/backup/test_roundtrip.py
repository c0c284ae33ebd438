"""Export → import: a guild using every feature comes back identical, on both backends."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select

from guildbank.features.backup.errors import ExportFileInvalid, GuildAlreadyExists
from guildbank.features.backup.tables import LEDGER, NOT_EXPORTED, TABLES
from guildbank.ledger.archive import archive_ledger
from guildbank.platform.models import Base
from guildbank.platform.models.ledger import LedgerTransaction
from guildbank.platform.models.shop import ShopItem
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import FakeClock
from tests.features.backup.support import (
    GUILD,
    NOW,
    balances,
    export_bytes,
    fill_guild,
    integrity_problems,
    load_bytes,
    normalized,
    other_database,
    table_counts,
)

OTHER_GUILD = "100000000000000999"


def test_every_table_is_exported_or_left_out_with_a_reason() -> None:
    """A new table is a decision: export it (tables.TABLES) or say why not (NOT_EXPORTED)."""
    exported = {spec.name for spec in TABLES}
    assert exported.isdisjoint(NOT_EXPORTED)
    assert set(Base.metadata.tables) - {"alembic_version"} == (exported | set(NOT_EXPORTED)) - {
        "alembic_version"
    }


async def test_an_export_loads_into_an_empty_database_identically(
    backend: str,
    services: Services,
    api: httpx.AsyncClient,
    clock: FakeClock,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    await fill_guild(services, api, clock)
    assert await integrity_problems(services) == []
    raw = await export_bytes(services)
    document = orjson.loads(raw)
    assert document["format"] == "guildbank.guild-export"
    assert document["version"] == 2
    source_counts = await table_counts(services)
    # Every feature's tables have rows: the round trip below covers them all.
    assert [name for name, count in source_counts.items() if count == 0] == []
    assert all(row["opening_balance"] == 0 for row in document["tables"]["accounts"])

    async with other_database(backend, tmp_path, request) as target:
        report = await load_bytes(target, raw)
        assert report.opening_transactions == 0
        assert report.skipped == []
        assert await integrity_problems(target) == []
        assert await balances(target) == await balances(services)
        assert await table_counts(target) == source_counts
        again = await export_bytes(target)
    assert normalized(again) == normalized(raw)


async def _sales_by_name(services: Services) -> dict[str, int]:
    async with unit_of_work(services, read_only=True) as uow:
        rows = await uow.session.execute(select(ShopItem.name, ShopItem.sales_count))
        return {name: int(sold) for name, sold in rows}


async def test_a_version_1_export_loads_with_its_items_sales(
    backend: str,
    services: Services,
    api: httpx.AsyncClient,
    clock: FakeClock,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """Before migration 0020 an export kept an item's sales in ``shop_items.sales_count``."""
    await fill_guild(services, api, clock)
    document = orjson.loads(await export_bytes(services))
    sales: dict[int, int] = {}
    for row in document["tables"].pop("shop_item_sales"):
        sales[row["item_id"]] = sales.get(row["item_id"], 0) + row["sold"]
    del document["counts"]["shop_item_sales"]
    for item in document["tables"]["shop_items"]:
        item["sales_count"] = sales.get(item["id"], 0)
    document["version"] = 1
    expected = await _sales_by_name(services)
    assert any(expected.values())
    async with other_database(backend, tmp_path, request) as target:
        await load_bytes(target, orjson.dumps(document))
        assert await _sales_by_name(target) == expected
        assert await integrity_problems(target) == []


async def _archive_oldest(services: Services, directory: Path) -> int:
    """The ledger archive moves the guild's first two weeks out of the hot tables."""
    async with unit_of_work(services) as uow:
        result = await archive_ledger(
            uow, guild_id=GUILD, cutoff=NOW + timedelta(days=3), directory=directory
        )
        await uow.commit()
    assert result.transactions > 0
    return result.transactions


async def test_history_moved_out_comes_back_as_opening_balances(
    backend: str,
    services: Services,
    api: httpx.AsyncClient,
    clock: FakeClock,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    await fill_guild(services, api, clock)
    await _archive_oldest(services, tmp_path / "archive")
    assert await integrity_problems(services) == []
    raw = await export_bytes(services)
    openings = [
        row for row in orjson.loads(raw)["tables"]["accounts"] if row["opening_balance"] != 0
    ]
    assert len(openings) > 3
    async with other_database(backend, tmp_path, request) as target:
        report = await load_bytes(target, raw)
        # One per account with an opening balance, the mint's balancing them all.
        assert report.opening_transactions == len([r for r in openings if r["user_id"] != "mint"])
        assert await integrity_problems(target) == []
        assert await balances(target) == await balances(services)
        async with unit_of_work(target, read_only=True) as uow:
            types = (
                await uow.session.execute(
                    select(LedgerTransaction.type, func.count()).group_by(LedgerTransaction.type)
                )
            ).all()
        assert dict(types)["import"] == report.opening_transactions
        counts = await table_counts(target)
        source = await table_counts(services)
        assert counts[LEDGER] == source[LEDGER] + report.opening_transactions
        # Re-exported, the history before the opening balances is gone for good: equal
        # balances, and the exported transactions in the same order after the openings.
        again = orjson.loads(await export_bytes(target))
    exported = orjson.loads(raw)["tables"][LEDGER]
    assert [t["type"] for t in again["tables"][LEDGER][report.opening_transactions :]] == [
        t["type"] for t in exported
    ]
    assert [t["created_at"] for t in again["tables"][LEDGER][report.opening_transactions :]] == [
        t["created_at"] for t in exported
    ]


async def _all_counts(services: Services) -> dict[str, int]:
    async with unit_of_work(services, read_only=True) as uow:
        return {
            name: (await uow.session.execute(select(func.count()).select_from(table))).scalar_one()
            for name, table in Base.metadata.tables.items()
        }


async def test_an_export_loads_beside_other_guilds_and_refuses_its_own_guild(
    services: Services, api: httpx.AsyncClient, clock: FakeClock
) -> None:
    await fill_guild(services, api, clock)
    raw = await export_bytes(services)
    before = await _all_counts(services)
    with pytest.raises(GuildAlreadyExists):
        await load_bytes(services, raw)
    assert await _all_counts(services) == before

    # The same guild under another id: a database holding other guilds takes it.
    copy = orjson.loads(raw)
    copy["guild_id"] = OTHER_GUILD
    copy["tables"]["guilds"][0]["id"] = OTHER_GUILD
    await load_bytes(services, orjson.dumps(copy))
    assert await integrity_problems(services, OTHER_GUILD) == []
    assert await balances(services, OTHER_GUILD) == await balances(services)
    assert await table_counts(services, OTHER_GUILD) == await table_counts(services)
    assert await integrity_problems(services) == []


def _tamper(document: dict[str, Any], how: str) -> Any:  # noqa: PLR0912 - one case each
    tables = document["tables"]
    ledger = tables[LEDGER]
    match how:
        case "format":
            document["format"] = "something else"
        case "version":
            document["version"] = 99
        case "truncated":
            tables["accounts"].pop()
        case "unknown_table":
            tables["secrets"] = []
        case "unknown_column":
            tables["squads"][0]["colour"] = "red"
        case "wrong_type":
            tables["accounts"][3]["balance"] = "12"
        case "bad_date":
            tables["tasks"][0]["created_at"] = "yesterday"
        case "too_long":
            tables["shop_items"][0]["name"] = "x" * 101
        case "unbalanced":
            ledger[5]["entries"][0]["amount"] += 1
            ledger[5]["entries"][0]["balance_after"] += 1
        case "broken_chain":
            ledger[7]["entries"][0]["balance_before"] += 1
        case "balance_changed":
            tables["accounts"][4]["balance"] += 1
            tables["accounts"][0]["balance"] -= 1
        case "unknown_account":
            ledger[2]["entries"][0]["account_id"] = 10**9
        case "missing_reference":
            tables["member_tasks"][0]["task_id"] = 10**9
        case "duplicate_id":
            tables["squads"][1]["id"] = tables["squads"][0]["id"]
        case "refused_by_database":
            tables["shop_items"][0]["price"] = -5
        case "not_json":
            return b'{"format": "guildbank.guild-export", "version": 1, "tables": {'
    return orjson.dumps(document)


TAMPERINGS = (
    "format",
    "version",
    "truncated",
    "unknown_table",
    "unknown_column",
    "wrong_type",
    "bad_date",
    "too_long",
    "unbalanced",
    "broken_chain",
    "balance_changed",
    "unknown_account",
    "missing_reference",
    "duplicate_id",
    "refused_by_database",
    "not_json",
)


async def test_a_bad_export_is_refused_and_changes_nothing(
    services: Services, api: httpx.AsyncClient, clock: FakeClock
) -> None:
    """Each way a file can be wrong (one guild filled once, every tampering tried on it)."""
    await fill_guild(services, api, clock)
    raw = await export_bytes(services)
    before = await _all_counts(services)
    for how in TAMPERINGS:
        document = orjson.loads(raw)
        document["guild_id"] = OTHER_GUILD
        document["tables"]["guilds"][0]["id"] = OTHER_GUILD
        with pytest.raises(ExportFileInvalid) as refused:
            await load_bytes(services, _tamper(document, how))
        assert str(refused.value).startswith("Invalid export file"), how
        assert await _all_counts(services) == before, how
