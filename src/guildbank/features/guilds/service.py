"""Registering a guild and changing its settings.

A change is validated as a whole (``rules.validate_config``), then the ids it newly names are
checked against the channels and roles the bot reported (``catalog``): ids already stored are
left alone, so a role deleted in Discord never blocks saving something else. Every save raises
``version``; a caller that names the version it edited (``If-Match``, the dashboard's form) is
refused when someone saved in between."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, fields, replace
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from guildbank.core.errors import InvalidInput
from guildbank.core.ids import is_snowflake
from guildbank.core.text import single_line
from guildbank.features.guilds.catalog import check_channel, check_role, load_catalog
from guildbank.features.guilds.errors import StaleSettings
from guildbank.features.guilds.events import ConfigChanged, GuildRegistered
from guildbank.features.guilds.queries import CONFIGS, config_from_row, get_config
from guildbank.features.guilds.rules import (
    CHANNEL_SETTINGS,
    FEATURE_TOGGLES,
    MAX_GUILD_NAME_LENGTH,
    SETTING_RANGES,
    EconomyConfig,
    validate_config,
)
from guildbank.ledger.accounts import open_system_accounts
from guildbank.outbox.service import enqueue_message
from guildbank.platform.models.announcements import OperatorSetting
from guildbank.platform.models.guilds import Guild, GuildSettings
from guildbank.platform.uow import UnitOfWork
from guildbank.platform.upsert import insert_ignore

__all__ = ["OPERATOR_DEFAULTS", "acted_by", "operator_defaults", "register_guild", "update_config"]

# The operator's defaults for new guilds (``GET|PUT /api/settings``, the System page): a row
# of ``operator_settings`` the announcements feature writes; a guild registering reads it.
OPERATOR_DEFAULTS = "guild.defaults"
DEFAULTED = (
    "currency_name",
    "currency_emoji",
    "starting_balance",
    "daily_amount",
    "streak_bonuses",
)


def acted_by(actor_id: str) -> str:
    """Who acted, as a log channel line names them: a mention for a Discord user only (a
    mention of ``local:admin`` would show as raw text), else the API key or dashboard user by
    name (``key:bot`` -> "API key bot", ``local:admin`` -> "dashboard admin admin")."""
    if is_snowflake(actor_id):
        return f"<@{actor_id}>"
    kind, _, name = actor_id.partition(":")
    if kind == "key" and name:
        return f"API key {name}"
    if kind == "local" and name:
        return f"dashboard admin {name}"
    return actor_id


def _settings_values(config: EconomyConfig) -> dict[str, Any]:
    values = asdict(config)
    values["streak_bonuses"] = {str(k): v for k, v in config.streak_bonuses.items()}
    values["role_rewards"] = dict(config.role_rewards)
    values["admin_role_ids"] = list(config.admin_role_ids)
    values["moderator_role_ids"] = list(config.moderator_role_ids)
    values["disabled_features"] = list(config.disabled_features)
    return values


async def _new_guild_config(uow: UnitOfWork) -> EconomyConfig:
    """The operator's defaults; the built-in ones when none are stored, or when the stored
    ones no longer pass (a registration is never refused for them; the save checked them)."""
    value = await uow.session.scalar(
        select(OperatorSetting.value).where(OperatorSetting.name == OPERATOR_DEFAULTS)
    )
    if not isinstance(value, Mapping):
        return EconomyConfig()
    try:
        return operator_defaults(value)
    except InvalidInput:
        return EconomyConfig()


def operator_defaults(stored: Mapping[str, Any]) -> EconomyConfig:
    """A new guild's settings: the operator's defaults (currency name and emoji, starting
    balance, daily amount, streak table) over the built-in ones. Values no guild could be
    saved with are refused (``InvalidInput``): the operator's save checks them here first."""
    chosen = {name: stored[name] for name in DEFAULTED if name in stored}
    if "streak_bonuses" in chosen:
        try:
            chosen["streak_bonuses"] = {int(d): int(m) for d, m in chosen["streak_bonuses"].items()}
        except (AttributeError, TypeError, ValueError):
            raise InvalidInput(
                "streak_bonuses must map days to multipliers.",
                code="invalid_setting",
                setting="streak_bonuses",
            ) from None
    config = EconomyConfig(**chosen)
    validate_config(config)
    return config


async def register_guild(uow: UnitOfWork, *, guild_id: str, name: str = "") -> bool:
    """Create the guild with the operator's default settings (built-in ones where none were
    set) and its system accounts; True if it was new."""
    if not is_snowflake(guild_id):
        raise InvalidInput(f"{guild_id!r} is not a Discord id", code="invalid_id")
    name = single_line(name)[:MAX_GUILD_NAME_LENGTH]  # however the name came, stored clean
    session = uow.session
    created = await insert_ignore(session, Guild, {"id": guild_id, "name": name}, ["id"])
    if not created:
        guild = await session.get(Guild, guild_id)
        if guild is not None and ((name and guild.name != name) or not guild.is_active):
            guild.name = name or guild.name
            guild.is_active = True
        return False
    config = await _new_guild_config(uow)
    session.add(GuildSettings(guild_id=guild_id, **_settings_values(config)))
    await open_system_accounts(uow, guild_id)
    uow.emit(GuildRegistered(guild_id=guild_id))
    return True


# What a caller may change: every setting, the toggles as ``features``; never the version.
CHANGEABLE = ({f.name for f in fields(EconomyConfig)} - {"version", "disabled_features"}) | {
    "features"
}


