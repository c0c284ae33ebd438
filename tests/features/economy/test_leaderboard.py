"""Leaderboard ranks at any size (features/economy/ranks.py, docs/hot-paths.md): exact in small
guilds and near the top, estimated from a per-process snapshot deeper in large guilds, with
ties ranked the way the exact count ranks them. Large guilds are simulated by small settings."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from guildbank.features.economy import queries as reports
from guildbank.features.economy import ranks
from guildbank.features.economy.membership import set_member_active
from guildbank.features.economy.render import leaderboard_embed
from guildbank.features.economy.schemas import RankOut
from guildbank.features.guilds.queries import get_config
from guildbank.features.guilds.schemas import ConfigOut
from guildbank.platform.uow import Services, unit_of_work
from tests.bot.world import BotWorld, embed_of
from tests.conftest import FakeClock
from tests.factories import bytes_url, fund, member, send

# Funded in this order (account ids follow it), so ties rank by account, not by user id:
# member 8 opened first and leads the 300s; the 300s span two snapshot boundaries (step 3).
SEED = [
    (1, 500),
    (8, 300),
    (2, 300),
    (3, 300),
    (4, 300),
    (5, 300),
    (6, 300),
    (7, 300),
    (10, 120),
    (9, 120),
    (11, 90),
    (12, 90),
    (13, 50),
    (14, 10),
]


async def seed(services: Services, guild: str) -> None:
    for n, balance in SEED:
        await fund(services, guild, member(n), balance)


def large(services: Services, *, exact: int = 2, small: int = 5, step: int = 3) -> None:
    """Treat guilds of ``small`` members or more as large (the defaults are 10,000 / 20,000 /
    1,000)."""
    services.rank_exact_limit = exact
    services.rank_snapshot_min_members = small
    services.rank_snapshot_step = step


async def board(services: Services, guild: str) -> list[str]:
    async with unit_of_work(services, read_only=True) as uow:
        rows = await reports.leaderboard(uow, guild_id=guild, limit=100)
    assert [row.rank for row in rows] == list(range(1, len(rows) + 1))
    return [row.user_id for row in rows]


async def standing(services: Services, guild: str, user: str) -> ranks.Standing:
    async with unit_of_work(services, read_only=True) as uow:
        found = await reports.member_standing(uow, guild_id=guild, user_id=user)
        await uow.commit()
    return found


async def ranks_of(services: Services, guild: str, users: list[str]) -> list[tuple[int, bool]]:
    found = []
    for user in users:
        entry = (await standing(services, guild, user)).entry
        assert entry is not None
        found.append((entry.rank, entry.rank_exact))
    return found


# --- exact ---------------------------------------------------------------------------------


async def test_a_small_guild_ranks_everyone_exactly(services: Services, guild: str) -> None:
    services.rank_exact_limit = 2  # deeper members still get the full count: the guild is small
    await seed(services, guild)
    order = await board(services, guild)
    assert order[:3] == [member(1), member(8), member(2)]  # the oldest 300 first
    assert await ranks_of(services, guild, order) == [(n, True) for n in range(1, 15)]
    found = await standing(services, guild, member(14))
    assert (found.members, found.members_exact) == (14, True)
    assert services.rank_snapshots.get(guild) is None  # no snapshot for a small guild
    stranger = await standing(services, guild, member(99))
    assert (stranger.entry, stranger.members, stranger.members_exact) == (None, 14, True)


async def test_ties_rank_by_account_age_and_follow_changes(services: Services, guild: str) -> None:
    await seed(services, guild)
    await send(services, guild, member(7), member(1), 1)  # member 7 drops below the 300s
    await fund(services, guild, member(3), 300)  # unchanged: a set to the same balance
    order = await board(services, guild)
    assert order[1:7] == [member(n) for n in (8, 2, 3, 4, 5, 6)]
    assert order[7] == member(7)
    assert await ranks_of(services, guild, order) == [(n, True) for n in range(1, 15)]


# --- estimated -----------------------------------------------------------------------------


async def test_deep_members_of_a_large_guild_rank_from_the_snapshot(
    services: Services, guild: str
) -> None:
    await seed(services, guild)
    large(services, exact=2, small=5, step=3)
    order = await board(services, guild)
    found = await ranks_of(services, guild, order)
    # Right, ties included, since nothing changed since the snapshot: exact above the first
    # boundary (rank 3), estimates below it (the boundary's rank is as of the snapshot).
    assert found == [(n, n <= 3) for n in range(1, 15)]
    slot = services.rank_snapshots.get(guild)
    assert slot is not None
    snapshot = slot.snapshot
    assert (snapshot.members, snapshot.step, len(snapshot.boundaries)) == (14, 3, 4)
    deep = await standing(services, guild, member(14))
    assert (deep.members, deep.members_exact) == (14, False)
    stranger = await standing(services, guild, member(99))
    assert (stranger.entry, stranger.members, stranger.members_exact) == (None, 14, False)


async def test_ranks_within_the_exact_limit_stay_exact(services: Services, guild: str) -> None:
    await seed(services, guild)
    large(services, exact=5, small=5, step=3)
    order = await board(services, guild)
    assert await ranks_of(services, guild, order) == [(n, n <= 5) for n in range(1, 15)]


async def test_a_large_guild_builds_its_snapshot_once_for_concurrent_requests(
    services: Services, guild: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed(services, guild)
    large(services)
    builds = []
    real = ranks.build_snapshot

    async def counted(*args: Any) -> ranks.Snapshot:
        builds.append(args[1])
        return await real(*args)

    monkeypatch.setattr(ranks, "build_snapshot", counted)
    found = await asyncio.gather(*(standing(services, guild, member(n)) for n in range(9, 15)))
    assert builds == [guild]
    assert all(f.entry is not None and not f.entry.rank_exact for f in found)


async def test_the_snapshot_is_rebuilt_in_the_background_once_it_is_old(
    services: Services, guild: str, clock: FakeClock
) -> None:
    await seed(services, guild)
    large(services)
    services.rank_snapshot_seconds = 60
    assert await ranks_of(services, guild, [member(14)]) == [(14, False)]
    # A new member opens at the top: every boundary is now one rank lower than recorded.
    await fund(services, guild, member(20), 1000)
    stale = await standing(services, guild, member(14))
    assert stale.entry is not None
    assert (stale.entry.rank, stale.members) == (14, 14)
    clock.advance(seconds=59)
    assert (await standing(services, guild, member(14))).entry == stale.entry
    clock.advance(seconds=1)
    # The first request after 60 s still answers from the old snapshot (no rebuild on the
    # request path) and starts the rebuild.
    assert (await standing(services, guild, member(14))).entry == stale.entry
    await ranks.settle()
    fresh = await standing(services, guild, member(14))
    assert fresh.entry is not None
    assert (fresh.entry.rank, fresh.members) == (15, 15)
    assert fresh.entry.user_id == (await board(services, guild))[14]


async def test_the_error_is_bounded_by_the_moves_since_the_snapshot(
    services: Services, guild: str
) -> None:
    """Only a boundary's rank is stale: each member moving across it shifts the estimates
    below it by one; the live count below the boundary is always current."""
    await seed(services, guild)
    large(services)
    await ranks_of(services, guild, [member(14)])  # the snapshot
    # Member 13 climbs from 50 to 250 past the boundaries at ranks 12 (member 12) and 9
    # (member 10), which now sit one rank lower than recorded; member 1 drops from 500 to 300
    # but, oldest, stays ahead of every boundary.
    await send(services, guild, member(1), member(13), 200)
    order = await board(services, guild)
    assert order[8:10] == [member(13), member(10)]
    estimates = await ranks_of(services, guild, order)
    errors = [rank - position for position, (rank, _) in enumerate(estimates, start=1)]
    # Exact down to member 10 (its nearest boundary is the one at rank 6, which nobody
    # crossed); one short below member 10's boundary, which one member crossed.
    assert errors == [0] * 10 + [-1] * 4


async def test_a_failed_rebuild_keeps_the_old_snapshot_and_waits_before_retrying(
    services: Services, guild: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed(services, guild)
    large(services)
    await ranks_of(services, guild, [member(14)])
    attempts = []

    async def broken(*args: Any) -> ranks.Snapshot:
        attempts.append(args[1])
        raise ConnectionError("database went away")

    monkeypatch.setattr(ranks, "build_snapshot", broken)
    clock.advance(seconds=60)
    assert await ranks_of(services, guild, [member(14)]) == [(14, False)]
    await ranks.settle()
    clock.advance(seconds=30)
    assert await ranks_of(services, guild, [member(14)]) == [(14, False)]
    await ranks.settle()
    assert len(attempts) == 1
    clock.advance(seconds=30)
    await ranks_of(services, guild, [member(14)])
    await ranks.settle()
    assert len(attempts) == 2


async def test_a_guild_that_shrinks_below_the_threshold_is_counted_exactly_again(
    services: Services, guild: str, clock: FakeClock
) -> None:
    await seed(services, guild)
    large(services, small=12)
    assert await ranks_of(services, guild, [member(14)]) == [(14, False)]
    for n in (1, 8, 2):
        async with unit_of_work(services) as uow:
            await set_member_active(uow, guild_id=guild, user_id=member(n), active=False)
            await uow.commit()
    clock.advance(seconds=60)
    await ranks_of(services, guild, [member(14)])  # starts the rebuild, which finds 11
    await ranks.settle()
    assert services.rank_snapshots.get(guild) is None
    assert await ranks_of(services, guild, [member(14)]) == [(11, True)]


# --- what callers see ----------------------------------------------------------------------


async def test_the_rank_route_says_whether_rank_and_count_are_exact(
    services: Services, guild: str, api: httpx.AsyncClient
) -> None:
    await seed(services, guild)
    small = (await api.get(bytes_url(guild, f"/leaderboard/rank/{member(14)}"))).json()
    assert (small["rank"], small["rank_exact"], small["members"], small["members_exact"]) == (
        14,
        True,
        14,
        True,
    )
    large(services)
    deep = (await api.get(bytes_url(guild, f"/leaderboard/rank/{member(13)}"))).json()
    assert (deep["rank"], deep["rank_exact"], deep["members"], deep["members_exact"]) == (
        13,
        False,
        14,
        False,
    )
    top = (await api.get(bytes_url(guild, f"/leaderboard/rank/{member(1)}"))).json()
    assert (top["rank"], top["rank_exact"], top["members_exact"]) == (1, True, False)
    stranger = (await api.get(bytes_url(guild, f"/leaderboard/rank/{member(99)}"))).json()
    assert (stranger["rank"], stranger["members"], stranger["members_exact"]) == (None, 14, False)
    entries = (await api.get(bytes_url(guild, "/leaderboard"), params={"limit": 3})).json()
    assert [e["rank_exact"] for e in entries] == [True, True, True]


async def test_the_bot_says_about_for_estimates(services: Services, guild: str) -> None:
    async with unit_of_work(services, read_only=True) as uow:
        config = ConfigOut.model_validate(await get_config(uow, guild))

    def footer(**me: Any) -> str:
        out = RankOut(user_id=member(14), balance=1234, total_received=0, **me)
        embed = leaderboard_embed([], out, config)
        assert embed.footer is not None
        return str(embed.footer.text)

    assert footer(rank=7, members=7) == "You are #7 of 7 with 1,234"
    estimate = footer(rank=123_456, members=1_000_000, rank_exact=False, members_exact=False)
    assert estimate == "You are about #123,456 of about 1,000,000 with 1,234"
    assert footer(rank=12, members=1_000_000, members_exact=False) == (
        "You are #12 of about 1,000,000 with 1,234"
    )


async def test_the_member_page_marks_an_estimated_rank(
    services: Services, guild: str, admin: httpx.AsyncClient
) -> None:
    await seed(services, guild)
    page = (await admin.get(f"/admin/guilds/{guild}/members/{member(14)}")).text
    assert 'data-stat="rank">14<' in page
    large(services)
    page = (await admin.get(f"/admin/guilds/{guild}/members/{member(14)}")).text
    assert 'data-stat="rank" title="An estimate' in page
    assert ">≈ 14<" in page


# --- the index serves every statement ------------------------------------------------------


async def explain(services: Services, statement: Any, **params: Any) -> str:
    """The plan of one of ranks.py's statements with these parameters (sequential and bitmap
    scans off on PostgreSQL, which would rather scan a tiny table and sort it, depending on
    what earlier tests left in its statistics: the index must still serve it, in order)."""
    sql, names = ranks._pg_sql(statement, services.engine.dialect)
    arguments = tuple(params.get(name, value) for name, value in names)
    async with services.engine.connect() as connection:
        if services.dialect == "postgresql":
            await connection.exec_driver_sql("SET enable_seqscan = off")
            await connection.exec_driver_sql("SET enable_bitmapscan = off")
            rows = (await connection.exec_driver_sql("EXPLAIN " + sql, arguments)).all()
        else:
            rows = (await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, arguments)).all()
    return "\n".join(str(row[-1]) for row in rows)


async def test_every_rank_statement_reads_the_leaderboard_index(
    services: Services, guild: str
) -> None:
    await seed(services, guild)
    me = {"guild": guild, "balance": 300, "account": 5, "user": member(4)}
    bounds = {"limit": 2, "small": 5, "top": 500, "top_id": 3, "step": 3}
    statements: dict[str, Any] = {
        "first entries": ranks._FIRST,
        "snapshot": ranks._BOUNDARIES,
        **{name: ranks._counts((name,)) for name in ranks._COUNTS},
    }
    for name, statement in statements.items():
        plan = await explain(services, statement, **me, **bounds)
        assert "ix_accounts_leaderboard" in plan, (name, plan)
        assert "Seq Scan" not in plan, (name, plan)
        assert "SCAN accounts\n" not in plan + "\n", (name, plan)
        if name in ("first entries", "snapshot", "ahead_bounded", "members_bounded"):
            assert "Sort" not in plan, (name, plan)
            assert "TEMP B-TREE" not in plan, (name, plan)
    member_plan = await explain(services, ranks._MEMBER, **me)
    # (A tiny PostgreSQL table may be read through the covering leaderboard index instead of
    # the (guild, user) one: an index either way; bench/leaderboard.py prints the plan at 1M.)
    assert "Seq Scan" not in member_plan, member_plan
    assert "INDEX" in member_plan.upper(), member_plan


async def test_postgres_reads_run_on_the_driver_pool(services: Services, guild: str) -> None:
    """No session, no BEGIN/COMMIT: a read-only unit that has not begun sends each statement
    alone (on SQLite, where no pool exists, they go through the session)."""
    await seed(services, guild)
    seen: list[str] = []

    def capture(*args: Any) -> None:
        if "FROM accounts" in args[2]:
            seen.append(args[2])

    event.listen(services.engine.sync_engine, "before_cursor_execute", capture)
    try:
        await board(services, guild)
        await ranks_of(services, guild, [member(14)])
    finally:
        event.remove(services.engine.sync_engine, "before_cursor_execute", capture)
    assert len(seen) == (0 if services.dialect == "postgresql" else 3)


async def test_the_leaderboard_command_shows_an_estimate_as_about(world: BotWorld) -> None:
    members = [world.discord.add_member(world.guild.id, username=f"m{n}") for n in range(8)]
    for n, someone in enumerate(members):
        await world.fund(someone, 800 - 100 * n)
    large(world.services, exact=2, small=5, step=3)
    await world.start_bot()
    _, top = await world.command(members[-1], "bytes leaderboard", {"limit": 5})
    assert embed_of(top)["footer"]["text"] == "You are about #8 of about 8 with 100"
