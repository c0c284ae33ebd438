"""Helpers of the backup tests: a guild using every feature, exports, and comparisons."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import func, select, text

from guildbank.features.backup.dump import export_chunks
from guildbank.features.backup.load import LoadReport, load_export, parse_export
from guildbank.features.backup.tables import LEDGER, OUTBOX_KEY_TABLES, TABLES
from guildbank.features.economy import admin as economy_admin
from guildbank.features.guilds.metadata import replace_metadata
from guildbank.features.guilds.schemas import ChannelIn, RoleIn
from guildbank.features.guilds.service import register_guild, update_config
from guildbank.features.shop import admin as shop_admin
from guildbank.features.squads import admin as squad_admin
from guildbank.features.squads import service as squad_service
from guildbank.ledger import integrity
from guildbank.platform.bus import InProcessBus
from guildbank.platform.engine import create_engine
from guildbank.platform.migrate import upgrade
from guildbank.platform.models import Base
from guildbank.platform.models.imported import ImportedHistory, ImportRecord, ImportRun
from guildbank.platform.models.ledger import Account
from guildbank.platform.models.outbox import OutboxMessage
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import PG_HOST, START, FakeClock, _pg_admin
from tests.factories import claim as claim_daily
from tests.factories import fund, send
from tests.features.shop.helpers import buy, make_item
from tests.features.tasks.support import claim, make_task, review, set_settings, submit

GUILD = "100000000000000001"
GENERAL = "100000000000000101"  # #general
NOW = START


def _id(n: int) -> str:
    return str(100000000000000100 + n)


MEMBERS = tuple(str(200000000000000000 + n) for n in range(1, 7))
CHANNELS = (("general", 1), ("bank-log", 2), ("shop", 3))
ROLES = (("guildbank", 20, True), ("Regular", 5, False), ("Red", 10, False), ("Blue", 11, False))
DAYS = 6


async def _history(services: Services, clock: FakeClock) -> None:
    """The guild's settings, channels, roles and squads, then six days of dailies, transfers,
    squad joins, a prize and a reversal (the tests' clock moves a day at a time)."""
    async with unit_of_work(services) as uow:
        await register_guild(uow, guild_id=GUILD, name="Backup guild")
        await replace_metadata(
            uow,
            guild_id=GUILD,
            channels=[ChannelIn(id=_id(n), name=name, type=0, position=n) for name, n in CHANNELS],
            roles=[
                RoleIn(id=_id(n), name=name, position=n, bot_holds=bot, managed=bot)
                for name, n, bot in ROLES
            ],
        )
        await update_config(
            uow,
            guild_id=GUILD,
            changes={"rate_limit_per_minute": 0, "daily_amount": 25, "role_rewards": {_id(5): 60}},
        )
        squads = [
            (
                await squad_admin.create_squad(
                    uow, guild_id=GUILD, role_id=_id(n), name=name, switch_cost=10, actor_id=None
                )
            ).id
            for name, n, _ in ROLES[2:]
        ]
        await uow.commit()
    for day in range(DAYS):
        for n, who in enumerate(MEMBERS[: 2 + day]):
            await claim_daily(services, GUILD, who)
            if day == 0 or n == 1 + day:
                async with unit_of_work(services) as uow:
                    await squad_service.join_squad(
                        uow, guild_id=GUILD, user_id=who, squad_id=squads[n % 2]
                    )
                    await uow.commit()
            clock.advance(minutes=7)
        for n in range(3):
            sent = await send(services, GUILD, MEMBERS[n], MEMBERS[n + 1], 5 + day + n)
            clock.advance(minutes=5)
        if day == 2:
            await fund(services, GUILD, MEMBERS[3], 500)
        if day == DAYS - 1:
            async with unit_of_work(services) as uow:
                await economy_admin.reverse_transaction(
                    uow, guild_id=GUILD, transaction_id=sent.id, reason="mistake", actor_id=None
                )
                await uow.commit()
        clock.advance(days=1)


async def fill_guild(services: Services, api: httpx.AsyncClient, clock: FakeClock) -> None:
    """A guild with settings, channels, roles, squads and six days of history, then shop
    items (one requiring another), purchases and a refund, tasks with a reward and a
    rejection, embeds, a custom command, an announcement, an outbox message and an import."""
    await _history(services, clock)
    alice, bob, carol = MEMBERS[:3]
    badge = await make_item(services, GUILD, "Badge", price=5)
    cape = await make_item(
        services,
        GUILD,
        "Cape",
        price=10,
        requirements=[{"type": "item", "item_id": badge.id}],
        purchase_actions=[{"type": "add_item", "item_id": badge.id, "quantity": 1}],
    )
    await make_item(services, GUILD, "Free sticker", price=0)
    await buy(services, GUILD, alice, badge.id)
    await buy(services, GUILD, alice, cape.id)
    refunded = await buy(services, GUILD, bob, badge.id, 2)
    async with unit_of_work(services) as uow:
        await shop_admin.refund_purchase(uow, guild_id=GUILD, purchase_id=refunded.purchase_id)
        await uow.commit()
    await set_settings(services, GUILD, max_tasks_per_user=3)
    task = await make_task(services, GUILD, "Welcome", reward=30)
    other = await make_task(services, GUILD, "Draw", reward=20)
    await claim(services, GUILD, task.id, alice)
    await submit(services, GUILD, task.id, alice)
    await review(services, GUILD, task.id, alice, accept=True)
    await claim(services, GUILD, other.id, bob)
    await submit(services, GUILD, other.id, bob)
    await review(services, GUILD, other.id, bob, accept=False, reason="blurry")
    await claim(services, GUILD, other.id, carol)
    async with unit_of_work(services) as uow:
        uow.session.add(
            OutboxMessage(
                guild_id=GUILD,
                key=f"shop.item:{cape.id}",
                channel_id=GENERAL,
                message_id="900000000000000001",
                updated_at=NOW,
            )
        )
        run = ImportRun(guild_id=GUILD, source_hash="ab" * 32, source="seed", report={"n": 1})
        uow.session.add(run)
        await uow.session.flush()
        uow.session.add_all(
            [
                ImportedHistory(
                    guild_id=GUILD,
                    run_id=run.id,
                    source_id="tx-1",
                    user_id=alice,
                    amount=25,
                    type="daily",
                    occurred_at=NOW,
                    details={"old": True},
                ),
                ImportRecord(guild_id=GUILD, kind="task", source_key="7", target_id=task.id),
            ]
        )
        await uow.commit()
    base = f"/api/guilds/{GUILD}"
    embed = await api.post(f"{base}/embeds", json={"name": "rules", "embed": {"title": "Rules"}})
    assert embed.status_code == 201, embed.text
    made = await api.post(
        f"{base}/commands", json={"name": "rules", "embed_id": embed.json()["id"]}
    )
    assert made.status_code in (200, 201), made.text
    posted = await api.post(
        f"{base}/announcements", json={"channel_id": GENERAL, "content": "Hello", "pin": True}
    )
    assert posted.status_code in (200, 201), posted.text


async def export_bytes(services: Services, guild_id: str = GUILD) -> bytes:
    async with unit_of_work(services, read_only=True) as uow:
        return b"".join([c async for c in export_chunks(uow, guild_id=guild_id, now=NOW)])


async def load_bytes(services: Services, raw: bytes) -> LoadReport:
    async with unit_of_work(services) as uow:
        report = await load_export(uow, parse_export(raw))
        await uow.commit()
    return report


@asynccontextmanager
async def other_database(backend: str, tmp_path: Path, request: Any) -> AsyncIterator[Services]:
    """Services on a second, empty, migrated database of the same backend."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "target.db"
        shutil.copyfile(template, path)
        url = f"sqlite+aiosqlite:///{path}"
    else:
        name = f"guildbank_backup_{os.getpid()}"
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')
        url = f"postgresql+asyncpg://postgres@{PG_HOST}:5432/{name}"
        await asyncio.to_thread(upgrade, url)
    services = Services(engine=create_engine(url, pool_size=5), bus=InProcessBus())
    try:
        yield services
    finally:
        await services.close()
        if backend != "sqlite":
            await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def integrity_problems(services: Services, guild_id: str = GUILD) -> list[Any]:
    async with unit_of_work(services, read_only=True) as uow:
        report = await integrity.check_integrity(uow, guild_id=guild_id)
    assert report.total == 0
    return report.problems


async def balances(services: Services, guild_id: str = GUILD) -> dict[str, tuple[int, ...]]:
    async with unit_of_work(services, read_only=True) as uow:
        rows = await uow.session.execute(
            select(
                Account.user_id,
                Account.balance,
                Account.total_received,
                Account.total_sent,
                Account.streak_count,
                Account.is_active,
            ).where(Account.guild_id == guild_id)
        )
        return {row[0]: tuple(row[1:]) for row in rows}


async def table_counts(services: Services, guild_id: str = GUILD) -> dict[str, int]:
    """Rows of the guild in every exported table (and its ledger entries)."""
    counts = {}
    async with unit_of_work(services, read_only=True) as uow:
        for spec in TABLES:
            table = Base.metadata.tables[spec.name]
            column = table.c.id if spec.name == "guilds" else table.c.guild_id
            counts[spec.name] = (
                await uow.session.execute(
                    select(func.count()).select_from(table).where(column == guild_id)
                )
            ).scalar_one()
        counts["ledger_entries"] = (
            await uow.session.execute(
                text(
                    "SELECT count(*) FROM ledger_entries e JOIN ledger_transactions t "
                    "ON t.id = e.transaction_id WHERE t.guild_id = :g"
                ),
                {"g": guild_id},
            )
        ).scalar_one()
    return counts


def normalized(raw: bytes) -> dict[str, Any]:
    """An export with every id replaced by its row's position in its table (references and
    outbox keys too), and the moment of the export dropped: two exports of the same guild
    from two databases compare equal."""
    document: dict[str, Any] = orjson.loads(raw)
    tables = document["tables"]
    positions = {
        spec.name: {row["id"]: index for index, row in enumerate(tables[spec.name])}
        for spec in TABLES
        if spec.new_ids
    }
    positions["accounts_by_id"] = positions["accounts"]
    for spec in TABLES:
        for row in tables[spec.name]:
            if spec.new_ids:
                row["id"] = positions[spec.name][row["id"]]
            for column, target in spec.refs.items():
                if row.get(column) is not None:
                    row[column] = positions[target][row[column]]
            for entry in row.get("entries", []):
                entry["account_id"] = positions["accounts"][entry["account_id"]]
            for key in ("requirements", "purchase_actions", "use_actions"):
                for part in row.get(key) or []:
                    if "item_id" in part:
                        part["item_id"] = positions["shop_items"][part["item_id"]]
            if spec.name == "outbox_messages":
                prefix, _, tail = row["key"].rpartition(":")
                if prefix in OUTBOX_KEY_TABLES:
                    row["key"] = f"{prefix}:{positions[OUTBOX_KEY_TABLES[prefix]][int(tail)]}"
    del document["exported_at"]
    assert LEDGER in tables
    return document