def _toggled(current: EconomyConfig, wanted: Mapping[str, Any]) -> tuple[str, ...]:
    """The features off after applying ``{name: on}`` to the current toggles."""
    unknown = set(wanted) - set(FEATURE_TOGGLES)
    if unknown:
        raise InvalidInput(
            f"Unknown features: {', '.join(sorted(unknown))}", code="unknown_setting"
        )
    off = {name for name in FEATURE_TOGGLES if not current.enabled(name)}
    off |= {name for name, on in wanted.items() if not on}
    off -= {name for name, on in wanted.items() if on}
    return tuple(name for name in FEATURE_TOGGLES if name in off)


def _validated_changes(current: EconomyConfig, changes: Mapping[str, Any]) -> EconomyConfig:
    unknown = set(changes) - CHANGEABLE
    if unknown:
        raise InvalidInput(
            f"Unknown settings: {', '.join(sorted(unknown))}", code="unknown_setting"
        )
    values = {**asdict(current), **changes}
    if "features" in values:
        values["disabled_features"] = _toggled(current, values.pop("features"))
    values["moderator_role_ids"] = tuple(
        dict.fromkeys(str(r) for r in values["moderator_role_ids"])
    )
    try:
        ZoneInfo(values["timezone"])
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidInput(
            f"Unknown timezone {values['timezone']!r}", code="invalid_timezone"
        ) from error
    values["admin_role_ids"] = tuple(dict.fromkeys(str(r) for r in values["admin_role_ids"]))
    for role in [*values["role_rewards"], *values["admin_role_ids"], *values["moderator_role_ids"]]:
        if not is_snowflake(str(role)):
            raise InvalidInput(f"Role id {role!r} is not a Discord id", code="invalid_id")
    config = EconomyConfig(**values)
    validate_config(config)
    return config


async def _check_new_ids(
    uow: UnitOfWork, guild_id: str, before: EconomyConfig, after: EconomyConfig
) -> None:
    """Refuse channels and roles a change newly names that the guild does not have (or, for
    reward roles, that the bot could not grant)."""
    new_rewards = set(after.role_rewards) - set(before.role_rewards)
    new_staff = {
        setting: set(getattr(after, setting)) - set(getattr(before, setting))
        for setting in ("admin_role_ids", "moderator_role_ids")
    }
    new_channels = {
        setting: getattr(after, setting)
        for setting in CHANNEL_SETTINGS
        if getattr(after, setting) not in (None, getattr(before, setting))
    }
    if not (new_rewards or any(new_staff.values()) or new_channels):
        return
    catalog = await load_catalog(uow, guild_id)
    for role in sorted(new_rewards):
        check_role(catalog, role, setting="role_rewards", grant=True)
    for setting, roles in new_staff.items():
        for role in sorted(roles):
            check_role(catalog, role, setting=setting, grant=False)
    for setting, channel in new_channels.items():
        await check_channel(uow, catalog, channel, setting=setting)


async def update_config(
    uow: UnitOfWork,
    *,
    guild_id: str,
    changes: Mapping[str, Any],
    actor_id: str | None = None,
    expected_version: int | None = None,
) -> EconomyConfig:
    """Apply validated changes; other processes learn of them through the event bus.
    ``expected_version``: the version the caller edited (a newer one refuses the save)."""
    await get_config(uow, guild_id)
    row = (
        await uow.session.execute(
            select(GuildSettings)
            .where(GuildSettings.guild_id == guild_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    if expected_version is not None and expected_version != row.version:
        raise StaleSettings(expected=expected_version, current=row.version)
    before = config_from_row(row)
    validated = _validated_changes(before, changes)
    if validated == before:
        return before  # nothing changes: no write, no new version
    config = replace(validated, version=row.version + 1)
    await _check_new_ids(uow, guild_id, before, config)
    for key, value in _settings_values(config).items():
        setattr(row, key, value)
    row.updated_at = uow.now
    await uow.session.flush()
    uow.after_commit(lambda: uow.services.caches[CONFIGS].put(guild_id, config))
    await _log_changes(uow, guild_id, before, config, actor_id)
    uow.emit(ConfigChanged(guild_id=guild_id, changed=sorted(changes), actor_id=actor_id))
    return config


def _change_text(name: str, before: EconomyConfig, after: EconomyConfig) -> str:
    """One changed setting as the log line says it: numbers, toggles and channels with their new
    value; names and lists by name only (no free text of the change reaches the channel)."""
    value = getattr(after, name)
    label = name.replace("_ids", "s").replace("_id", "").replace("_", " ")
    if name in SETTING_RANGES:
        return f"{label} → {value:,}"
    if name in CHANNEL_SETTINGS:
        return f"{label} → <#{value}>" if value else f"{label} unset"
    if name == "disabled_features":
        flipped = [
            f"{feature} {'on' if on else 'off'}"
            for feature, on in after.features.items()
            if before.features[feature] != on
        ]
        return "features: " + ", ".join(flipped)
    if name == "timezone":
        return f"{label} → {value}"
    return label


async def _log_changes(
    uow: UnitOfWork, guild_id: str, before: EconomyConfig, after: EconomyConfig, actor: str | None
) -> None:
    """A line in the log channel naming what changed, in the change's own transaction. It goes
    to the log channel set before the change: one being moved or unset hears of it, and the
    save that first sets one posts nothing."""
    channel = before.log_channel_id
    if channel is None:
        return
    changed = [
        _change_text(f.name, before, after)
        for f in fields(EconomyConfig)
        if f.name != "version" and getattr(before, f.name) != getattr(after, f.name)
    ]
    by = f" by {acted_by(actor)}" if actor else ""
    await enqueue_message(
        uow,
        guild_id=guild_id,
        channel_id=channel,
        content=f"⚙️ Settings changed{by}: " + "; ".join(changed),
    )
