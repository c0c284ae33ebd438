"""The economy API's wire models: balances, daily, transfers, history, admin tools."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    Field,
    StringConstraints,
)

from guildbank.core.limits import MAX_AMOUNT
from guildbank.core.schemas import Amount, Out, Reason, RequiredReason, Snowflake
from guildbank.features.economy.rules import AdjustAction

__all__ = [
    "AdjustIn",
    "AdjustOut",
    "BalanceOut",
    "DailyIn",
    "DailyOut",
    "EntryOut",
    "IntegrityOut",
    "LeaderboardEntryOut",
    "MemberStatusIn",
    "MemberStatusOut",
    "RankOut",
    "ReversalOut",
    "ReverseIn",
    "RoleRewardHolderOut",
    "TransactionOut",
    "TransferIn",
    "TransferOut",
]


class BalanceOut(Out):
    guild_id: str
    user_id: str
    balance: int
    total_received: int
    total_sent: int
    streak_count: int
    last_daily: date | None
    daily_available: bool
    tier: str
    multiplier: int
    is_active: bool


class DailyIn(BaseModel):
    username: Annotated[str, StringConstraints(max_length=100)] | None = None


class DailyOut(Out):
    guild_id: str
    user_id: str
    balance: int
    total_received: int
    total_sent: int
    streak_count: int
    last_daily: date
    awarded: int
    multiplier: int
    tier: str
    transaction_id: int | None
    roles_earned: list[str]


class TransferIn(BaseModel):
    giver_id: Snowflake
    giver_username: Annotated[str, StringConstraints(max_length=100)] | None = None
    receiver_id: Snowflake
    receiver_username: Annotated[str, StringConstraints(max_length=100)] | None = None
    amount: Amount
    reason: Reason | None = None


class TransferOut(Out):
    id: int
    guild_id: str
    type: str
    amount: int
    reason: str | None
    giver_id: str
    receiver_id: str
    giver_balance: int
    receiver_balance: int
    created_at: datetime
    roles_earned: list[str]


class EntryOut(Out):
    user_id: str
    amount: int
    balance_before: int
    balance_after: int


class TransactionOut(Out):
    id: int
    guild_id: str
    type: str
    amount: int
    reason: str | None
    actor_id: str | None
    reverses_id: int | None
    created_at: datetime
    entries: list[EntryOut]


class LeaderboardEntryOut(Out):
    rank: int
    user_id: str
    balance: int
    total_received: int


class RankOut(Out):
    rank: int | None
    user_id: str
    balance: int
    total_received: int
    members: int


class AdjustIn(BaseModel):
    user_id: Snowflake
    action: AdjustAction
    amount: Annotated[int, Field(ge=0, le=MAX_AMOUNT, strict=True)]
    reason: RequiredReason
    actor_id: Snowflake | None = None


class AdjustOut(Out):
    guild_id: str
    user_id: str
    action: str
    delta: int
    balance: int
    transaction_id: int | None


class ReverseIn(BaseModel):
    reason: RequiredReason
    actor_id: Snowflake | None = None


class ReversalOut(Out):
    id: int
    reverses_id: int
    guild_id: str
    amount: int
    created_at: datetime


class IntegrityOut(Out):
    guild_id: str
    ok: bool
    accounts: int
    transactions: int
    total: int
    problems: list[dict[str, Any]]


class MemberStatusIn(BaseModel):
    active: bool


class MemberStatusOut(Out):
    guild_id: str
    user_id: str
    active: bool
    known: bool


class RoleRewardHolderOut(Out):
    user_id: str
    total_received: int
    role_ids: list[str]
