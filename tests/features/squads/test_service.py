"""Squads through the service layer (SPEC §5), on SQLite and PostgreSQL.

Joining is free the first time and pays the target's switch cost to the sink after that;
every refusal is specific and changes nothing; capacity and one-squad-per-member hold when
many units of work race (PostgreSQL: real parallel connections; SQLite: its writer lock).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func, select

from guildbank.core.errors import GuildbankError, InvalidInput, RateLimited
from guildbank.features.economy import queries as reports
from guildbank.features.economy.membership import set_member_active
from guildbank.features.guilds.errors import GuildNotFound
from guildbank.features.guilds.service import register_guild
from guildbank.features.squads import admin as squad_admin
from guildbank.features.squads import queries as squads
from guildbank.features.squads import service as squads_service
from guildbank.features.squads.errors import (
    AlreadyInSquad,
    NotInSquad,
    SquadConflict,
    SquadFull,
    SquadInactive,
    SquadNotEmpty,
    SquadNotFound,
)
from guildbank.features.squads.schemas import SquadDeleteOut, SquadJoinOut, SquadLeaveOut, SquadOut
from guildbank.ledger import integrity
from guildbank.ledger.errors import InsufficientBalance
from guildbank.platform.models.ledger import LedgerTransaction
from guildbank.platform.models.squads import SquadMembership
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import GUILD_ID, OTHER_GUILD_ID
from tests.factories import (
    balance_view,
    claim,
    configure,
    fund,
    guild_money,
    member,
    open_account,
)

ALICE, BOB, CAROL = member(1), member(2), member(3)


def role(n: int) -> str:
    return str(500000000000000000 + n)


async def make_squad(
    services: Services, guild_id: str, name: str, n: int, **fields: Any
) -> SquadOut:
    async with unit_of_work(services) as uow:
        view = await squad_admin.create_squad(
            uow, guild_id=guild_id, role_id=role(n), name=name, **fields
        )
        await uow.commit()
    return view


async def join(services: Services, guild_id: str, user_id: str, squad_id: int) -> SquadJoinOut:
    async with unit_of_work(services) as uow:
        result = await squads_service.join_squad(
            uow, guild_id=guild_id, user_id=user_id, squad_id=squad_id
        )
        await uow.commit()
    return result


async def leave(services: Services, guild_id: str, user_id: str) -> SquadLeaveOut:
    async with unit_of_work(services) as uow:
        result = await squads_service.leave_squad(uow, guild_id=guild_id, user_id=user_id)
        await uow.commit()
    return result


async def squad_of(services: Services, guild_id: str, user_id: str) -> int | None:
    async with unit_of_work(services, read_only=True) as uow:
        try:
            view = await squads.member_squad(uow, guild_id=guild_id, user_id=user_id)
        except NotInSquad:
            return None
    return view.squad.id


async def squad_join_charges(services: Services, guild_id: str) -> int:
    async with unit_of_work(services, read_only=True) as uow:
        return (
            await uow.session.execute(
                select(func.count()).where(
                    LedgerTransaction.guild_id == guild_id, LedgerTransaction.type == "squad_join"
                )
            )
        ).scalar_one()


async def assert_clean(services: Services, guild_id: str) -> None:
    async with unit_of_work(services, read_only=True) as uow:
        report = await integrity.check_integrity(uow, guild_id=guild_id)
    assert report.ok, report.problems
    assert report.total == 0


async def refused(services: Services, error: type[GuildbankError], coro: Any) -> GuildbankError:
    """Await a refused write and prove it moved nothing."""
    before = await guild_money(services, GUILD_ID)
    with pytest.raises(error) as caught:
        await coro
    assert await guild_money(services, GUILD_ID) == before
    return caught.value


# --- joining, switching, leaving -----------------------------------------------------------


async def test_first_join_is_free_and_a_switch_pays_the_sink(
    services: Services, guild: str
) -> None:
    await fund(services, guild, ALICE, 500)
    red = await make_squad(services, guild, "Red", 1)
    blue = await make_squad(services, guild, "Blue", 2)
    before = await guild_money(services, guild)

    first = await join(services, guild, ALICE, red.id)
    assert (first.cost, first.balance, first.transaction_id) == (0, 500, None)
    assert (first.role_added, first.role_removed, first.previous_squad_id) == (role(1), None, None)
    assert first.squad.member_count == 1
    assert (await balance_view(services, guild, ALICE)).balance == 500

    switch = await join(services, guild, ALICE, blue.id)
    assert (switch.cost, switch.balance, switch.previous_squad_id) == (50, 450, red.id)
    assert (switch.role_added, switch.role_removed) == (role(2), role(1))
    money = await guild_money(services, guild)
    assert money.balance(ALICE) == 450
    assert money.balance("sink") == before.balance("sink") + 50
    assert money.accounts[ALICE][1:] == before.accounts[ALICE][1:]  # not a transfer: totals stay
    assert switch.transaction_id is not None
    async with unit_of_work(services, read_only=True) as uow:
        view = await reports.get_transaction(
            uow, guild_id=guild, transaction_id=switch.transaction_id
        )
    assert (view.type, view.amount, view.actor_id) == ("squad_join", 50, ALICE)
    assert sorted((e.user_id, e.amount) for e in view.entries) == [(ALICE, -50), ("sink", 50)]
    assert await squad_of(services, guild, ALICE) == blue.id
    await assert_clean(services, guild)


async def test_member_short_of_the_switch_cost_stays_where_they_are(
    services: Services, guild: str
) -> None:
    await fund(services, guild, ALICE, 25)
    red = await make_squad(services, guild, "Red", 1)
    gold = await make_squad(services, guild, "Gold", 2, switch_cost=100)
    await join(services, guild, ALICE, red.id)

    error = await refused(services, InsufficientBalance, join(services, guild, ALICE, gold.id))
    assert error.code == "insufficient_balance"
    assert (error.fields["available"], error.fields["needed"]) == (25, 100)
    assert "insufficient" in error.message
    assert await squad_of(services, guild, ALICE) == red.id
    await assert_clean(services, guild)


async def test_a_switch_to_a_free_squad_moves_no_money(services: Services, guild: str) -> None:
    red = await make_squad(services, guild, "Red", 1)
    free = await make_squad(services, guild, "Free", 2, switch_cost=0)
    await join(services, guild, ALICE, red.id)
    result = await join(services, guild, ALICE, free.id)
    assert (result.cost, result.transaction_id, result.role_removed) == (0, None, role(1))
    assert await squad_join_charges(services, guild) == 0


async def test_leaving_is_free_and_a_later_join_costs_like_a_switch(
    services: Services, guild: str
) -> None:
    await fund(services, guild, ALICE, 500)
    red = await make_squad(services, guild, "Red", 1)
    await join(services, guild, ALICE, red.id)

    left = await leave(services, guild, ALICE)
    assert (left.squad_id, left.squad_name, left.role_removed) == (red.id, "Red", role(1))
    assert await squad_of(services, guild, ALICE) is None
    assert (await balance_view(services, guild, ALICE)).balance == 500
    await refused(services, NotInSquad, leave(services, guild, ALICE))

    again = await join(services, guild, ALICE, red.id)  # leave + join must not dodge the cost
    assert (again.cost, again.balance, again.role_removed) == (50, 450, None)
    await assert_clean(services, guild)


async def test_join_refusals_are_specific_and_change_nothing(
    services: Services, guild: str
) -> None:
    async with unit_of_work(services) as uow:
        await register_guild(uow, guild_id=OTHER_GUILD_ID)
        await uow.commit()
    elsewhere = await make_squad(services, OTHER_GUILD_ID, "Elsewhere", 9)
    closed = await make_squad(services, guild, "Closed", 1, is_active=False)
    tiny = await make_squad(services, guild, "Tiny", 2, max_members=1)
    await fund(services, guild, ALICE, 500)
    await fund(services, guild, BOB, 500)
    await join(services, guild, BOB, tiny.id)

    cases: list[tuple[type[GuildbankError], str, Any]] = [
        (SquadNotFound, "squad_not_found", join(services, guild, ALICE, 999_999)),
        (SquadNotFound, "squad_not_found", join(services, guild, ALICE, elsewhere.id)),
        (SquadInactive, "squad_inactive", join(services, guild, ALICE, closed.id)),
        (SquadFull, "squad_full", join(services, guild, ALICE, tiny.id)),
        (AlreadyInSquad, "already_in_squad", join(services, guild, BOB, tiny.id)),
        (InvalidInput, "invalid_id", join(services, guild, "not-a-user", tiny.id)),
    ]
    for error_type, code, attempt in cases:
        error = await refused(services, error_type, attempt)
        assert error.code == code
    with pytest.raises(GuildNotFound):
        await join(services, "333333333333333333", ALICE, tiny.id)
    full = await refused(services, SquadFull, join(services, guild, ALICE, tiny.id))
    assert full.fields == {"squad_id": tiny.id, "max_members": 1}
    assert await squad_of(services, guild, ALICE) is None


# --- admin CRUD ----------------------------------------------------------------------------


async def test_create_validates_and_refuses_duplicates(services: Services, guild: str) -> None:
    red = await make_squad(services, guild, "  Red  ", 1, description="The red team", emoji="🔴")
    assert (red.name, red.description, red.emoji, red.role_id) == (
        "Red",
        "The red team",
        "🔴",
        role(1),
    )
    assert (red.switch_cost, red.max_members, red.is_active, red.member_count) == (
        50,
        None,
        True,
        0,
    )

    conflicts = [
        ("RED", 2, "squad_name_taken"),
        ("Other", 1, "squad_role_taken"),
    ]
    for name, n, code in conflicts:
        with pytest.raises(SquadConflict) as caught:
            await make_squad(services, guild, name, n)
        assert caught.value.code == code

    invalid: list[tuple[dict[str, Any], str]] = [
        ({"name": "   "}, "invalid_squad_name"),
        ({"name": "x" * 101}, "invalid_squad_name"),
        ({"description": "x" * 501}, "invalid_squad_description"),
        ({"switch_cost": -1}, "invalid_amount"),
        ({"max_members": 0}, "invalid_max_members"),
        ({"emoji": "x" * 65}, "invalid_emoji"),
    ]
    for fields, code in invalid:
        values = {"name": "Valid", **fields}
        with pytest.raises(InvalidInput) as invalid_caught:
            await make_squad(services, guild, n=3, **values)
        assert invalid_caught.value.code == code
    with pytest.raises(InvalidInput) as bad_role:
        async with unit_of_work(services) as uow:
            await squad_admin.create_squad(uow, guild_id=guild, role_id="role", name="Valid")
    assert bad_role.value.code == "invalid_id"

    async with unit_of_work(services) as uow:
        await register_guild(uow, guild_id=OTHER_GUILD_ID)
        await uow.commit()
    twin = await make_squad(services, OTHER_GUILD_ID, "Red", 1)  # names and roles are per guild
    assert twin.guild_id == OTHER_GUILD_ID


async def test_update_changes_only_what_is_given(services: Services, guild: str) -> None:
    red = await make_squad(services, guild, "Red", 1, max_members=5)
    await make_squad(services, guild, "Blue", 2)
    await join(services, guild, ALICE, red.id)
    await join(services, guild, BOB, red.id)

    async def update(**changes: Any) -> SquadOut:
        async with unit_of_work(services) as uow:
            view = await squad_admin.update_squad(
                uow, guild_id=guild, squad_id=red.id, changes=changes
            )
            await uow.commit()
        return view

    renamed = await update(name="Crimson", switch_cost=75, max_members=1, emoji="🟥")
    assert (renamed.name, renamed.switch_cost, renamed.max_members, renamed.emoji) == (
        "Crimson",
        75,
        1,
        "🟥",
    )
    assert (renamed.role_id, renamed.member_count) == (role(1), 2)  # members stay over the cap
    await refused(services, SquadFull, join(services, guild, CAROL, red.id))
    assert (await update(max_members=None)).max_members is None
    await join(services, guild, CAROL, red.id)

    refusals: list[tuple[dict[str, Any], type[GuildbankError], str]] = [
        ({"name": "blue"}, SquadConflict, "squad_name_taken"),
        ({"role_id": role(2)}, SquadConflict, "squad_role_taken"),
        ({"colour": "red"}, InvalidInput, "unknown_field"),
        ({"name": None}, InvalidInput, "invalid_input"),
    ]
    for changes, error, code in refusals:
        with pytest.raises(error) as caught:
            await update(**changes)
        assert caught.value.code == code
    assert (await update(name="CRIMSON")).name == "CRIMSON"  # its own name in another case


async def test_delete_needs_an_explicit_move_or_kick(services: Services, guild: str) -> None:
    empty = await make_squad(services, guild, "Empty", 1)
    red = await make_squad(services, guild, "Red", 2)
    blue = await make_squad(services, guild, "Blue", 3, max_members=2)
    closed = await make_squad(services, guild, "Closed", 4, is_active=False)
    for user in (ALICE, BOB):
        await join(services, guild, user, red.id)
    await join(services, guild, CAROL, blue.id)

    async def delete(squad_id: int, **options: Any) -> SquadDeleteOut:
        async with unit_of_work(services) as uow:
            result = await squad_admin.delete_squad(
                uow, guild_id=guild, squad_id=squad_id, **options
            )
            await uow.commit()
        return result

    assert (await delete(empty.id)).members == []
    with pytest.raises(SquadNotFound):
        await delete(empty.id)
    not_empty = await refused(services, SquadNotEmpty, delete(red.id))
    assert not_empty.fields["members"] == 2
    await refused(services, SquadFull, delete(red.id, move_to=blue.id))
    await refused(services, SquadInactive, delete(red.id, move_to=closed.id))
    await refused(services, SquadNotFound, delete(red.id, move_to=999_999))
    await refused(services, InvalidInput, delete(red.id, move_to=red.id))
    await refused(services, InvalidInput, delete(red.id, move_to=blue.id, kick_members=True))
    assert await squad_of(services, guild, ALICE) == red.id

    moved = await delete(blue.id, move_to=red.id)
    assert (moved.members, moved.role_id, moved.moved_to, moved.moved_to_role_id) == (
        [CAROL],
        role(3),
        red.id,
        role(2),
    )
    assert await squad_of(services, guild, CAROL) == red.id
    kicked = await delete(red.id, kick_members=True)
    assert (kicked.members, kicked.moved_to) == ([ALICE, BOB, CAROL], None)
    assert {await squad_of(services, guild, u) for u in (ALICE, BOB, CAROL)} == {None}
    fresh = await make_squad(services, guild, "Fresh", 5)
    # Removed by an admin, not by choice: their next join is free again.
    assert (await join(services, guild, ALICE, fresh.id)).cost == 0


# --- reads ---------------------------------------------------------------------------------


async def test_list_counts_members_and_prices_joins_for_a_member(
    services: Services, guild: str
) -> None:
    red = await make_squad(services, guild, "Red", 1)
    blue = await make_squad(services, guild, "Blue", 2, switch_cost=80)
    await make_squad(services, guild, "Archived", 3, is_active=False)
    await join(services, guild, ALICE, red.id)
    await join(services, guild, BOB, red.id)
    await join(services, guild, CAROL, red.id)
    await leave(services, guild, CAROL)

    async def listing(**options: Any) -> list[SquadOut]:
        async with unit_of_work(services, read_only=True) as uow:
            return await squads.list_squads(uow, guild_id=guild, **options)

    views = await listing()
    assert [(v.name, v.member_count, v.is_member, v.join_cost) for v in views] == [
        ("Blue", 0, None, None),
        ("Red", 2, None, None),
    ]
    assert [v.name for v in await listing(include_inactive=True)] == ["Archived", "Blue", "Red"]
    mine = {v.name: (v.is_member, v.join_cost) for v in await listing(user_id=ALICE)}
    assert mine == {"Blue": (False, 80), "Red": (True, None)}
    newcomer = {v.name: v.join_cost for v in await listing(user_id=member(9))}
    assert newcomer == {"Blue": 0, "Red": 0}
    former = {v.name: v.join_cost for v in await listing(user_id=CAROL)}
    assert former == {"Blue": 80, "Red": 50}
    assert blue.id != red.id


async def test_members_and_leaderboard_show_bytes(services: Services, guild: str) -> None:
    red = await make_squad(services, guild, "Red", 1)
    blue = await make_squad(services, guild, "Blue", 2)
    await make_squad(services, guild, "Empty", 3)
    await make_squad(services, guild, "Archived", 4, is_active=False)
    for user, balance in ((ALICE, 300), (BOB, 50), (CAROL, 200)):
        await fund(services, guild, user, balance)
    await join(services, guild, ALICE, red.id)
    await join(services, guild, BOB, red.id)
    await join(services, guild, CAROL, blue.id)

    async with unit_of_work(services, read_only=True) as uow:
        members = await squads.squad_members(uow, guild_id=guild, squad_id=red.id)
        board = await squads.squad_leaderboard(uow, guild_id=guild)
    assert [(m.user_id, m.balance) for m in members] == [(ALICE, 300), (BOB, 50)]
    assert [(r.rank, r.name, r.members, r.total_bytes) for r in board] == [
        (1, "Red", 2, 350),
        (2, "Blue", 1, 200),
        (3, "Empty", 0, 0),
    ]

    async with unit_of_work(services) as uow:  # Alice leaves the server: hidden from rankings
        await set_member_active(uow, guild_id=guild, user_id=ALICE, active=False)
        await uow.commit()
    async with unit_of_work(services, read_only=True) as uow:
        board = await squads.squad_leaderboard(uow, guild_id=guild, limit=2)
        with pytest.raises(SquadNotFound):
            await squads.squad_members(uow, guild_id=guild, squad_id=999_999)
    assert [(r.name, r.members, r.total_bytes) for r in board] == [("Blue", 1, 200), ("Red", 1, 50)]


async def test_events_are_published_after_commit_only(services: Services, guild: str) -> None:
    red = await make_squad(services, guild, "Red", 1)
    gold = await make_squad(services, guild, "Gold", 2, switch_cost=10_000)
    async with services.bus.subscribe(guilds=[guild], names=["squad.joined", "squad.left"]) as sub:
        async with unit_of_work(services) as uow:
            await squads_service.join_squad(uow, guild_id=guild, user_id=ALICE, squad_id=red.id)
            assert sub.queue.empty()
            await uow.commit()
        await services.relay.drain()
        joined = sub.queue.get_nowait()
        assert (joined.name, joined.data["user_id"], joined.data["role_added"]) == (
            "squad.joined",
            ALICE,
            role(1),
        )
        with pytest.raises(InsufficientBalance):
            await join(services, guild, ALICE, gold.id)
        await leave(services, guild, ALICE)
        await services.relay.drain()
        left = sub.queue.get_nowait()
        assert (left.name, left.data["role_removed"]) == ("squad.left", role(1))
        assert sub.queue.empty()


# --- concurrency ---------------------------------------------------------------------------


async def attempt_join(services: Services, guild_id: str, user_id: str, squad_id: int) -> str:
    """Join in its own unit of work; returns "ok" or the refusal's code (anything else raises)."""
    try:
        await join(services, guild_id, user_id, squad_id)
    except GuildbankError as error:
        return error.code
    return "ok"


