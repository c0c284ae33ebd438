"""The settings form: what the admin typed, re-shown with per-field errors. It parses through
the API's ``ConfigUpdate``, so the dashboard and the API's config route refuse the same values
with the same limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from guildbank.core.errors import GuildbankError
from guildbank.core.ids import is_snowflake
from guildbank.features.guilds.rules import (
    CHANNEL_SETTINGS,
    FEATURE_TOGGLES,
    MAX_ADMIN_ROLES,
    EconomyConfig,
)
from guildbank.features.guilds.schemas import ConfigUpdate
from guildbank.web.forms import NOT_WHOLE, discord_id_problem, field_errors, parse_whole

__all__ = ["CHANNEL_FIELDS", "SCALAR_FIELDS", "SettingsForm"]

# (name, label, help) in the order the page shows them.
SCALAR_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("currency_name", "Currency name", "What members earn, e.g. bytes."),
    ("currency_emoji", "Currency emoji", "Shown next to amounts in Discord."),
    ("starting_balance", "Starting balance", "Given once when a member first appears."),
    ("daily_amount", "Daily amount", "Paid for the first message or /daily of the day."),
    ("max_transfer", "Largest transfer", "The most a member can send at once."),
    ("confirm_threshold", "Confirm from", "Transfers this large ask the sender to confirm."),
    ("transfer_cooldown_hours", "Transfer cooldown (hours)", "0 turns the cooldown off."),
    ("rate_limit_per_minute", "Balance changes per minute", "Per member; 0 turns it off."),
    ("timezone", "Timezone", "When the daily day starts, e.g. Europe/Berlin."),
)
# Which field a domain refusal belongs to (anything else is shown above the form).
FIELD_OF_CODE = {"invalid_timezone": "timezone", "invalid_id": "role_rewards"}
# Fields a refusal may name with its ``setting`` (a bad channel or role, e.g.).
SETTING_FIELDS = frozenset(
    {"role_rewards", "admin_role_ids", "moderator_role_ids", "features", *CHANNEL_SETTINGS}
)
# (setting, label, help) of the channel pickers, in the order the page shows them.
CHANNEL_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("log_channel_id", "Log channel", "Where the bot posts admin money actions and problems."),
    ("shop_channel_id", "Shop channel", "Where the shop's items are posted."),
    ("task_channel_id", "Task channel", "Where tasks are posted."),
)
# The fields that take whole numbers (the rest are texts), read from the settings' own types.
NUMERIC_FIELDS = frozenset(
    name for name, _, _ in SCALAR_FIELDS if isinstance(getattr(EconomyConfig(), name), int)
)


@dataclass
class Row:
    key: str
    value: str


@dataclass
class SettingsForm:
    """What the page shows: raw values (so a rejected form keeps what was typed) and errors."""

    values: dict[str, str]
    streaks: list[Row]
    rewards: list[Row]
    admin_roles: list[str] = field(default_factory=list)
    moderator_roles: list[str] = field(default_factory=list)
    channels: dict[str, str] = field(default_factory=dict)
    # None when the form did not show the toggles (nothing to change).
    features: dict[str, bool] | None = None
    # The settings' version the form was made from ("" from a form without one).
    version: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    # After a stale save: (setting, value now, value typed) of what differs.
    changed: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def expected_version(self) -> int | None:
        version = parse_whole(self.version, max_digits=9)
        return version if version is not None and version >= 0 else None

    @property
    def numeric(self) -> frozenset[str]:
        return NUMERIC_FIELDS

    @classmethod
    def from_config(cls, config: EconomyConfig) -> SettingsForm:
        return cls(
            values={name: str(getattr(config, name)) for name, _, _ in SCALAR_FIELDS},
            streaks=[Row(str(d), str(m)) for d, m in sorted(config.streak_bonuses.items())],
            rewards=[
                Row(role, str(threshold))
                for role, threshold in sorted(config.role_rewards.items(), key=lambda i: i[1])
            ],
            admin_roles=list(config.admin_role_ids),
            moderator_roles=list(config.moderator_role_ids),
            channels={name: getattr(config, name) or "" for name in CHANNEL_SETTINGS},
            features=dict(config.features),
            version=str(config.version),
        )

    @classmethod
    def from_form(cls, form: FormData) -> SettingsForm:
        def texts(name: str) -> list[str]:
            return [v.strip() if isinstance(v, str) else "" for v in form.getlist(name)]

        def rows(keys: str, values: str) -> list[Row]:
            pairs = zip(texts(keys), texts(values), strict=False)
            return [Row(k, v) for k, v in pairs if k or v]

        values = {name: str(form.get(name, "") or "").strip() for name, _, _ in SCALAR_FIELDS}

        def roles(checked: str, typed: str) -> list[str]:
            # Checkboxes of the roles with names; a text of ids when nothing names them.
            ids = " ".join(texts(typed)).replace(",", " ").split()
            return list(dict.fromkeys([r for r in texts(checked) if r] + ids))

        # Unchecked toggles send nothing: ``features_shown`` says the form had them.
        shown = bool(texts("features_shown"))
        return cls(
            values,
            rows("streak_days", "streak_multiplier"),
            rows("reward_role", "reward_min"),
            roles("admin_role", "admin_role_ids"),
            roles("moderator_role", "moderator_role_ids"),
            {n: str(form.get(n, "") or "").strip() for n in CHANNEL_SETTINGS if n in form},
            {name: bool(texts(f"feature_{name}")) for name in FEATURE_TOGGLES} if shown else None,
            str(form.get("version", "") or "").strip(),
        )

    def _shown(self) -> dict[str, str]:
        """Every setting as one line of text, to compare two forms."""
        labels = {name: label for name, label, _ in SCALAR_FIELDS} | {
            name: label for name, label, _ in CHANNEL_FIELDS
        }
        shown = {labels[name]: value for name, value in self.values.items()}
        shown |= {labels[name]: value for name, value in self.channels.items()}
        shown["Streak bonuses"] = ", ".join(f"{r.key}: ×{r.value}" for r in self.streaks)
        shown["Role rewards"] = ", ".join(f"{r.key} from {r.value}" for r in self.rewards)
        shown["Admin roles"] = " ".join(self.admin_roles)
        shown["Moderator roles"] = " ".join(self.moderator_roles)
        if self.features is not None:
            shown["Features on"] = ", ".join(n for n, on in self.features.items() if on)
        return shown

    def stale(self, now: EconomyConfig) -> None:
        """Someone saved the settings since this form was made: list what differs from the
        typed values (which stay in the form) and carry the current version, so saving
        again is a deliberate choice."""
        current = SettingsForm.from_config(now)
        if self.features is None:
            current.features = None
        typed, saved = self._shown(), current._shown()
        self.changed = [
            (label, saved.get(label, ""), value)
            for label, value in typed.items()
            if saved.get(label, "") != value
        ]
        self.version = current.version

    def _table(self, name: str, rows: list[Row], what: str) -> dict[str, str] | None:
        table: dict[str, str] = {}
        for number, row in enumerate(rows, start=1):
            if not row.key or not row.value:
                self.errors[name] = f"Row {number}: fill in both the {what} and the amount."
                return None
            if row.key in table:
                self.errors[name] = f"Row {number}: {row.key} appears twice."
                return None
            table[row.key] = row.value
        return table

    def changes(self) -> dict[str, Any] | None:
        """The validated changes, or None with ``errors`` filled in."""
        data: dict[str, Any] = dict(self.values)
        for name in NUMERIC_FIELDS & data.keys():
            # Numbers are read as the API reads JSON (ASCII digits), never with int(); longer
            # than the bound, still a number, so the schema's range message applies.
            number = parse_whole(data[name], max_digits=32) if data[name] else None
            if data[name] and number is None:
                self.errors[name] = NOT_WHOLE
            data[name] = data[name] if number is None else number
        streaks = self._table("streak_bonuses", self.streaks, "days")
        rewards = self._table("role_rewards", self.rewards, "role")
        if streaks is None or rewards is None:
            return None
        data["streak_bonuses"], data["role_rewards"] = streaks, rewards
        for name, chosen in (
            ("admin_role_ids", self.admin_roles),
            ("moderator_role_ids", self.moderator_roles),
        ):
            if len(chosen) > MAX_ADMIN_ROLES:
                what = name.split("_")[0]
                self.errors[name] = f"Choose at most {MAX_ADMIN_ROLES} {what} roles."
                return None
            data[name] = chosen
        typed_ids = [
            ("role_rewards", "role", list(rewards)),
            ("admin_role_ids", "role", self.admin_roles),
            ("moderator_role_ids", "role", self.moderator_roles),
            *((name, "channel", [value]) for name, value in self.channels.items() if value),
        ]
        for name, what, ids in typed_ids:
            if not all(map(is_snowflake, ids)):
                continue  # malformed ones: the schema's message below says it
            for typed in ids:
                if (problem := discord_id_problem(typed, what)) is not None:
                    self.errors.setdefault(name, problem)
        data |= {name: value or None for name, value in self.channels.items()}
        if self.features is not None:
            data["features"] = self.features
        try:
            changes = ConfigUpdate.model_validate(data).changes()
        except ValidationError as error:
            self.errors = field_errors(error) | self.errors
            return None
        return None if self.errors else changes

    def refused(self, error: GuildbankError) -> None:
        """Show a domain refusal next to its field (or above the form)."""
        setting = error.fields.get("setting")
        if setting in SETTING_FIELDS or setting in self.values:
            self.errors[str(setting)] = error.message
        else:
            self.errors[FIELD_OF_CODE.get(error.code, "form")] = error.message
