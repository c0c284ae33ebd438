"""A guild's settings with their defaults, and the pure rules that check them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from guildbank.core.errors import InvalidInput
from guildbank.core.ids import is_snowflake
from guildbank.features.economy.streaks import DEFAULT_STREAK_BONUSES
from guildbank.ledger.limits import MAX_AMOUNT

__all__ = [
    "MAX_ADMIN_ROLES",
    "EconomyConfig",
    "guild_today",
    "seconds_until_next_day",
    "validate_config",
]
MAX_ADMIN_ROLES = 25


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


_LIMITS: Mapping[str, tuple[int, int]] = {
    "starting_balance": (0, MAX_AMOUNT),
    "daily_amount": (0, MAX_AMOUNT),
    "max_transfer": (1, MAX_AMOUNT),
    "transfer_cooldown_hours": (0, 24 * 365),
    "confirm_threshold": (1, MAX_AMOUNT),
    "rate_limit_per_minute": (0, 10_000),
}


def validate_config(config: EconomyConfig) -> None:
    """Refuse settings no economy can run on, whoever tries to store them."""
    for name, (low, high) in _LIMITS.items():
        value = getattr(config, name)
        if not isinstance(value, int) or not low <= value <= high:
            raise InvalidInput(
                f"{name} must be a whole number from {low} to {high}.",
                code="invalid_setting",
                setting=name,
            )
    for days, multiplier in config.streak_bonuses.items():
        if not (1 <= int(days) <= 36500 and 1 <= int(multiplier) <= 1_000_000):
            raise InvalidInput(
                "Streak bonuses map 1–36500 days to a multiplier of 1–1000000.",
                code="invalid_setting",
                setting="streak_bonuses",
            )
    for role, threshold in config.role_rewards.items():
        if not 1 <= int(threshold) <= MAX_AMOUNT:
            raise InvalidInput(
                f"Role reward thresholds go from 1 to {MAX_AMOUNT}.",
                code="invalid_setting",
                setting="role_rewards",
                role=role,
            )
    roles = config.admin_role_ids
    if len(roles) > MAX_ADMIN_ROLES or not all(is_snowflake(str(r)) for r in roles):
        raise InvalidInput(
            f"Admin roles are up to {MAX_ADMIN_ROLES} Discord role ids.",
            code="invalid_setting",
            setting="admin_role_ids",
        )
    if not 1 <= len(config.currency_name.strip()) <= 32 or len(config.currency_emoji) > 64:
        raise InvalidInput(
            "The currency name takes 1–32 characters and the emoji up to 64.",
            code="invalid_setting",
            setting="currency_name",
        )


def guild_today(timezone: str, now: datetime) -> date:
    """The calendar day in the guild's timezone: what "daily" means for its members."""
    return now.astimezone(ZoneInfo(timezone)).date()


def seconds_until_next_day(timezone: str, now: datetime) -> int:
    """Seconds until midnight in the guild's timezone (when the next daily opens)."""
    local = now.astimezone(ZoneInfo(timezone))
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), local.tzinfo)
    return max(1, int((midnight.astimezone(UTC) - now.astimezone(UTC)).total_seconds()))
