"""The squad form: raw form values in, the API's ``SquadCreate`` rules, a message per field.

The same rules as ``POST /api/guilds/{id}/squads``; domain refusals the form cannot foresee
(a name or role another squad already has) are shown next to their field too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from guildbank.core.errors import GuildbankError
from guildbank.features.squads.rules import (
    DEFAULT_SWITCH_COST,
    MAX_DESCRIPTION_LENGTH,
    MAX_EMOJI_LENGTH,
    MAX_NAME_LENGTH,
)
from guildbank.features.squads.schemas import SquadCreate, SquadOut
from guildbank.web.forms import discord_id_problem, field_errors, parse_whole

__all__ = ["SquadForm"]

TEXTS = ("name", "role_id", "emoji", "description", "switch_cost", "max_members")
# The inputs' maxlength: the rules' limits, which the schema enforces too.
MAX_LENGTHS: Mapping[str, int] = {
    "name": MAX_NAME_LENGTH,
    "emoji": MAX_EMOJI_LENGTH,
    "description": MAX_DESCRIPTION_LENGTH,
}
# Digits read as a number, so the schema's range message applies; longer input is no number.
NUMBER_DIGITS = 15
# Which field a domain refusal belongs to (anything else is shown above the form).
FIELD_OF_CODE = {
    "invalid_squad_name": "name",
    "squad_name_taken": "name",
    "invalid_squad_description": "description",
    "invalid_emoji": "emoji",
    "invalid_id": "role_id",
    "squad_role_taken": "role_id",
    "unknown_role": "role_id",
    "role_above_bot": "role_id",
    "role_managed": "role_id",
    "invalid_amount": "switch_cost",
    "invalid_max_members": "max_members",
    "max_members_below_count": "max_members",
}
LABELS: Mapping[str, str] = {
    "name": "Name",
    "role_id": "Discord role",
    "emoji": "Emoji",
    "description": "Description",
    "switch_cost": "Switch cost",
    "max_members": "Most members",
    "is_active": "Open for joining",
}


def _number(raw: str) -> int | str:
    """A typed whole number as an int (so range messages apply), anything else as typed (the
    schema, strict about ints, then says "Enter a whole number")."""
    number = parse_whole(raw, max_digits=NUMBER_DIGITS)
    return raw if number is None else number


@dataclass
class SquadForm:
    """What the form shows: raw values (a refused form keeps what was typed) and errors."""

    values: dict[str, str]
    active: bool = True
    errors: dict[str, str] = field(default_factory=dict)
    # The squad's version the form was made from ("" for a new squad or a form without one).
    version: str = ""
    # After a stale save: (field label, value now, value typed) of what differs.
    changed: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def max_lengths(self) -> Mapping[str, int]:
        return MAX_LENGTHS

    @classmethod
    def blank(cls) -> SquadForm:
        return cls(dict.fromkeys(TEXTS, "") | {"switch_cost": str(DEFAULT_SWITCH_COST)})

    @classmethod
    def from_view(cls, view: SquadOut) -> SquadForm:
        return cls(
            {
                "name": view.name,
                "role_id": view.role_id,
                "emoji": view.emoji or "",
                "description": view.description,
                "switch_cost": str(view.switch_cost),
                "max_members": "" if view.max_members is None else str(view.max_members),
            },
            view.is_active,
            version=view.version,
        )

    @classmethod
    def from_form(cls, form: FormData) -> SquadForm:
        values = {}
        for name in TEXTS:
            value = form.get(name, "")
            values[name] = value.strip() if isinstance(value, str) else ""
        version = form.get("version", "")
        return cls(
            values,
            form.get("is_active") == "1",
            version=version.strip()[:40] if isinstance(version, str) else "",
        )

    def stale(self, now: SquadOut) -> None:
        """Someone saved the squad since this form was made: say what differs from the
        typed values (kept), and carry the current version, so saving again is a choice."""
        current = SquadForm.from_view(now)
        self.changed = [
            (LABELS[name], current.values[name], typed)
            for name, typed in self.values.items()
            if current.values[name] != typed
        ]
        self.version = now.version

    def validated(self) -> dict[str, Any] | None:
        """The squad's fields as the service takes them, or None with ``errors`` filled in."""
        data: dict[str, Any] = {
            "name": self.values["name"],
            "role_id": self.values["role_id"],
            "description": self.values["description"],
            "emoji": self.values["emoji"] or None,
            "switch_cost": _number(self.values["switch_cost"]),
            "max_members": _number(self.values["max_members"])
            if self.values["max_members"]
            else None,
            "is_active": self.active,
        }
        role = self.values["role_id"]
        if role and (problem := discord_id_problem(role, "role")) is not None:
            self.errors["role_id"] = problem
        try:
            fields = SquadCreate.model_validate(data).model_dump(exclude={"actor_id"})
        except ValidationError as error:
            self.errors = field_errors(error) | self.errors  # the form's own message wins
            return None
        return None if self.errors else fields

    def refused(self, error: GuildbankError) -> None:
        """Show a domain refusal next to its field (or above the form)."""
        self.errors[FIELD_OF_CODE.get(error.code, "form")] = error.message
