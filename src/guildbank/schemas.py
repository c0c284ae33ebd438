"""Request and response bodies of the REST API (field names follow the seed documents).

Shared by the API (which validates and renders them) and the typed client (which parses
them), so both sides of the wire agree by construction.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from guildbank.domain.economy import MAX_ADMIN_ROLES, MAX_AMOUNT, MAX_REASON_LENGTH
from guildbank.domain.ids import SNOWFLAKE_PATTERN, is_snowflake
from guildbank.domain.squads import (
    DEFAULT_SWITCH_COST,
    MAX_DESCRIPTION_LENGTH,
    MAX_EMOJI_LENGTH,
    MAX_NAME_LENGTH,
    MAX_SQUAD_MEMBERS,
)


def _snowflake(value: str) -> str:
    if not is_snowflake(value):
        msg = "must be a Discord id (digits, below 2**63)"
        raise ValueError(msg)
    return value


Snowflake = Annotated[
    str, StringConstraints(pattern=SNOWFLAKE_PATTERN, max_length=20), AfterValidator(_snowflake)
]
# Money is strict: a JSON "10", true or 10.0 is refused rather than coerced into bytes.
Amount = Annotated[int, Field(ge=1, le=MAX_AMOUNT, strict=True)]
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
    admin_role_ids: list[str] = Field(default_factory=list)


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
    admin_role_ids: list[Snowflake] | None = Field(default=None, max_length=MAX_ADMIN_ROLES)

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True, exclude_none=True)


class AdjustIn(BaseModel):
    user_id: Snowflake
    action: Literal["add", "remove", "set"]
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


# --- Squads -------------------------------------------------------------------------------

SquadName = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_NAME_LENGTH, strip_whitespace=True)
]
SquadDescription = Annotated[str, StringConstraints(max_length=MAX_DESCRIPTION_LENGTH)]
SquadEmoji = Annotated[str, StringConstraints(max_length=MAX_EMOJI_LENGTH)]
SwitchCost = Annotated[int, Field(ge=0, le=MAX_AMOUNT, strict=True)]
MaxMembers = Annotated[int, Field(ge=1, le=MAX_SQUAD_MEMBERS, strict=True)]


class SquadOut(Out):
    id: int
    guild_id: str
    role_id: str
    name: str
    description: str
    emoji: str | None
    switch_cost: int
    max_members: int | None
    is_active: bool
    member_count: int
    created_at: datetime
    updated_at: datetime
    # Only when listed for a member (``?user_id=``): their squad, and what joining costs them.
    is_member: bool | None = None
    join_cost: int | None = None


class SquadCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role_id: Snowflake
    name: SquadName
    description: SquadDescription = ""
    emoji: SquadEmoji | None = None
    switch_cost: SwitchCost = DEFAULT_SWITCH_COST
    max_members: MaxMembers | None = None
    is_active: bool = True
    actor_id: Snowflake | None = None


class SquadUpdate(BaseModel):
    """Only the fields sent change; ``emoji`` and ``max_members`` may be set to null."""

    model_config = ConfigDict(extra="forbid")

    role_id: Snowflake | None = None
    name: SquadName | None = None
    description: SquadDescription | None = None
    emoji: SquadEmoji | None = None
    switch_cost: SwitchCost | None = None
    max_members: MaxMembers | None = None
    is_active: bool | None = None
    actor_id: Snowflake | None = None

    @model_validator(mode="after")
    def _no_null_required(self) -> SquadUpdate:
        nulls = [
            name
            for name in self.model_fields_set - {"emoji", "max_members", "actor_id"}
            if getattr(self, name) is None
        ]
        if nulls:
            msg = f"{', '.join(sorted(nulls))} cannot be null"
            raise ValueError(msg)
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True, exclude={"actor_id"})


class SquadUserIn(BaseModel):
    user_id: Snowflake


class SquadJoinOut(Out):
    guild_id: str
    user_id: str
    squad: SquadOut
    previous_squad_id: int | None
    cost: int
    balance: int
    transaction_id: int | None
    role_added: str
    role_removed: str | None


class SquadLeaveOut(Out):
    guild_id: str
    user_id: str
    squad_id: int
    squad_name: str
    role_removed: str


class SquadMembershipOut(Out):
    guild_id: str
    user_id: str
    joined_at: datetime
    squad: SquadOut


class SquadMemberOut(Out):
    user_id: str
    joined_at: datetime
    balance: int


class SquadRankingOut(Out):
    rank: int
    squad_id: int
    name: str
    emoji: str | None
    role_id: str
    members: int
    total_bytes: int


class SquadDeleteOut(Out):
    guild_id: str
    squad_id: int
    role_id: str
    moved_to: int | None
    moved_to_role_id: str | None
    members: list[str]
