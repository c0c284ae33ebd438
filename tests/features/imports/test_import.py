"""Importing the seed bot's data folder: the synthetic 2,000-member dataset goes in whole (both
backends), a second run changes nothing, the ledger is consistent and holds exactly the files'
balances; bad files refuse the import with the file and JSON path, leaving the database as it
was."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from guildbank.features.imports.errors import NothingToImport
from guildbank.features.imports.importer import ImportReport
from guildbank.features.imports.service import parse_all, run_guild
from guildbank.features.imports.sources import read_folder
from guildbank.ledger.integrity import check_integrity
from guildbank.ledger.openings import POSTING_MEMBERS
from guildbank.platform.models.guilds import Guild, GuildSettings
from guildbank.platform.models.imported import ImportedHistory, ImportRun
from guildbank.platform.models.ledger import Account, LedgerEntry, LedgerTransaction
from guildbank.platform.models.shop import ShopInventory, ShopItem
from guildbank.platform.models.tasks import MemberTask, Task, TaskSettings
from guildbank.platform.uow import Services, unit_of_work
from tests.factories import fund, member
from tests.features.imports.seed_data import (
    BAD_RECORDS,
    CONFIG_NOTES,
    GUILDS,
    Expected,
    write_dataset,
)

TABLES = (
    Guild,
    Account,
    LedgerTransaction,
    LedgerEntry,
    ShopItem,
    ShopInventory,
    Task,
    MemberTask,
    TaskSettings,
    ImportRun,
    ImportedHistory,
)
FIRST = next(iter(GUILDS))


async def counts(services: Services) -> dict[str, int]:
    """Rows per table touched by an import (a run that changes nothing leaves them all)."""
    async with unit_of_work(services, read_only=True) as uow:
        found = {
            table.__tablename__: (
                await uow.session.execute(select(func.count()).select_from(table))
            ).scalar_one()
            for table in TABLES
        }
        await uow.commit()
    return found


async def import_folder(
    services: Services, root: Path, guild: str | None = None
) -> list[ImportReport]:
    sources, _ = read_folder(root, guild=guild)
    parsed, errors = parse_all(sources)
    assert not errors, [e.message for e in errors]
    return [await run_guild(services, p, actor_id="test") for p in parsed]


async def member_balances(services: Services, guild_id: str) -> dict[str, int]:
    async with unit_of_work(services, read_only=True) as uow:
        rows = (
            await uow.session.execute(
                select(Account.user_id, Account.balance).where(
                    Account.guild_id == guild_id, Account.is_system.is_(False)
                )
            )
        ).all()
        await uow.commit()
    return dict(rows)


def check_report(report: ImportReport, expected: Expected) -> None:
    assert report.changed
    assert report.members == expected.members
    assert report.total == expected.total
    assert report.items == expected.items
    assert report.inventories == expected.inventories
    assert report.tasks == expected.tasks
    assert report.claims == expected.claims
    assert report.history == expected.history
    assert len(report.skipped) == expected.skipped, report.skipped


async def test_dataset_imports_whole_and_a_rerun_changes_nothing(
    services: Services, tmp_path: Path
) -> None:
    expected = write_dataset(tmp_path / "data")
    started = time.monotonic()
    reports = await import_folder(services, tmp_path / "data")
    elapsed = time.monotonic() - started
    assert elapsed < 60, f"import took {elapsed:.1f}s"  # a few seconds when the machine is idle
    assert [r.guild_id for r in reports] == list(GUILDS)
    for report in reports:
        check_report(report, expected[report.guild_id])
    assert sum(r.members for r in reports) == 2000
    assert sum(r.history for r in reports) == 10_000

    for guild_id, wanted in expected.items():
        assert await member_balances(services, guild_id) == wanted.balances
        async with unit_of_work(services, read_only=True) as uow:
            integrity = await check_integrity(uow, guild_id=guild_id)
            config = (
                await uow.session.execute(
                    select(GuildSettings.currency_name, GuildSettings.currency_emoji).where(
                        GuildSettings.guild_id == guild_id
                    )
                )
            ).one()
            settings = await uow.session.get(TaskSettings, guild_id)
            await uow.commit()
        assert integrity.ok, integrity.problems[:5]
        assert tuple(config) == ("coins", "$")
        assert settings is not None
        assert (settings.max_tasks_per_user, settings.require_proof) == (7, False)

    before = await counts(services)
    again = await import_folder(services, tmp_path / "data")
    assert [r.already_imported for r in again] == [True] * len(GUILDS)
    assert [r.run_id for r in again] == [r.run_id for r in reports]
    assert await counts(services) == before


async def test_skipped_records_name_file_path_and_reason(
    services: Services, tmp_path: Path
) -> None:
    write_dataset(tmp_path / "data", scale=0.05)
    (report,) = await import_folder(services, tmp_path / "data", guild=FIRST)
    assert len(report.skipped) == BAD_RECORDS + CONFIG_NOTES
    text = "\n".join(report.skipped)
    for fragment in (
        'currency.json: $.users["not-a-user"]: the key is not a Discord user id',
        'currency.json: $.users["800000000000000001"].balance: Input should be greater',
        'currency.json: $.users["800000000000000002"].balance: Input should be less',
        'currency.json: $.users["800000000000000003"].balance: Input should be a valid integer',
        'currency.json: $.shop_items["bad-nul"].name: Control characters are not allowed',
        'currency.json: $.shop_items["bad-long"].name: String should have at most 100',
        'currency.json: $.inventory["700000000000100000"]["no-such-item"]: no imported shop',
        'tasks.json: $.tasks["bad-reward"].reward',
        "transactions.json: $[",
    ):
        assert fragment in text, (fragment, text)
    async with unit_of_work(services, read_only=True) as uow:
        history = (
            await uow.session.execute(
                select(ImportedHistory.source_id).where(ImportedHistory.guild_id == FIRST)
            )
        ).scalars()
        assert not {"bad-1", "bad-2", "bad-3"} & set(history)
        await uow.commit()


async def test_opening_balances_are_import_transactions_from_the_mint(
    services: Services, tmp_path: Path
) -> None:
    expected = write_dataset(tmp_path / "data", scale=0.02, bad=False)
    await import_folder(services, tmp_path / "data", guild=FIRST)
    async with unit_of_work(services, read_only=True) as uow:
        types = (
            await uow.session.execute(
                select(LedgerTransaction.type, func.count(), func.sum(LedgerTransaction.amount))
                .where(LedgerTransaction.guild_id == FIRST)
                .group_by(LedgerTransaction.type)
            )
        ).all()
        mint = (
            await uow.session.execute(
                select(Account.balance).where(Account.guild_id == FIRST, Account.user_id == "mint")
            )
        ).scalar_one()
        entries = (
            await uow.session.execute(
                select(Account.user_id, LedgerEntry.amount, LedgerEntry.balance_before)
                .join(LedgerEntry, LedgerEntry.account_id == Account.id)
                .where(Account.guild_id == FIRST, Account.is_system.is_(False))
            )
        ).all()
        await uow.commit()
    wanted = expected[FIRST]
    batches = -(-sum(1 for b in wanted.balances.values() if b > 0) // POSTING_MEMBERS)
    assert [(t, n, int(s)) for t, n, s in types] == [("import", batches, wanted.total)]
    assert mint == -wanted.total
    assert {user: amount for user, amount, _ in entries} == {
        user: balance for user, balance in wanted.balances.items() if balance > 0
    }
    assert {before for _, _, before in entries} == {0}


async def test_changed_files_add_only_what_is_new(services: Services, tmp_path: Path) -> None:
    root = tmp_path / "data"
    write_dataset(root, scale=0.02, bad=False)
    await import_folder(services, root, guild=FIRST)
    before = await member_balances(services, FIRST)
    currency_path = root / FIRST / "currency.json"
    currency = json.loads(currency_path.read_text())
    first_user = next(iter(currency["users"]))
    currency["users"][first_user]["balance"] += 1000  # already here: kept as it is
    currency["users"]["799999999999999999"] = {"balance": 42}
    currency_path.write_text(json.dumps(currency))
    (report,) = await import_folder(services, root, guild=FIRST)
    assert report.changed
    assert (report.members, report.members_kept, report.total) == (1, len(before), 42)
    assert (report.items, report.tasks, report.claims, report.history) == (0, 0, 0, 0)
    after = await member_balances(services, FIRST)
    assert after == {**before, "799999999999999999": 42}
    async with unit_of_work(services, read_only=True) as uow:
        assert (await check_integrity(uow, guild_id=FIRST)).ok
        await uow.commit()


@pytest.mark.parametrize(
    ("file", "content", "message"),
    [
        ("tasks.json", "{not json", "tasks.json: $: not valid JSON: Expecting property name"),
        ("currency.json", '{"users": []}', "currency.json: $.users: must be an object, not list"),
        ("currency.json", "[1, 2]", "currency.json: $: must be a JSON object, not list"),
        ("transactions.json", '{"a": 1}', "transactions.json: $: must be a JSON list"),
        ("config.json", '{"x": NaN}', "config.json: $: not valid JSON: NaN is not a JSON number"),
        ("currency.json", b"\xff\xfe", "currency.json: $: not UTF-8 text"),
    ],
)
async def test_a_malformed_file_refuses_the_import_and_changes_nothing(
    services: Services, tmp_path: Path, file: str, content: str | bytes, message: str
) -> None:
    root = tmp_path / "data"
    write_dataset(root, scale=0.02, bad=False)
    second = list(GUILDS)[1]
    path = root / second / file
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    before = await counts(services)
    sources, _ = read_folder(root)
    parsed, errors = parse_all(sources)
    assert [e.message for e in errors] == [f"{second}/{message}"] or (
        len(errors) == 1 and errors[0].message.startswith(f"{second}/{message}")
    ), [e.message for e in errors]
    assert errors[0].code == "import_file_invalid"
    assert len(parsed) == len(GUILDS) - 1
    assert await counts(services) == before


def test_a_folder_without_seed_data_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(NothingToImport, match="holds no seed-bot data"):
        read_folder(tmp_path / "empty")
    with pytest.raises(NothingToImport, match="not a Discord server id"):
        read_folder(tmp_path / "empty", guild="abc")


async def test_values_postgresql_refuses_are_skipped_with_reasons(
    services: Services, tmp_path: Path
) -> None:
    """NUL characters, lone surrogates, integers beyond 64 bits and overlong texts: skipped (or
    the setting left out) with a reason on both backends, never a database error."""
    folder = tmp_path / "data" / FIRST
    folder.mkdir(parents=True)
    currency = (
        '{"users": {"700000000000000001": {"balance": 10}, '
        '"700000000000000002": {"balance": 99999999999999999999999}}, '
        '"shop_items": {"a\\u0000b": {"name": "x", "price": 1}, '
        '"1": {"name": "ok", "price": 1, "description": "bad \\ud800"}}, '
        '"inventory": {"700000000000000001": {"1": 18446744073709551616}}}'
    )
    tasks = (
        '{"tasks": {"t\\u0000": {"name": "n", "reward": 1}}, "settings": {"max_tasks_per_user": 0}}'
    )
    config = '{"currency_name": "co\\u0000ins", "currency_symbol": "' + "x" * 100 + '"}'
    log = (
        '[{"id": "a", "user_id": "700000000000000001", "amount": 1, '
        '"metadata": {"k": "\\ud800"}}, '
        '{"id": "b\\ud800", "user_id": "700000000000000001", "amount": 1}, '
        '{"id": "c", "user_id": "700000000000000001", "amount": 1, "metadata": {"k": "\\u0000"}}, '
        '{"id": "d", "user_id": "700000000000000001", "amount": 3}]'
    )
    for name, text in (
        ("currency.json", currency),
        ("tasks.json", tasks),
        ("config.json", config),
        ("transactions.json", log),
    ):
        (folder / name).write_text(text)
    (report,) = await import_folder(services, tmp_path / "data")
    assert (report.members, report.total, report.items, report.tasks, report.history) == (
        1,
        10,
        0,
        0,
        1,
    )
    text = "\n".join(report.skipped)
    for fragment in (
        '$.users["700000000000000002"].balance: Input should be less than or equal to',
        '$.shop_items["a\\u0000b"]: the id holds a control character',
        '$.shop_items["1"].description: Control characters are not allowed here (found U+D800)',
        '$.tasks["t\\u0000"]: the id holds a control character',
        "tasks.json: $.settings.max_tasks_per_user: Input should be greater than or equal to 1",
        "config.json: $.currency_name: Control characters are not allowed here (found U+0000)",
        "config.json: $.currency_symbol: String should have at most 64 characters",
        "transactions.json: $[0].metadata: metadata holds a lone surrogate",
        "transactions.json: $[1].id: the id holds a control character",
        "transactions.json: $[2].metadata: metadata holds a NUL character",
    ):
        assert fragment in text, (fragment, text)
    async with unit_of_work(services, read_only=True) as uow:
        assert (await check_integrity(uow, guild_id=FIRST)).ok
        await uow.commit()


async def test_a_server_already_in_use_keeps_its_members_and_stays_consistent(
    services: Services, guild: str, tmp_path: Path
) -> None:
    """Importing into a live server: its members keep their balances, the mint's chain goes
    on from its last entry, the integrity check stays clean, the name Discord gave stays."""
    await fund(services, guild, member(1), 500)
    await fund(services, guild, member(2), 70)
    folder = tmp_path / "data" / guild
    folder.mkdir(parents=True)
    users = {member(1): {"balance": 9999}, member(3): {"balance": 40}, member(4): {"balance": 0}}
    (folder / "currency.json").write_text(json.dumps({"users": users}))
    (folder / "config.json").write_text(json.dumps({"server_name": "Old name"}))
    (report,) = await import_folder(services, tmp_path / "data")
    assert (report.members, report.members_kept, report.total) == (2, 1, 40)
    assert await member_balances(services, guild) == {
        member(1): 500,
        member(2): 70,
        member(3): 40,
        member(4): 0,
    }
    async with unit_of_work(services, read_only=True) as uow:
        integrity = await check_integrity(uow, guild_id=guild)
        name = (await uow.session.get(Guild, guild)).name  # type: ignore[union-attr]
        await uow.commit()
    assert integrity.ok, integrity.problems
    assert name == "Test guild"
