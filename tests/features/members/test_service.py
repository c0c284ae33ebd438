"""The members tools through their services (issue 15 items 1 and 4), on SQLite and
PostgreSQL: the list, a member's page, members who left, reactivation, the cleanup (its dry
run equals its real run) and the economy reset, all moving money only through the ledger."""

from __future__ import annotations

import pytest

from guildbank.core.errors import InvalidInput
from guildbank.features.members import queries, service
from guildbank.features.members.errors import MemberNotFound
from guildbank.features.squads import admin as squad_admin
from guildbank.features.squads import service as squads_service
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import START, FakeClock
from tests.factories import (
    balance_view,
    claim,
    configure,
    db_snapshot,
    fund,
    member,
    send,
    set_streak,
)
from tests.features.members.helpers import (
    cleanup,
    integrity_ok,
    leave,
    member_money,
    name,
    reset,
    set_active,
    streak_of,
    type_counts,
)
from tests.features.shop.helpers import buy, make_item
from tests.features.tasks.support import claim as claim_task
from tests.features.tasks.support import make_task


async def listed(services: Services, guild: str, **kw: object) -> list[str]:
    async with unit_of_work(services, read_only=True) as uow:
        page = await queries.list_members(uow, guild_id=guild, **kw)  # type: ignore[arg-type]
    return [m.user_id for m in page.members]


async def test_list_searches_sorts_pages_and_hides_members_who_left(
    services: Services, guild: str, clock: FakeClock
) -> None:
    for n, balance in ((1, 10), (2, 40), (3, 30), (4, 20), (5, 50)):
        await fund(services, guild, member(n), balance)
        clock.advance(minutes=1)
    await send(services, guild, member(2), member(1), 15)  # received: 1; sent: 2
    await set_streak(services, guild, member(3), streak=9, last_daily=START.date())
    await name(services, guild, {member(1): "Alice Liddell", member(2): "Bob", member(3): "alina"})
    await leave(services, guild, member(5))

    assert await listed(services, guild) == [member(n) for n in (3, 1, 2, 4)]
    assert await listed(services, guild, status="all") == [member(n) for n in (5, 3, 1, 2, 4)]
    assert await listed(services, guild, status="inactive") == [member(5)]
    assert await listed(services, guild, sort="received") == [
        member(1),
        member(2),
        member(3),
        member(4),
    ]
    assert (await listed(services, guild, sort="sent"))[0] == member(2)
    assert (await listed(services, guild, sort="streak"))[0] == member(3)
    assert await listed(services, guild, sort="joined") == [member(n) for n in (1, 2, 3, 4)]
    assert await listed(services, guild, sort="newest") == [member(n) for n in (4, 3, 2, 1)]
    # By any part of the name, in any case; by any part of the id; never a LIKE wildcard.
    assert await listed(services, guild, search="ALI") == [member(3), member(1)]
    assert await listed(services, guild, search="liddell") == [member(1)]
    assert await listed(services, guild, search=member(4)[-6:]) == [member(4)]
    assert await listed(services, guild, search="%") == []
    assert await listed(services, guild, search="_") == []
    # Pages.
    async with unit_of_work(services, read_only=True) as uow:
        second = await queries.list_members(uow, guild_id=guild, page=2, per_page=3)
        assert (second.total, second.pages, [m.user_id for m in second.members]) == (
            4,
            2,
            [member(4)],
        )
        row = second.members[0]
        assert (row.balance, row.is_active, row.display_name) == (20, True, None)
        for bad in ({"per_page": 0}, {"per_page": 101}, {"page": 0}, {"search": "x" * 101}):
            with pytest.raises(InvalidInput):
                await queries.list_members(uow, guild_id=guild, **bad)


