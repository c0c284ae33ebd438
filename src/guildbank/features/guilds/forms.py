"""The settings form: what the admin typed, re-shown with per-field errors. It parses through
the API's ``ConfigUpdate``, so the dashboard and the API's config route refuse the same values
with the same limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from guildbank.core.errors import GuildbankError
from guildbank.features.guilds.rules import MAX_ADMIN_ROLES, EconomyConfig
from guildbank.features.guilds.schemas import ConfigUpdate
from guildbank.web.forms import field_errors

__all__ = ["SCALAR_FIELDS", "SettingsForm"]

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
    errors: dict[str, str] = field(default_factory=dict)

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
        )

    @classmethod
    def from_form(cls, form: FormData) -> SettingsForm:
        def texts(name: str) -> list[str]:
            return [v.strip() if isinstance(v, str) else "" for v in form.getlist(name)]

        def rows(keys: str, values: str) -> list[Row]:
            pairs = zip(texts(keys), texts(values), strict=False)
            return [Row(k, v) for k, v in pairs if k or v]

        values = {name: str(form.get(name, "") or "").strip() for name, _, _ in SCALAR_FIELDS}
        # Checkboxes of the roles Discord named; a text of ids when Discord could not name them.
        typed = " ".join(texts("admin_role_ids")).replace(",", " ").split()
        admin_roles = list(dict.fromkeys([r for r in texts("admin_role") if r] + typed))
        return cls(
            values,
            rows("streak_days", "streak_multiplier"),
            rows("reward_role", "reward_min"),
            admin_roles,
        )

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
        streaks = self._table("streak_bonuses", self.streaks, "days")
        rewards = self._table("role_rewards", self.rewards, "role")
        if streaks is None or rewards is None:
            return None
        data["streak_bonuses"], data["role_rewards"] = streaks, rewards
        if len(self.admin_roles) > MAX_ADMIN_ROLES:
            self.errors["admin_role_ids"] = f"Choose at most {MAX_ADMIN_ROLES} admin roles."
            return None
        data["admin_role_ids"] = self.admin_roles
        try:
            return ConfigUpdate.model_validate(data).changes()
        except ValidationError as error:
            self.errors = field_errors(error) | self.errors
            return None

    def refused(self, error: GuildbankError) -> None:
        """Show a domain refusal next to its field (or above the form)."""
        self.errors[FIELD_OF_CODE.get(error.code, "form")] = error.message
