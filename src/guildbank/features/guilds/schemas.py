"""The guilds API's wire models: registration and the guild's settings."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)

from guildbank.core.limits import MAX_AMOUNT
from guildbank.core.schemas import SINGLE_LINE, Out, Snowflake
from guildbank.features.guilds.rules import (
    CHANNEL_SETTINGS,
    MAX_ADMIN_ROLES,
    MAX_CURRENCY_EMOJI_LENGTH,
    MAX_CURRENCY_NAME_LENGTH,
    MAX_GUILD_NAME_LENGTH,
    MAX_ROLE_REWARDS,
    MAX_STREAK_DAYS,
    MAX_STREAK_MULTIPLIER,
    MAX_STREAK_TIERS,
    MAX_TIMEZONE_LENGTH,
    SETTING_RANGES,
    STREAK_DAY_PATTERN,
)

__all__ = [
    "ChannelIn",
    "ChannelOut",
    "ConfigOut",
    "ConfigUpdate",
    "FeatureName",
    "GuildIn",
    "GuildMetadataIn",
    "GuildMetadataOut",
    "GuildOut",
    "RoleIn",
    "RoleOut",
]

# The toggles a guild can switch (``rules.FEATURE_TOGGLES``), as the API names them.
FeatureName = Literal["economy", "squads", "shop", "tasks", "announcements"]


class GuildIn(BaseModel):
    name: Annotated[str, StringConstraints(max_length=MAX_GUILD_NAME_LENGTH), SINGLE_LINE] = ""


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
    moderator_role_ids: list[str] = Field(default_factory=list)
    features: dict[str, bool] = Field(default_factory=dict)
    log_channel_id: str | None = None
    shop_channel_id: str | None = None
    task_channel_id: str | None = None
    # Send it back as ``If-Match`` to refuse a save over someone else's newer change.
    version: int = 1


def _streak_day(value: Any) -> Any:
    """A JSON key spelling a day count in plain digits (``"7"``; not ``"07"``, ``" 7"`` or
    ``"7.0"``, which ``int()`` would take): what the document's ``propertyNames`` says."""
    if isinstance(value, str) and re.fullmatch(STREAK_DAY_PATTERN, value) is None:
        msg = f"a streak day is a whole number of days from 1 to {MAX_STREAK_DAYS}, in digits"
        raise ValueError(msg)
    return value


StreakBonuses = Annotated[
    dict[
        Annotated[int, Field(ge=1, le=MAX_STREAK_DAYS), BeforeValidator(_streak_day)],
        Annotated[int, Field(ge=1, le=MAX_STREAK_MULTIPLIER)],
    ],
    WithJsonSchema(
        {
            "type": "object",
            "description": "Streak days (as digits) to the daily amount's multiplier.",
            "propertyNames": {"pattern": STREAK_DAY_PATTERN},
            "additionalProperties": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_STREAK_MULTIPLIER,
            },
            "maxProperties": MAX_STREAK_TIERS,
        }
    ),
]


def _bounds(setting: str) -> Any:
    """The bounds of a whole-number setting, taken from the rules' ``SETTING_RANGES``."""
    low, high = SETTING_RANGES[setting]
    return Field(ge=low, le=high)


class ConfigUpdate(BaseModel):
    """Only the fields sent are changed; each is validated."""

    model_config = ConfigDict(extra="forbid")

    starting_balance: Annotated[int, _bounds("starting_balance")] | None = None
    daily_amount: Annotated[int, _bounds("daily_amount")] | None = None
    streak_bonuses: StreakBonuses | None = Field(default=None, max_length=MAX_STREAK_TIERS)
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
            SINGLE_LINE,
        ]
        | None
    ) = None
    currency_emoji: (
        Annotated[str, StringConstraints(max_length=MAX_CURRENCY_EMOJI_LENGTH), SINGLE_LINE] | None
    ) = None
    timezone: (
        Annotated[str, StringConstraints(min_length=1, max_length=MAX_TIMEZONE_LENGTH), SINGLE_LINE]
        | None
    ) = None
    admin_role_ids: list[Snowflake] | None = Field(default=None, max_length=MAX_ADMIN_ROLES)
    moderator_role_ids: list[Snowflake] | None = Field(default=None, max_length=MAX_ADMIN_ROLES)
    # Only the toggles named change, e.g. ``{"squads": false}``.
    features: dict[FeatureName, bool] | None = None
    # A channel id, or null to unset it.
    log_channel_id: Snowflake | None = None
    shop_channel_id: Snowflake | None = None
    task_channel_id: Snowflake | None = None

    def changes(self) -> dict[str, Any]:
        """The fields sent; null means "unchanged", except for a channel, where it unsets."""
        sent = self.model_dump(exclude_unset=True)
        return {k: v for k, v in sent.items() if v is not None or k in CHANNEL_SETTINGS}


# --- Channels and roles the bot reports -------------------------------------------------------

Name = Annotated[str, StringConstraints(max_length=100), SINGLE_LINE]


class ChannelIn(BaseModel):
    """A guild channel as the bot sees it (``type`` is Discord's channel type number)."""

    id: Snowflake
    name: Name
    type: Annotated[int, Field(ge=0, le=1000)]
    position: Annotated[int, Field(ge=-1_000_000, le=1_000_000)] = 0
    parent_id: Snowflake | None = None


class RoleIn(BaseModel):
    """A guild role as the bot sees it; ``bot_holds`` when the bot's own member has it."""

    id: Snowflake
    name: Name
    position: Annotated[int, Field(ge=-1_000_000, le=1_000_000)] = 0
    color: Annotated[int, Field(ge=0, le=0xFFFFFF)] = 0
    managed: bool = False
    bot_holds: bool = False


class GuildMetadataIn(BaseModel):
    """Every channel and role of the guild: a full replacement (what is missing was deleted)."""

    channels: list[ChannelIn] = Field(default_factory=list, max_length=1000)
    roles: list[RoleIn] = Field(default_factory=list, max_length=1000)


class ChannelOut(Out):
    id: str
    name: str
    type: int
    position: int
    parent_id: str | None
    deleted: bool
    # Text-like (text, announcement, forum): where the bot can post.
    postable: bool


class RoleOut(Out):
    id: str
    name: str
    position: int
    color: int
    managed: bool
    bot_holds: bool
    deleted: bool
    # The bot can grant it (below its highest role, not managed, not @everyone).
    assignable: bool


class GuildMetadataOut(Out):
    guild_id: str
    synced: bool
    channels: list[ChannelOut]
    roles: list[RoleOut]
