"""Request and response bodies of the REST API (field names follow the seed documents).

Shared by the API (which validates and renders them) and the typed client (which parses
them), so both sides of the wire agree by construction.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from guildbank.domain.economy import MAX_AMOUNT, MAX_REASON_LENGTH
from guildbank.domain.ids import SNOWFLAKE_PATTERN, is_snowflake


def _snowflake(value: str) -> str:
    if not is_snowflake(value):
        msg = "must be a Discord id (digits, below 2**63)"
        raise ValueError(msg)
    return value


Snowflake = Annotated[
    str, StringConstraints(pattern=SNOWFLAKE_PATTERN, max_length=20), AfterValidator(_snowflake)
]
Amount = Annotated[int, Field(ge=1, le=MAX_AMOUNT)]
Reason = Annotated[str, StringConstraints(max_length=MAX_REASON_LENGTH)]
RequiredReason = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_REASON_LENGTH, strip_whitespace=True)
]


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class GuildIn(BaseModel):
    name: Annotated[str, StringConstraints(max_length=100)] = ""


class GuildOut(Out):
    id: str
    name: str
    created: bool


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


class ConfigOut(Out):
    starting_balance: int
    daily_amount: int
    streak_bonuses: dict[int, int]
    max_transfer: int
    transfer_cooldown_hours: int
    confirm_threshold: int
    rate_limit_per_minute: int
    role_rewards: dict[str, int]
    currency_name: str
    currency_emoji: str
    timezone: str


class ConfigUpdate(BaseModel):
    """Only the fields sent are changed; each is validated."""

    model_config = ConfigDict(extra="forbid")

    starting_balance: Annotated[int, Field(ge=0, le=MAX_AMOUNT)] | None = None
    daily_amount: Annotated[int, Field(ge=0, le=MAX_AMOUNT)] | None = None
    streak_bonuses: (
        dict[Annotated[int, Field(ge=1, le=36500)], Annotated[int, Field(ge=1, le=1_000_000)]]
        | None
    ) = Field(default=None, max_length=50)
    max_transfer: Annotated[int, Field(ge=1, le=MAX_AMOUNT)] | None = None
    transfer_cooldown_hours: Annotated[int, Field(ge=0, le=24 * 365)] | None = None
    confirm_threshold: Annotated[int, Field(ge=1, le=MAX_AMOUNT)] | None = None
    rate_limit_per_minute: Annotated[int, Field(ge=0, le=10_000)] | None = None
    role_rewards: dict[Snowflake, Annotated[int, Field(ge=1, le=MAX_AMOUNT)]] | None = Field(
        default=None, max_length=100
    )
    currency_name: (
        Annotated[str, StringConstraints(min_length=1, max_length=32, strip_whitespace=True)] | None
    ) = None
    currency_emoji: Annotated[str, StringConstraints(max_length=64)] | None = None
    timezone: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True, exclude_none=True)


class AdjustIn(BaseModel):
    user_id: Snowflake
    action: Literal["add", "remove", "set"]
    amount: Annotated[int, Field(ge=0, le=MAX_AMOUNT)]
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
