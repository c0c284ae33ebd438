"""The squad form: raw form values in, the API's ``SquadCreate`` rules, a message per field.

The same rules as ``POST /api/guilds/{id}/squads``; domain refusals the form cannot foresee
(a name or role another squad already has) are shown next to their field too.
"""

from __future__ import annotations

import re
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
from guildbank.web.forms import field_errors

__all__ = ["SquadForm"]

TEXTS = ("name", "role_id", "emoji", "description", "switch_cost", "max_members")
# The inputs' maxlength: the rules' limits, which the schema enforces too.
MAX_LENGTHS: Mapping[str, int] = {
    "name": MAX_NAME_LENGTH,
    "emoji": MAX_EMOJI_LENGTH,
    "description": MAX_DESCRIPTION_LENGTH,
}
# Digits read as a number, so the schema's range message applies; longer input is no number.
WHOLE = re.compile(r"-?\d{1,15}")
# Which field a domain refusal belongs to (anything else is shown above the form).
FIELD_OF_CODE = {
    "invalid_squad_name": "name",
    "squad_name_taken": "name",
    "invalid_squad_description": "description",
    "invalid_emoji": "emoji",
    "invalid_id": "role_id",
    "squad_role_taken": "role_id",
    "invalid_amount": "switch_cost",
    "invalid_max_members": "max_members",
}


def _number(raw: str) -> int | str:
    """A typed whole number as an int (so range messages apply), anything else as typed."""
    return int(raw) if WHOLE.fullmatch(raw) else raw


@dataclass
class SquadForm:
    """What the form shows: raw values (a refused form keeps what was typed) and errors."""

    values: dict[str, str]
    active: bool = True
    errors: dict[str, str] = field(default_factory=dict)

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
        )

    @classmethod
    def from_form(cls, form: FormData) -> SquadForm:
        values = {}
        for name in TEXTS:
            value = form.get(name, "")
            values[name] = value.strip() if isinstance(value, str) else ""
        return cls(values, form.get("is_active") == "1")

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
        try:
            return SquadCreate.model_validate(data).model_dump(exclude={"actor_id"})
        except ValidationError as error:
            self.errors = field_errors(error) | self.errors
            return None

    def refused(self, error: GuildbankError) -> None:
        """Show a domain refusal next to its field (or above the form)."""
        self.errors[FIELD_OF_CODE.get(error.code, "form")] = error.message
