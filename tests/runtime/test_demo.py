"""``guildbank demo`` (issue 14, item 7): a guild like the README's screenshots, on both
backends: members arriving over a month, 30 days of dailies and transfers spread through each
day (charts with shape), admin prizes and a reversal by a named actor, squads with members,
role rewards, channels and roles by name; a rerun adds nothing."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import func, select

from guildbank.features.economy import period_stats
from guildbank.features.economy import statistics as stats
from guildbank.features.guilds.catalog import load_catalog
from guildbank.features.guilds.queries import get_config
from guildbank.features.squads import queries as squads
from guildbank.ledger import integrity
from guildbank.platform.models.ledger import LedgerTransaction
from guildbank.platform.uow import Services, unit_of_work
from guildbank.runtime.demo import (
    DEMO_ACTOR,
    DEMO_GUILD_ID,
    DEMO_MEMBERS,
    ROLE_IDS,
    describe,
    fill_demo_guild,
)
from tests.conftest import FakeClock

G = DEMO_GUILD_ID


async def _transaction_times(services: Services) -> list[tuple[str, datetime]]:
    async with unit_of_work(services, read_only=True) as uow:
        rows = (
            await uow.session.execute(
                select(LedgerTransaction.type, LedgerTransaction.created_at).where(
                    LedgerTransaction.guild_id == G
                )
            )
        ).all()
        await uow.commit()
    return [(str(t), at) for t, at in rows]


async def test_the_demo_guild_has_a_month_of_shaped_history(
    services: Services, clock: FakeClock
) -> None:
    summary = await fill_demo_guild(services, now=clock.now)
    assert services.clock is clock  # the services' clock is back
    assert not summary.skipped
    assert summary.members == len(DEMO_MEMBERS)
    assert summary.dailies > 150
    assert summary.transfers > 150
    assert summary.adjustments >= 3
    assert summary.squads == 3

    async with unit_of_work(services, read_only=True) as uow:
        activity = await stats.daily_activity(uow, guild_id=G, days=30)
        supply = await period_stats.economy_series(uow, guild_id=G, days=30)
        members = await stats.search_members(uow, guild_id=G, limit=100)
        squad_rows = await squads.list_squads(uow, guild_id=G)
        config = await get_config(uow, G)
        catalog = await load_catalog(uow, G)
        report = await integrity.check_integrity(uow, guild_id=G)
        latest = (
            await uow.session.execute(
                select(func.max(LedgerTransaction.created_at)).where(
                    LedgerTransaction.guild_id == G
                )
            )
        ).scalar_one()
        actions = Counter(
            (str(kind), actor)
            for kind, actor in (
                await uow.session.execute(
                    select(LedgerTransaction.type, LedgerTransaction.actor_id).where(
                        LedgerTransaction.guild_id == G,
                        LedgerTransaction.type.in_(["admin_adjust", "reversal"]),
                    )
                )
            ).all()
        )
        await uow.commit()
    assert report.ok
    # Every day of the month has activity, and not the same amount each day: charts with shape.
    counts = [p.transactions for p in activity]
    assert all(counts), counts
    assert max(counts) >= 2 * min(counts)
    # The money supply grows over the month (members arrive, dailies and prizes pay out).
    assert supply[0].supply < supply[len(supply) // 2].supply < supply[-1].supply
    # Members arrived over the weeks, not all at once; every one of them has an account.
    assert members.total == len(DEMO_MEMBERS)
    arrivals = {row.created_at.date() for row in members.rows}
    assert len(arrivals) >= 8
    # Nothing happens in the future, and the history spans the whole month.
    times = await _transaction_times(services)
    first = min(at for _, at in times)
    assert latest is not None
    assert clock.now - timedelta(days=30) <= first.replace(tzinfo=clock.now.tzinfo)
    assert latest.replace(tzinfo=clock.now.tzinfo) <= clock.now
    assert {t for t, _ in times} >= {"daily", "transfer", "admin_adjust", "reversal"}
    # Squads with members; role rewards naming roles the server has, by name.
    assert [s.name for s in squad_rows] == ["Blue Whales", "Green Geckos", "Red Dragons"]
    assert sum(s.member_count for s in squad_rows) >= len(DEMO_MEMBERS) // 2
    assert all(s.member_count for s in squad_rows)
    assert set(config.role_rewards) == {ROLE_IDS[n] for n in ("Regular", "Patron", "Legend")}
    assert {catalog.roles[r].name for r in config.role_rewards} == {"Regular", "Patron", "Legend"}
    # Admin actions name who made them (the dashboard shows "API key demo").
    assert actions == Counter(
        {("admin_adjust", DEMO_ACTOR): summary.adjustments, ("reversal", DEMO_ACTOR): 1}
    )


async def test_a_rerun_adds_nothing(services: Services, clock: FakeClock) -> None:
    await fill_demo_guild(services, now=clock.now)
    before = await _transaction_times(services)
    clock.advance(days=2)
    again = await fill_demo_guild(services, now=clock.now)
    assert again.skipped
    assert "already there, nothing added" in describe(again)
    assert await _transaction_times(services) == before
