"""Ledger legs: balanced postings and exact reversals (SPEC §4.1)."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guildbank.ledger.legs import COUNTED_TYPES, Leg, check_balanced, reversal_legs, transfer_legs
from guildbank.ledger.types import TransactionType

amounts = st.integers(min_value=1, max_value=10**12)
types = st.sampled_from(TransactionType)


@st.composite
def balanced_entries(draw: st.DrawFn) -> list[tuple[int, int]]:
    """(account_id, amount) pairs on distinct accounts, non-zero, summing to zero."""
    count = draw(st.integers(min_value=2, max_value=6))
    accounts = draw(
        st.lists(
            st.integers(min_value=1, max_value=10**6), min_size=count, max_size=count, unique=True
        )
    )
    parts = [
        draw(st.integers(min_value=-(10**9), max_value=10**9).filter(bool))
        for _ in range(count - 1)
    ]
    last = -sum(parts)
    if last == 0:
        parts[0] += 1
        last = -1
    return list(zip(accounts, [*parts, last], strict=True))


def test_transfer_legs_move_and_count() -> None:
    assert transfer_legs(source=1, target=2, amount=30) == [
        Leg(1, -30, received=0, sent=30),
        Leg(2, 30, received=30, sent=0),
    ]
    assert transfer_legs(source=1, target=2, amount=30, counts=False) == [Leg(1, -30), Leg(2, 30)]


@given(source=st.integers(1, 100), target=st.integers(101, 200), amount=amounts)
def test_transfer_legs_are_balanced(source: int, target: int, amount: int) -> None:
    legs = transfer_legs(source=source, target=target, amount=amount)
    check_balanced(legs)
    assert sum(leg.amount for leg in legs) == 0


@pytest.mark.parametrize(
    ("legs", "message"),
    [
        ([Leg(1, -10), Leg(2, 9)], "sum to zero"),
        ([Leg(1, -10), Leg(2, 10), Leg(3, 1)], "sum to zero"),
        ([Leg(1, 0)], "at least two"),
        ([], "at least two"),
        ([Leg(1, -10), Leg(1, 10)], "at most once"),
        ([Leg(1, -10), Leg(2, 5), Leg(2, 5)], "at most once"),
    ],
)
def test_check_balanced_refuses_bad_postings(legs: list[Leg], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_balanced(legs)


def test_reversal_of_a_transfer_undoes_the_totals() -> None:
    legs = reversal_legs(TransactionType.TRANSFER, [(1, -30), (2, 30)])
    assert legs == [Leg(1, 30, received=0, sent=-30), Leg(2, -30, received=-30, sent=0)]


def test_reversal_of_an_uncounted_type_leaves_totals_alone() -> None:
    legs = reversal_legs(TransactionType.ADMIN_ADJUST, [(1, -30), (2, 30)])
    assert legs == [Leg(1, 30), Leg(2, -30)]


@given(entries=balanced_entries(), original_type=types)
def test_reversal_legs_cancel_the_original_per_account(
    entries: list[tuple[int, int]], original_type: TransactionType
) -> None:
    check_balanced([Leg(a, amount) for a, amount in entries])
    reversal = reversal_legs(original_type, entries)
    check_balanced(reversal)
    net: Counter[int] = Counter()
    for account, amount in entries:
        net[account] += amount
    for leg in reversal:
        net[leg.account_id] += leg.amount
    assert set(net.values()) == {0}
    assert [leg.account_id for leg in reversal] == [a for a, _ in entries]


@given(entries=balanced_entries())
def test_reversal_of_counted_legs_cancels_the_totals(entries: list[tuple[int, int]]) -> None:
    original = [
        Leg(a, amount, received=max(amount, 0), sent=max(-amount, 0)) for a, amount in entries
    ]
    reversal = reversal_legs(TransactionType.TRANSFER, entries)
    for before, after in zip(original, reversal, strict=True):
        assert before.received + after.received == 0
        assert before.sent + after.sent == 0
        assert after == Leg(before.account_id, -before.amount, -before.received, -before.sent)


def test_only_transfers_and_dailies_count_toward_the_totals() -> None:
    assert {TransactionType.TRANSFER, TransactionType.DAILY} == COUNTED_TYPES
    assert all(
        reversal_legs(kind, [(1, -5), (2, 5)]) == [Leg(1, 5), Leg(2, -5)]
        for kind in TransactionType
        if kind not in COUNTED_TYPES
    )
