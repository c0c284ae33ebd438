"""Read models: balance, leaderboard, rank, history and the transaction log (SPEC §4.4)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from guildbank.core.errors import InvalidInput
from guildbank.features.economy import queries as reports
from guildbank.features.economy.membership import set_member_active
from guildbank.features.economy.queries import TransactionSort
from guildbank.features.economy.schemas import LeaderboardEntryOut, TransactionOut
from guildbank.features.guilds.service import register_guild
from guildbank.ledger.errors import TransactionNotFound
from guildbank.platform.uow import Services, UnitOfWork, unit_of_work
from tests.conftest import OTHER_GUILD_ID, START, FakeClock
from tests.factories import balance_view, claim, fund, member, send


async def board(services: Services, guild_id: str, limit: int = 25) -> list[tuple[int, str, int]]:
    async with unit_of_work(services, read_only=True) as uow:
        rows = await reports.leaderboard(uow, guild_id=guild_id, limit=limit)
    return [(row.rank, row.user_id, row.balance) for row in rows]


async def rank(services: Services, guild_id: str, user_id: str) -> LeaderboardEntryOut | None:
    async with unit_of_work(services, read_only=True) as uow:
        return await reports.rank_of(uow, guild_id=guild_id, user_id=user_id)


async def set_active(services: Services, guild_id: str, user_id: str, active: bool) -> bool:
    async with unit_of_work(services) as uow:
        changed = await set_member_active(uow, guild_id=guild_id, user_id=user_id, active=active)
        await uow.commit()
    return changed


async def transactions(
    services: Services,
    guild_id: str,
    *,
    user_id: str | None = None,
    type_: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
    sort: TransactionSort = "newest",
) -> list[TransactionOut]:
    async with unit_of_work(services, read_only=True) as uow:
        return await reports.list_transactions(
            uow,
            guild_id=guild_id,
            user_id=user_id,
            type=type_,
            start=start,
            end=end,
            limit=limit,
            offset=offset,
            sort=sort,
        )


def ids(views: list[TransactionOut]) -> list[int]:
    return [view.id for view in views]


# --- balance ------------------------------------------------------------------------------


async def test_balance_view_of_an_active_member(
    services: Services, guild: str, clock: FakeClock
) -> None:
    await claim(services, guild, member(1))
    await send(services, guild, member(1), member(2), 30)
    view = await balance_view(services, guild, member(1))
    assert (view.balance, view.total_received, view.total_sent) == (80, 10, 30)
    assert (view.streak_count, view.last_daily, view.daily_available) == (1, START.date(), False)
    assert (view.tier, view.multiplier, view.is_active, view.exists) == ("NONE", 1, True, True)
    clock.advance(days=1)
    assert (await balance_view(services, guild, member(1))).daily_available


# --- leaderboard and rank ------------------------------------------------------------------


async def seed_board(services: Services, guild_id: str) -> None:
    """member 3 opens before member 1 and both hold 300: member 3 ranks first on the tie."""
    for n, balance in [(3, 300), (1, 300), (2, 500), (4, 50), (5, 1000), (6, 120)]:
        await fund(services, guild_id, member(n), balance)
    await set_active(services, guild_id, member(5), False)


async def test_leaderboard_orders_by_balance_with_deterministic_ties(
    services: Services, guild: str
) -> None:
    await seed_board(services, guild)
    assert await board(services, guild) == [
        (1, member(2), 500),
        (2, member(3), 300),
        (3, member(1), 300),
        (4, member(6), 120),
        (5, member(4), 50),
    ]
    assert await board(services, guild) == await board(services, guild)


async def test_leaderboard_respects_the_limit(services: Services, guild: str) -> None:
    await seed_board(services, guild)
    assert await board(services, guild, limit=2) == [(1, member(2), 500), (2, member(3), 300)]
    assert len(await board(services, guild, limit=5)) == 5


async def test_leaderboard_excludes_inactive_members_and_system_accounts(
    services: Services, guild: str
) -> None:
    await seed_board(services, guild)
    users = [user for _, user, _ in await board(services, guild)]
    assert member(5) not in users
    assert not {"mint", "sink"} & set(users)
    assert await set_active(services, guild, member(5), True)
    assert (await board(services, guild, limit=1)) == [(1, member(5), 1000)]


async def test_set_member_active_reports_unknown_members(services: Services, guild: str) -> None:
    assert not await set_active(services, guild, member(42), False)
    assert not await set_active(services, guild, "mint", False)
    assert (await balance_view(services, guild, member(42))).is_active


async def test_rank_of_a_member_outside_the_top(services: Services, guild: str) -> None:
    await seed_board(services, guild)
    assert await board(services, guild, limit=3) == [
        (1, member(2), 500),
        (2, member(3), 300),
        (3, member(1), 300),
    ]
    mine = await rank(services, guild, member(4))
    assert mine == LeaderboardEntryOut(rank=5, user_id=member(4), balance=50, total_received=0)
    tied = await rank(services, guild, member(1))
    assert tied is not None
    assert tied.rank == 3


async def test_rank_agrees_with_the_leaderboard(services: Services, guild: str) -> None:
    await seed_board(services, guild)
    for position, user, balance in await board(services, guild):
        entry = await rank(services, guild, user)
        assert entry is not None
        assert (entry.rank, entry.balance) == (position, balance)


async def test_rank_of_an_inactive_or_unknown_member_is_none(
    services: Services, guild: str
) -> None:
    await seed_board(services, guild)
    assert await rank(services, guild, member(5)) is None
    assert await rank(services, guild, member(77)) is None


async def plan_of(services: Services, query: Callable[[UnitOfWork], Awaitable[object]]) -> str:
    """The plan of the last statement ``query`` ran on ``accounts`` (sequential scans off on
    PostgreSQL, which would rather scan a tiny table: the index must still serve it)."""
    seen: list[tuple[str, Any]] = []

    def capture(*args: Any) -> None:
        if "FROM accounts" in args[2]:
            seen.append((args[2], args[3]))

    event.listen(services.engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with unit_of_work(services, read_only=True) as uow:
            await query(uow)
    finally:
        event.remove(services.engine.sync_engine, "before_cursor_execute", capture)
    statement, parameters = seen[-1]
    postgresql = services.dialect == "postgresql"
    async with services.engine.connect() as connection:
        if postgresql:
            await connection.exec_driver_sql("SET enable_seqscan = off")
        explain = "EXPLAIN " if postgresql else "EXPLAIN QUERY PLAN "
        rows = (await connection.exec_driver_sql(explain + statement, parameters)).all()
    return "\n".join(str(row[-1]) for row in rows)


async def test_leaderboards_are_per_guild(services: Services, guild: str) -> None:
    async with unit_of_work(services) as uow:
        await register_guild(uow, guild_id=OTHER_GUILD_ID)
        await uow.commit()
    await fund(services, guild, member(1), 10)
    await fund(services, OTHER_GUILD_ID, member(2), 20)
    assert await board(services, guild) == [(1, member(1), 10)]
    assert await board(services, OTHER_GUILD_ID) == [(1, member(2), 20)]
    assert await rank(services, guild, member(2)) is None


# --- history and transaction log ------------------------------------------------------------


async def seed_log(services: Services, guild_id: str, clock: FakeClock) -> dict[str, int]:
    """One movement per hour from START, so every filter has distinct timestamps to use."""
    found: dict[str, int] = {}
    await fund(services, guild_id, member(1), 1000)  # 12:00 opening + adjust
    clock.advance(hours=1)
    found["t1"] = (await send(services, guild_id, member(1), member(2), 100)).id  # 13:00
    clock.advance(hours=1)
    daily = await claim(services, guild_id, member(2))  # 14:00
    assert daily.transaction_id is not None
    found["daily"] = daily.transaction_id
    clock.advance(hours=1)
    found["t2"] = (await send(services, guild_id, member(2), member(3), 25)).id  # 15:00
    clock.advance(hours=1)
    found["t3"] = (await send(services, guild_id, member(1), member(3), 400)).id  # 16:00
    return found


async def test_history_is_newest_first_and_only_the_members_own(
    services: Services, guild: str, clock: FakeClock
) -> None:
    seeded = await seed_log(services, guild, clock)
    async with unit_of_work(services, read_only=True) as uow:
        mine = await reports.history(uow, guild_id=guild, user_id=member(2), limit=10)
    assert [(v.type, v.amount) for v in mine] == [
        ("transfer", 25),
        ("daily", 10),
        ("transfer", 100),
        ("starting_balance", 100),
    ]
    assert ids(mine)[:3] == [seeded["t2"], seeded["daily"], seeded["t1"]]
    created = [v.created_at for v in mine]
    assert created == sorted(created, reverse=True)
    assert all(v.created_at.tzinfo is not None for v in mine)
    assert all(member(2) in {e.user_id for e in v.entries} for v in mine)


async def test_history_limit_and_offset(services: Services, guild: str, clock: FakeClock) -> None:
    await seed_log(services, guild, clock)
    async with unit_of_work(services, read_only=True) as uow:
        full = await reports.history(uow, guild_id=guild, user_id=member(2), limit=10)
        first = await reports.history(uow, guild_id=guild, user_id=member(2), limit=2)
        rest = await reports.history(uow, guild_id=guild, user_id=member(2), limit=10, offset=2)
    assert ids(first) + ids(rest) == ids(full)
    assert len(first) == 2


async def test_history_of_an_unknown_member_is_empty(services: Services, guild: str) -> None:
    async with unit_of_work(services, read_only=True) as uow:
        assert await reports.history(uow, guild_id=guild, user_id=member(9)) == []


async def test_list_by_user(services: Services, guild: str, clock: FakeClock) -> None:
    seeded = await seed_log(services, guild, clock)
    views = await transactions(services, guild, user_id=member(3))
    assert ids(views) == [seeded["t3"], seeded["t2"], views[-1].id]
    assert views[-1].type == "starting_balance"


async def test_list_by_type(services: Services, guild: str, clock: FakeClock) -> None:
    seeded = await seed_log(services, guild, clock)
    assert ids(await transactions(services, guild, type_="transfer")) == [
        seeded["t3"],
        seeded["t2"],
        seeded["t1"],
    ]
    assert ids(await transactions(services, guild, type_="daily")) == [seeded["daily"]]
    assert await transactions(services, guild, type_="reversal") == []
    both = await transactions(services, guild, type_="transfer", user_id=member(2))
    assert ids(both) == [seeded["t2"], seeded["t1"]]


async def test_list_by_time_window_start_inclusive_end_exclusive(
    services: Services, guild: str, clock: FakeClock
) -> None:
    seeded = await seed_log(services, guild, clock)
    window = await transactions(
        services, guild, start=START + timedelta(hours=1), end=START + timedelta(hours=3)
    )
    assert [v.type for v in window] == ["daily", "transfer", "starting_balance"]
    assert ids(window)[:2] == [seeded["daily"], seeded["t1"]]
    since = await transactions(services, guild, start=START + timedelta(hours=3, minutes=30))
    assert ids(since) == [seeded["t3"]]
    before = await transactions(services, guild, end=START + timedelta(hours=1))
    assert {v.type for v in before} == {"starting_balance", "admin_adjust"}


async def test_time_window_in_another_timezone_means_the_same_instants(
    services: Services, guild: str, clock: FakeClock
) -> None:
    seeded = await seed_log(services, guild, clock)
    tokyo = ZoneInfo("Asia/Tokyo")  # 13:00 UTC is 22:00 in Tokyo
    start = (START + timedelta(hours=1)).astimezone(tokyo)
    end = (START + timedelta(hours=3)).astimezone(tokyo)
    window = await transactions(services, guild, start=start, end=end)
    assert [v.type for v in window] == ["daily", "transfer", "starting_balance"]
    assert ids(window)[:2] == [seeded["daily"], seeded["t1"]]


@pytest.mark.parametrize(
    ("sort", "amounts"),
    [
        ("newest", [400, 25, 100, 10, 100, 100, 900, 100]),
        ("oldest", [100, 900, 100, 100, 10, 100, 25, 400]),
        ("largest", [900, 400, 100, 100, 100, 100, 25, 10]),
        ("smallest", [10, 25, 100, 100, 100, 100, 400, 900]),
    ],
)
async def test_sort_orders(
    services: Services, guild: str, clock: FakeClock, sort: TransactionSort, amounts: list[int]
) -> None:
    await seed_log(services, guild, clock)
    views = await transactions(services, guild, sort=sort)
    assert [v.amount for v in views] == amounts
    # Equal keys are ordered by id, in the direction of the sort.
    hundreds = [v.id for v in views if v.amount == 100]
    descending = sort in {"newest", "largest"}
    assert hundreds == sorted(hundreds, reverse=descending)


async def test_paging_covers_every_transaction_once(
    services: Services, guild: str, clock: FakeClock
) -> None:
    await seed_log(services, guild, clock)
    full = ids(await transactions(services, guild, limit=100))
    assert len(full) == 8
    pages = [ids(await transactions(services, guild, limit=3, offset=o)) for o in (0, 3, 6, 9)]
    assert [len(page) for page in pages] == [3, 3, 2, 0]
    assert [i for page in pages for i in page] == full


async def test_entries_of_each_transaction_balance(
    services: Services, guild: str, clock: FakeClock
) -> None:
    seeded = await seed_log(services, guild, clock)
    views = await transactions(services, guild)
    for view in views:
        assert len(view.entries) == 2
        assert sum(e.amount for e in view.entries) == 0
        assert all(e.balance_after == e.balance_before + e.amount for e in view.entries)
    t3 = next(v for v in views if v.id == seeded["t3"])
    assert (t3.actor_id, t3.reverses_id, t3.guild_id) == (member(1), None, guild)
    assert sorted((e.user_id, e.balance_before, e.balance_after) for e in t3.entries) == [
        (member(1), 900, 500),
        (member(3), 125, 525),
    ]


async def test_log_is_per_guild(services: Services, guild: str, clock: FakeClock) -> None:
    seeded = await seed_log(services, guild, clock)
    async with unit_of_work(services) as uow:
        await register_guild(uow, guild_id=OTHER_GUILD_ID)
        await uow.commit()
    assert await transactions(services, OTHER_GUILD_ID) == []
    async with unit_of_work(services, read_only=True) as uow:
        with pytest.raises(TransactionNotFound):
            await reports.get_transaction(uow, guild_id=OTHER_GUILD_ID, transaction_id=seeded["t1"])


async def test_list_with_a_malformed_user_is_refused(services: Services, guild: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        await transactions(services, guild, user_id="@everyone")
    assert caught.value.code == "invalid_id"