async def test_a_members_page_has_money_streak_squad_inventory_tasks_and_history(
    services: Services, guild: str
) -> None:
    user = member(1)
    await claim(services, guild, user)  # opens the account (100) and pays the daily (10)
    await fund(services, guild, user, 500)
    async with unit_of_work(services) as uow:
        squad = await squad_admin.create_squad(
            uow, guild_id=guild, role_id="500000000000000001", name="Owls"
        )
        await squads_service.join_squad(uow, guild_id=guild, user_id=user, squad_id=squad.id)
        await uow.commit()
    item = await make_item(services, guild, "Cookie", price=20)
    await buy(services, guild, user, item.id, 2)
    task = await make_task(services, guild, "Say hello")
    await claim_task(services, guild, task.id, user)
    await name(services, guild, {user: "Alice"})

    async with unit_of_work(services, read_only=True) as uow:
        detail = await queries.member_detail(uow, guild_id=guild, user_id=user, recent=3)
        with pytest.raises(MemberNotFound):
            await queries.member_detail(uow, guild_id=guild, user_id=member(9))
        with pytest.raises(InvalidInput):
            await queries.member_detail(uow, guild_id=guild, user_id="nobody")
    assert detail.display_name == "Alice"
    assert detail.balance == (await balance_view(services, guild, user)).balance
    assert (detail.streak_count, detail.rank, detail.is_active) == (1, 1, True)
    assert detail.total_received == 10  # the daily counts; the admin funding does not
    assert detail.squad is not None
    assert detail.squad.name == "Owls"
    assert [(i.name, i.quantity) for i in detail.inventory] == [("Cookie", 2)]
    assert [t.task_name for t in detail.tasks] == ["Say hello"]
    assert len(detail.recent_transactions) == 3
    assert detail.recent_transactions[0].type == "shop_purchase"


async def test_members_who_left_with_their_leave_dates(
    services: Services, guild: str, clock: FakeClock
) -> None:
    for n in (1, 2, 3):
        await fund(services, guild, member(n), n * 10)
    await leave(services, guild, member(1))
    clock.advance(days=10)
    await leave(services, guild, member(2))
    clock.advance(days=1)
    async with unit_of_work(services, read_only=True) as uow:
        everyone = await queries.inactive_members(uow, guild_id=guild)
        long_gone = await queries.inactive_members(uow, guild_id=guild, days=5)
        with pytest.raises(InvalidInput):
            await queries.inactive_members(uow, guild_id=guild, days=-1)
    assert [(m.user_id, m.days_gone, m.balance) for m in everyone.members] == [
        (member(1), 11, 10),
        (member(2), 1, 20),
    ]
    assert everyone.members[0].left_at == START
    assert (long_gone.total, [m.user_id for m in long_gone.members]) == (1, [member(1)])


async def test_reactivation_shows_the_member_again_without_a_new_starting_balance(
    services: Services, guild: str
) -> None:
    await fund(services, guild, member(1), 70)
    await leave(services, guild, member(1))
    before = await type_counts(services, guild)
    async with unit_of_work(services) as uow:
        first = await service.reactivate(uow, guild_id=guild, user_id=member(1))
        again = await service.reactivate(uow, guild_id=guild, user_id=member(1))
        with pytest.raises(MemberNotFound):
            await service.reactivate(uow, guild_id=guild, user_id=member(2))
        await uow.commit()
    assert (first.was_active, again.was_active, first.active) == (False, True, True)
    assert (await balance_view(services, guild, member(1))).is_active
    assert await type_counts(services, guild) == before
    assert (await balance_view(services, guild, member(1))).balance == 70


async def _departures(services: Services, guild: str, clock: FakeClock) -> None:
    """Members 1-3 left 40 days ago, member 4 ten days ago, member 5 stays."""
    for n, balance in ((1, 100), (2, 250), (3, 0), (4, 80), (5, 60)):
        await fund(services, guild, member(n), balance)
    await set_streak(services, guild, member(3), streak=5, last_daily=START.date())
    for n in (1, 2, 3):
        await leave(services, guild, member(n))
    clock.advance(days=30)
    await leave(services, guild, member(4))
    clock.advance(days=10)


