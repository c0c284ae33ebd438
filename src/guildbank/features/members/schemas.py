"""The members API's wire models: the list, a member's page, inactive members, reactivation,
cleanup and the economy reset, and the names the bot reports."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from guildbank.core.schemas import SINGLE_LINE, WHOLE, Out, Reason, Snowflake
from guildbank.features.economy.schemas import TransactionOut
from guildbank.features.members.rules import MAX_DAYS, MAX_DISPLAY_NAME, RESET_WORD
from guildbank.features.shop.schemas import InventoryEntryOut
from guildbank.features.tasks.schemas import MemberTaskOut

__all__ = [
    "CleanupIn",
    "CleanupMemberOut",
    "CleanupOut",
    "DisplayName",
    "InactiveListOut",
    "InactiveMemberOut",
    "MemberDetailOut",
    "MemberListOut",
    "MemberName",
    "MemberOut",
    "MemberSquadOut",
    "NamesIn",
    "NamesOut",
    "PresenceIn",
    "ReactivateOut",
    "ResetIn",
    "ResetOut",
]

DisplayName = Annotated[str, StringConstraints(max_length=MAX_DISPLAY_NAME), SINGLE_LINE]
MAX_NAMES = 1000


class MemberOut(Out):
    user_id: str
    display_name: str | None
    balance: int
    total_received: int
    total_sent: int
    streak_count: int
    last_daily: date | None
    is_active: bool
    left_at: datetime | None
    joined_at: datetime


class MemberListOut(Out):
    guild_id: str
    page: int
    per_page: int
    total: int
    pages: int
    members: list[MemberOut]


class MemberSquadOut(Out):
    id: int
    name: str
    emoji: str | None
    joined_at: datetime


class MemberDetailOut(MemberOut):
    guild_id: str
    tier: str
    multiplier: int
    daily_available: bool
    rank: int | None
    rank_exact: bool
    squad: MemberSquadOut | None
    inventory: list[InventoryEntryOut]
    tasks: list[MemberTaskOut]
    recent_transactions: list[TransactionOut]


class InactiveMemberOut(Out):
    user_id: str
    display_name: str | None
    balance: int
    left_at: datetime | None
    days_gone: int | None


class InactiveListOut(Out):
    guild_id: str
    days: int
    total: int
    members: list[InactiveMemberOut]


class ReactivateOut(Out):
    guild_id: str
    user_id: str
    active: bool
    was_active: bool


class CleanupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: Annotated[
        int,
        Field(ge=0, le=MAX_DAYS, strict=True, description="Members gone at least this many days"),
        WHOLE,
    ]
    dry_run: bool = Field(
        default=True, description="Only say who and how much (the default); false cleans up"
    )
    reason: Reason | None = None
    actor_id: Snowflake | None = None


class CleanupMemberOut(Out):
    user_id: str
    display_name: str | None
    left_at: datetime
    amount: int
    streak_count: int
    transaction_id: int | None


class CleanupOut(Out):
    guild_id: str
    days: int
    dry_run: bool
    cutoff: datetime
    members: int
    amount: int
    cleaned: list[CleanupMemberOut]


class ResetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    confirm: str = Field(
        default="", max_length=200, description=f'Must be "{RESET_WORD}" (not for a dry run)'
    )
    dry_run: bool = False
    reason: Reason | None = None
    actor_id: Snowflake | None = None


class ResetOut(Out):
    guild_id: str
    dry_run: bool
    members: int
    amount: int
    streaks_cleared: int
    transaction_ids: list[int]


class PresenceIn(BaseModel):
    """A member left or came back; the bot may say the name Discord shows for them."""

    active: bool
    display_name: DisplayName | None = None


class MemberName(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: Snowflake
    display_name: DisplayName


class NamesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    names: list[MemberName] = Field(max_length=MAX_NAMES)


class NamesOut(Out):
    guild_id: str
    updated: int
