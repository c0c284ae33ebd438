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
from guildbank.features.guilds.rules import (
    MAX_ADMIN_ROLES,
    MAX_CURRENCY_EMOJI_LENGTH,
    MAX_CURRENCY_NAME_LENGTH,
    MAX_ROLE_REWARDS,
    MAX_STREAK_DAYS,
    MAX_STREAK_MULTIPLIER,
    MAX_STREAK_TIERS,
    MAX_TIMEZONE_LENGTH,
    SETTING_RANGES,
)

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


def _bounds(setting: str) -> Any:
    """The bounds of a whole-number setting, taken from the rules' ``SETTING_RANGES``."""
    low, high = SETTING_RANGES[setting]
    return Field(ge=low, le=high)


class ConfigUpdate(BaseModel):
    """Only the fields sent are changed; each is validated."""

    model_config = ConfigDict(extra="forbid")

    starting_balance: Annotated[int, _bounds("starting_balance")] | None = None
    daily_amount: Annotated[int, _bounds("daily_amount")] | None = None
    streak_bonuses: (
        dict[
            Annotated[int, Field(ge=1, le=MAX_STREAK_DAYS)],
            Annotated[int, Field(ge=1, le=MAX_STREAK_MULTIPLIER)],
        ]
        | None
    ) = Field(default=None, max_length=MAX_STREAK_TIERS)
    max_transfer: Annotated[int, _bounds("max_transfer")] | None = None
    transfer_cooldown_hours: Annotated[int, _bounds("transfer_cooldown_hours")] | None = None
    confirm_threshold: Annotated[int, _bounds("confirm_threshold")] | None = None
    rate_limit_per_minute: Annotated[int, _bounds("rate_limit_per_minute")] | None = None
    role_rewards: dict[Snowflake, Annotated[int, Field(ge=1, le=MAX_AMOUNT)]] | None = Field(
        default=None, max_length=MAX_ROLE_REWARDS
    )
    currency_name: (
        Annotated[
            str,
            StringConstraints(
                min_length=1, max_length=MAX_CURRENCY_NAME_LENGTH, strip_whitespace=True
            ),
        ]
        | None
    ) = None
    currency_emoji: (
        Annotated[str, StringConstraints(max_length=MAX_CURRENCY_EMOJI_LENGTH)] | None
    ) = None
    timezone: (
        Annotated[str, StringConstraints(min_length=1, max_length=MAX_TIMEZONE_LENGTH)] | None
    ) = None
    admin_role_ids: list[Snowflake] | None = Field(default=None, max_length=MAX_ADMIN_ROLES)

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True, exclude_none=True)