async def test_the_cleanup_dry_run_equals_the_real_run(
    services: Services, guild: str, clock: FakeClock
) -> None:
    await _departures(services, guild, clock)
    supply = await member_money(services, guild)
    before = await db_snapshot(services)
    dry = await cleanup(services, guild, 30, dry_run=True)
    assert await db_snapshot(services) == before  # a dry run changes nothing
    assert (dry.members, dry.amount) == (3, 350)
    assert [(m.user_id, m.amount, m.streak_count) for m in dry.cleaned] == [
        (member(1), 100, 0),
        (member(2), 250, 0),
        (member(3), 0, 5),  # nothing to return, but a streak to clear
    ]
    real = await cleanup(services, guild, 30, dry_run=False, actor_id="local:admin")

    def without_run(result: object) -> object:
        dumped = result.model_dump(exclude={"dry_run"})  # type: ignore[attr-defined]
        for row in dumped["cleaned"]:
            row.pop("transaction_id")
        return dumped

    assert without_run(real) == without_run(dry)
    assert [m.transaction_id is not None for m in real.cleaned] == [True, True, False]
    for n in (1, 2, 3):
        view = await balance_view(services, guild, member(n))
        assert (view.balance, view.is_active) == (0, False)
        assert await streak_of(services, guild, member(n)) == 0
    assert (await balance_view(services, guild, member(4))).balance == 80  # gone 10 days only
    assert (await balance_view(services, guild, member(5))).balance == 60  # still here
    assert await member_money(services, guild) == supply - 350
    assert (await type_counts(services, guild))["cleanup"] == 2
    assert await integrity_ok(services, guild)
    # A second run finds nothing (and a dry run says so).
    assert (await cleanup(services, guild, 30, dry_run=True)).members == 0
    assert (await cleanup(services, guild, 30, dry_run=False)).cleaned == []
    assert (await type_counts(services, guild))["cleanup"] == 2
    # Zero days: everyone who left.
    assert [m.user_id for m in (await cleanup(services, guild, 0, dry_run=True)).cleaned] == [
        member(4)
    ]


async def test_a_cleaned_member_who_rejoins_is_not_paid_twice(
    services: Services, guild: str, clock: FakeClock
) -> None:
    await configure(services, guild, starting_balance=100, daily_amount=10)
    user = member(1)
    await claim(services, guild, user)  # 100 + 10
    await leave(services, guild, user)
    clock.advance(days=31)
    result = await cleanup(services, guild, 30, dry_run=False)
    assert (result.members, result.amount) == (1, 110)
    await set_active(services, guild, user, active=True)
    daily = await claim(services, guild, user)
    assert (daily.balance, daily.streak_count) == (10, 1)  # no second starting balance
    assert (await type_counts(services, guild))["starting_balance"] == 1
    await send(services, guild, member(2), user, 5)
    assert (await balance_view(services, guild, user)).balance == 15
    assert await integrity_ok(services, guild)


async def test_cleanup_refuses_days_out_of_range(services: Services, guild: str) -> None:
    for days in (-1, 36_501):
        with pytest.raises(InvalidInput):
            await cleanup(services, guild, days, dry_run=True)


async def test_an_economy_reset_returns_every_balance_to_the_mint_and_clears_streaks(
    services: Services, guild: str, clock: FakeClock
) -> None:
    await configure(services, guild, starting_balance=100, daily_amount=10)
    for n in (1, 2, 3):
        await claim(services, guild, member(n))
    await send(services, guild, member(1), member(2), 40)
    await leave(services, guild, member(3))  # those who left are reset too
    before = await db_snapshot(services)
    for typed in ("reset", "", "RESET please"):
        with pytest.raises(InvalidInput) as refused:
            await reset(services, guild, confirm=typed)
        assert refused.value.code == "reset_not_confirmed"
    assert await db_snapshot(services) == before
    history = await type_counts(services, guild)

    result = await reset(services, guild)
    assert (result.members, result.amount, result.streaks_cleared) == (3, 330, 3)
    assert len(result.transaction_ids) == 3
    for n in (1, 2, 3):
        view = await balance_view(services, guild, member(n))
        assert (view.balance, view.streak_count) == (0, 0)
    counts = await type_counts(services, guild)
    assert counts.pop("reset") == 3
    assert counts == history  # history kept
    assert await integrity_ok(services, guild)
    # Nobody claims twice today; tomorrow's daily starts the streak again at 1.
    clock.advance(days=1)
    again = await claim(services, guild, member(1))
    assert (again.balance, again.streak_count) == (10, 1)
    # A reset with nothing to reset records nothing.
    await reset(services, guild)
    assert (await reset(services, guild)).transaction_ids == []


async def test_the_names_members_go_by_are_remembered_for_search(
    services: Services, guild: str
) -> None:
    await fund(services, guild, member(1), 5)
    assert await name(services, guild, {member(1): "  Zed   the\tGreat ", member(2): "Ghost"}) == 1
    assert await name(services, guild, {member(1): "Zed the Great"}) == 0  # unchanged
    assert await listed(services, guild, search="zed THE") == [member(1)]
    assert await listed(services, guild, search="Ghost") == []
