"""The guilds API's wire models: registration and the guild's settings."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)

from guildbank.core.limits import MAX_AMOUNT
from guildbank.core.schemas import Out, Snowflake
from guildbank.features.guilds.rules import MAX_ADMIN_ROLES

__all__ = [
    "ConfigOut",
    "ConfigUpdate",
    "GuildIn",
    "GuildOut",
]


class GuildIn(BaseModel):
    name: Annotated[str, StringConstraints(max_length=100)] = ""


class GuildOut(Out):
    id: str
    name: str
    created: bool


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
