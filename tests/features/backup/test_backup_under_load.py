"""A SQLite backup taken while transfers keep arriving through the API restores to a
consistent database: the backup API copies one instant, whatever the writers do meanwhile."""

from __future__ import annotations

import asyncio
import random
import shutil
from pathlib import Path

import httpx
from sqlalchemy import func, select

from guildbank.features.backup.snapshot import backup_sqlite, exclusive, inspect, restore_sqlite
from guildbank.features.guilds.service import register_guild, update_config
from guildbank.ledger import integrity
from guildbank.platform.bus import InProcessBus
from guildbank.platform.engine import create_engine
from guildbank.platform.models.ledger import LedgerTransaction
from guildbank.platform.uow import Services, unit_of_work
from guildbank.runtime.app import create_app
from tests.conftest import GUILD_ID, make_api_key, settings_for
from tests.factories import bytes_url, fund, member

MEMBERS = 12
CLIENTS = 6


async def _transactions(services: Services) -> int:
    async with unit_of_work(services, read_only=True) as uow:
        query = select(func.count()).where(LedgerTransaction.guild_id == GUILD_ID)
        return int((await uow.session.execute(query)).scalar_one())


async def _consistent(path: Path) -> int:
    """The guild's transactions in the database at ``path``, after checking its ledger."""
    services = Services(
        engine=create_engine(f"sqlite+aiosqlite:///{path}", pool_size=2), bus=InProcessBus()
    )
    try:
        async with unit_of_work(services, read_only=True) as uow:
            report = await integrity.check_integrity(uow, guild_id=GUILD_ID)
        assert report.problems == []
        assert report.ok
        assert report.total == 0  # money sums to zero
        return report.transactions
    finally:
        await services.close()


async def test_a_backup_during_a_transfer_load_restores_consistent(
    tmp_path: Path, sqlite_template: Path
) -> None:
    database = tmp_path / "live.db"
    shutil.copyfile(sqlite_template, database)
    url = f"sqlite+aiosqlite:///{database}"
    services = Services(engine=create_engine(url, pool_size=CLIENTS + 2), bus=InProcessBus())
    try:
        async with unit_of_work(services) as uow:
            await register_guild(uow, guild_id=GUILD_ID, name="Load")
            await update_config(uow, guild_id=GUILD_ID, changes={"rate_limit_per_minute": 0})
            await uow.commit()
        for n in range(MEMBERS):
            await fund(services, GUILD_ID, member(n), 200)
        key = await make_api_key(services)
        initial = await _transactions(services)
        app = create_app(settings_for(url), services)
        stop, progress = asyncio.Event(), asyncio.Event()
        statuses: list[int] = []

        async def client(seed: int) -> None:
            rng = random.Random(seed)
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://testserver",
                headers={"Authorization": f"Bearer {key}"},
            ) as api:
                while not stop.is_set():
                    giver, receiver = rng.sample(range(MEMBERS), 2)
                    response = await api.post(
                        bytes_url(GUILD_ID, "/transactions"),
                        json={
                            "giver_id": member(giver),
                            "receiver_id": member(receiver),
                            "amount": rng.randint(1, 40),
                        },
                    )
                    statuses.append(response.status_code)
                    progress.set()

        async def until(count: int) -> None:
            while statuses.count(200) < count:
                progress.clear()
                await progress.wait()

        clients = [asyncio.create_task(client(seed)) for seed in range(CLIENTS)]
        backups = []
        try:
            for number, after in enumerate((15, 45, 75)):
                await asyncio.wait_for(until(after), timeout=120)
                target = tmp_path / f"backup-{number}.db"
                # In a thread: the writers go on in theirs (aiosqlite) meanwhile.
                await asyncio.to_thread(backup_sqlite, database, target)
                backups.append(target)
        finally:
            stop.set()
            await asyncio.gather(*clients)
        final = await _transactions(services)
    finally:
        await services.close()

    assert set(statuses) <= {200, 400}, set(statuses)  # sent, or refused as unaffordable
    assert statuses.count(200) >= 75
    counts = [await _consistent(path) for path in backups]
    # Taken mid-load: each holds more than the start and less than the end.
    assert initial < counts[0] <= counts[1] <= counts[2] < final, (initial, counts, final)
    assert all(inspect(path).current for path in backups)

    # Restored over a database (stopped), the backup is that database again.
    restored = tmp_path / "restored.db"
    shutil.copyfile(database, restored)
    with exclusive(restored) as locked:
        restore_sqlite(backups[1], locked)
    assert await _consistent(restored) == counts[1]
    assert await _consistent(database) == final