async def test_capacity_holds_under_fifty_concurrent_joins(services: Services, guild: str) -> None:
    squad = await make_squad(services, guild, "Ten", 1, max_members=10)
    users = [member(n) for n in range(100, 150)]
    for user in users:  # opened beforehand, so the joins don't queue on the mint's row lock
        await open_account(services, guild, user)
    outcomes = await asyncio.gather(*(attempt_join(services, guild, u, squad.id) for u in users))
    assert Counter(outcomes) == {"ok": 10, "squad_full": 40}
    async with unit_of_work(services, read_only=True) as uow:
        stored = (
            await uow.session.execute(
                select(func.count()).where(SquadMembership.squad_id == squad.id)
            )
        ).scalar_one()
        view = await squads.get_squad(uow, guild_id=guild, squad_id=squad.id)
    assert stored == view.member_count == 10
    await assert_clean(services, guild)


async def test_racing_first_joins_of_one_member_keep_one_squad_and_charge_once(
    services: Services, guild: str
) -> None:
    users = [member(n) for n in range(200, 210)]
    cost: dict[int, int] = {}
    pairs: list[tuple[str, int]] = []
    for i, user in enumerate(users):  # a pair of squads per member: only the member is shared
        await fund(services, guild, user, 500)
        for j, price in enumerate((30, 70)):
            squad = await make_squad(services, guild, f"S{i}-{j}", 10 * i + j, switch_cost=price)
            cost[squad.id] = price
            pairs.append((user, squad.id))
    outcomes = await asyncio.gather(*(attempt_join(services, guild, u, s) for u, s in pairs))
    assert set(outcomes) == {"ok"}  # one is the free first join, the other then a paid switch
    money = await guild_money(services, guild)
    for user in users:
        final = await squad_of(services, guild, user)
        assert final in cost
        assert money.balance(user) == 500 - cost[final]
    assert await squad_join_charges(services, guild) == len(users)
    async with unit_of_work(services, read_only=True) as uow:
        rows = (
            await uow.session.execute(select(func.count()).select_from(SquadMembership))
        ).scalar_one()
    assert rows == len(users)
    await assert_clean(services, guild)


async def test_a_double_clicked_switch_charges_once(services: Services, guild: str) -> None:
    red = await make_squad(services, guild, "Red", 1)
    blue = await make_squad(services, guild, "Blue", 2)
    users = [member(n) for n in range(300, 308)]
    for user in users:
        await fund(services, guild, user, 500)
        await join(services, guild, user, red.id)
    outcomes = await asyncio.gather(
        *(attempt_join(services, guild, u, blue.id) for u in users for _ in range(2))
    )
    assert Counter(outcomes) == {"ok": len(users), "already_in_squad": len(users)}
    money = await guild_money(services, guild)
    assert {money.balance(u) for u in users} == {450}
    assert await squad_join_charges(services, guild) == len(users)
    await assert_clean(services, guild)


async def test_joining_spends_the_members_balance_change_budget(
    services: Services, guild: str
) -> None:
    red = await make_squad(services, guild, "Red", 1)
    await configure(services, guild, rate_limit_per_minute=1)
    await claim(services, guild, ALICE)
    with pytest.raises(RateLimited):
        await join(services, guild, ALICE, red.id)
    assert await squad_of(services, guild, ALICE) is None
    await join(services, guild, BOB, red.id)
