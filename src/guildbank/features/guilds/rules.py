"""A guild's settings with their defaults, and the pure rules that check them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from guildbank.core.errors import InvalidInput
from guildbank.core.ids import is_snowflake
from guildbank.core.limits import MAX_AMOUNT
from guildbank.core.text import forbidden_character

__all__ = [
    "CHANNEL_SETTINGS",
    "DEFAULT_STREAK_BONUSES",
    "FEATURE_TOGGLES",
    "MAX_ADMIN_ROLES",
    "MAX_CURRENCY_EMOJI_LENGTH",
    "MAX_CURRENCY_NAME_LENGTH",
    "MAX_GUILD_NAME_LENGTH",
    "MAX_ROLE_REWARDS",
    "MAX_STREAK_DAYS",
    "MAX_STREAK_MULTIPLIER",
    "MAX_STREAK_TIERS",
    "MAX_TIMEZONE_LENGTH",
    "SETTING_RANGES",
    "STREAK_DAY_PATTERN",
    "EconomyConfig",
    "guild_today",
    "seconds_until_next_day",
    "validate_config",
]

# Streak days reached -> daily multiplier (SPEC §4.2); economy/streaks.py names the tiers.
DEFAULT_STREAK_BONUSES: Mapping[int, int] = {8: 2, 16: 4, 32: 8, 64: 16}
# The bounds of the settings, shared by this module's checks and the API's ConfigUpdate.
MAX_ADMIN_ROLES = 25
# Four digits (27 years of dailies): short enough for a JSON key pattern to say it exactly.
MAX_STREAK_DAYS = 9_999
STREAK_DAY_PATTERN = r"^[1-9][0-9]{0,3}$"
MAX_STREAK_MULTIPLIER = 1_000_000
MAX_CURRENCY_NAME_LENGTH = 32
MAX_GUILD_NAME_LENGTH = 100
MAX_CURRENCY_EMOJI_LENGTH = 64
MAX_TIMEZONE_LENGTH = 64
MAX_STREAK_TIERS = 50
MAX_ROLE_REWARDS = 100
# Features a guild can turn off (SPEC §9); every one is on until an admin turns it off.
FEATURE_TOGGLES = ("economy", "squads", "shop", "tasks", "announcements")
# Settings naming one of the guild's text channels (None: not set).
CHANNEL_SETTINGS = ("log_channel_id", "shop_channel_id", "task_channel_id")
# Whole-number settings: (lowest, highest) allowed.
SETTING_RANGES: Mapping[str, tuple[int, int]] = {
    "starting_balance": (0, MAX_AMOUNT),
    "daily_amount": (0, MAX_AMOUNT),
    "max_transfer": (1, MAX_AMOUNT),
    "transfer_cooldown_hours": (0, 24 * 365),
    "confirm_threshold": (1, MAX_AMOUNT),
    "rate_limit_per_minute": (0, 10_000),
}


@dataclass(frozen=True, slots=True)
class EconomyConfig:
    """Per-guild economy settings with SPEC §4 defaults."""

    starting_balance: int = 100
    daily_amount: int = 10
    streak_bonuses: Mapping[int, int] = field(default_factory=lambda: dict(DEFAULT_STREAK_BONUSES))
    max_transfer: int = 1000
    transfer_cooldown_hours: int = 0
    confirm_threshold: int = 100
    rate_limit_per_minute: int = 5
    role_rewards: Mapping[str, int] = field(default_factory=dict)
    currency_name: str = "bytes"
    currency_emoji: str = "💰"
    timezone: str = "UTC"
    # Roles whose holders manage the economy like Manage Server does (dashboard and /economy).
    admin_role_ids: tuple[str, ...] = ()
    # Roles whose holders moderate (below admins, above members: docs/permissions.md).
    moderator_role_ids: tuple[str, ...] = ()
    # Feature toggles: the names turned off (all on by default).
    disabled_features: tuple[str, ...] = ()
    log_channel_id: str | None = None
    shop_channel_id: str | None = None
    task_channel_id: str | None = None
    # Raised by every saved change: a save made from an older version is refused.
    version: int = 1

    @property
    def features(self) -> dict[str, bool]:
        """Every feature toggle, on or off."""
        return {name: name not in self.disabled_features for name in FEATURE_TOGGLES}

    def enabled(self, feature: str) -> bool:
        return feature not in self.disabled_features


def validate_config(config: EconomyConfig) -> None:
    """Refuse settings no economy can run on, whoever tries to store them."""
    for name, (low, high) in SETTING_RANGES.items():
        value = getattr(config, name)
        if not isinstance(value, int) or not low <= value <= high:
            raise InvalidInput(
                f"{name} must be a whole number from {low} to {high}.",
                code="invalid_setting",
                setting=name,
            )
    for days, multiplier in config.streak_bonuses.items():
        if not (
            1 <= int(days) <= MAX_STREAK_DAYS and 1 <= int(multiplier) <= MAX_STREAK_MULTIPLIER
        ):
            raise InvalidInput(
                f"Streak bonuses map 1–{MAX_STREAK_DAYS} days to a multiplier of "
                f"1–{MAX_STREAK_MULTIPLIER}.",
                code="invalid_setting",
                setting="streak_bonuses",
            )
    _check_largest_award(config)
    for role, threshold in config.role_rewards.items():
        if not 1 <= int(threshold) <= MAX_AMOUNT:
            raise InvalidInput(
                f"Role reward thresholds go from 1 to {MAX_AMOUNT}.",
                code="invalid_setting",
                setting="role_rewards",
                role=role,
            )
    for setting, roles in (
        ("admin_role_ids", config.admin_role_ids),
        ("moderator_role_ids", config.moderator_role_ids),
    ):
        if len(roles) > MAX_ADMIN_ROLES or not all(is_snowflake(str(r)) for r in roles):
            raise InvalidInput(
                f"{setting.split('_')[0].title()} roles are up to {MAX_ADMIN_ROLES} Discord "
                "role ids.",
                code="invalid_setting",
                setting=setting,
            )
    for setting in CHANNEL_SETTINGS:
        channel = getattr(config, setting)
        if channel is not None and not is_snowflake(str(channel)):
            raise InvalidInput(
                f"{setting} must be a Discord channel id.", code="invalid_id", setting=setting
            )
    unknown = set(config.disabled_features) - set(FEATURE_TOGGLES)
    if unknown:
        raise InvalidInput(
            f"Unknown features: {', '.join(sorted(unknown))}.",
            code="invalid_setting",
            setting="features",
        )
    name_length = len(config.currency_name.strip())
    if (
        not 1 <= name_length <= MAX_CURRENCY_NAME_LENGTH
        or len(config.currency_emoji) > MAX_CURRENCY_EMOJI_LENGTH
        or forbidden_character(config.currency_name + config.currency_emoji) is not None
    ):
        raise InvalidInput(
            f"The currency name takes 1–{MAX_CURRENCY_NAME_LENGTH} characters and the emoji "
            f"up to {MAX_CURRENCY_EMOJI_LENGTH}, without control characters.",
            code="invalid_setting",
            setting="currency_name",
        )


def _check_largest_award(config: EconomyConfig) -> None:
    """The daily award at the highest streak tier is an amount too: it must stay within the
    one bound of money (``core.limits``), or a claim would be refused at that tier."""
    multiplier = max((int(m) for m in config.streak_bonuses.values()), default=1)
    if config.daily_amount * max(multiplier, 1) > MAX_AMOUNT:
        raise InvalidInput(
            f"The daily amount times the largest streak multiplier "
            f"({config.daily_amount} × {multiplier}) must be at most {MAX_AMOUNT}.",
            code="invalid_setting",
            setting="daily_amount",
            limit=MAX_AMOUNT,
        )


def guild_today(timezone: str, now: datetime) -> date:
    """The calendar day in the guild's timezone: what "daily" means for its members."""
    return now.astimezone(ZoneInfo(timezone)).date()


def seconds_until_next_day(timezone: str, now: datetime) -> int:
    """Seconds until midnight in the guild's timezone (when the next daily opens)."""
    local = now.astimezone(ZoneInfo(timezone))
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), local.tzinfo)
    return max(1, int((midnight.astimezone(UTC) - now.astimezone(UTC)).total_seconds()))
