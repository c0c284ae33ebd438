"""The economy API's wire models: balances, daily, transfers, history, admin tools."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)

from guildbank.core.limits import MAX_AMOUNT
from guildbank.core.schemas import (
    SINGLE_LINE,
    WHOLE,
    Amount,
    Out,
    Reason,
    RequiredReason,
    Snowflake,
)
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
    "MemberStatusOut",
    "PeriodStatisticsOut",
    "RankOut",
    "ReversalOut",
    "ReverseIn",
    "RoleRewardHolderOut",
    "TransactionOut",
    "TransferIn",
    "TransferOut",
    "TypeStatisticsOut",
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


Username = Annotated[str, StringConstraints(max_length=100), SINGLE_LINE]


class DailyIn(BaseModel):
    username: Username | None = None


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
    giver_username: Username | None = None
    receiver_id: Snowflake
    receiver_username: Username | None = None
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
    # Deep in a large guild a rank is estimated (docs/hot-paths.md, "Leaderboard and rank").
    rank_exact: bool = Field(
        default=True,
        description="False when the rank is an estimate (deep in a large guild); the top "
        "entries of the leaderboard are always exact.",
    )


class RankOut(Out):
    rank: int | None
    user_id: str
    balance: int
    total_received: int
    members: int
    rank_exact: bool = Field(
        default=True,
        description="False when the rank is an estimate: deep in a large guild it is the rank "
        "of a recent snapshot's nearest boundary plus a live count (docs/hot-paths.md).",
    )
    members_exact: bool = Field(
        default=True,
        description="False in a large guild, where members is the count as of the last "
        "snapshot (at most GUILDBANK_RANK_SNAPSHOT_SECONDS old, plus its rebuild).",
    )


class AdjustIn(BaseModel):
    # The schema says what check_adjustment enforces: only a "set" may be 0.
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"properties": {"action": {"const": "set"}}},
                {"properties": {"amount": {"minimum": 1}}},
            ]
        }
    )

    user_id: Snowflake
    action: AdjustAction
    amount: Annotated[int, Field(ge=0, le=MAX_AMOUNT, strict=True), WHOLE]
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


class MemberStatusOut(Out):
    guild_id: str
    user_id: str
    active: bool
    known: bool


class RoleRewardHolderOut(Out):
    user_id: str
    total_received: int
    role_ids: list[str]


class TypeStatisticsOut(Out):
    """One transaction type over a period."""

    type: str
    transactions: int = Field(description="Transactions of this type (involving the member)")
    volume: int = Field(description="Their amounts added up")
    earned: int = Field(description="What reached member accounts (the member's) in them")
    spent: int = Field(description="What left member accounts (the member's) in them")


class PeriodStatisticsOut(Out):
    """A period's flows for the guild's members (or one member, ``user_id``), ending now."""

    guild_id: str
    user_id: str | None
    period: str
    start: datetime | None = Field(description="Null for `all`: every transaction still held")
    end: datetime
    transactions: int
    volume: int
    earned: int = Field(description="What reached member accounts (a transfer counts too)")
    spent: int = Field(description="What left member accounts")
    by_type: list[TypeStatisticsOut]
    active_members: int = Field(description="Guild members with a transaction in the period")
    money_supply_start: int = Field(description="What the guild's members held at `start`")
    money_supply_end: int = Field(description="What they hold now")
    balance_start: int | None = Field(description="The member's balance at `start`")
    balance_end: int | None = Field(description="The member's balance now")
