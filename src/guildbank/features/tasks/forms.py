"""The task form: raw form values in, the API's ``TaskCreate`` rules, a message per field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from guildbank.core.errors import GuildbankError
from guildbank.features.tasks.rules import (
    MAX_CATEGORY_LENGTH,
    MAX_DESCRIPTION_LENGTH,
    MAX_NAME_LENGTH,
)
from guildbank.features.tasks.schemas import TaskCreate, TaskOut
from guildbank.web.forms import field_errors, parse_whole

__all__ = ["TaskForm"]

TEXTS = (
    "name",
    "description",
    "reward",
    "duration_hours",
    "max_claims",
    "category",
    "channel_id",
    "role_id",
)
MAX_LENGTHS: Mapping[str, int] = {
    "name": MAX_NAME_LENGTH,
    "description": MAX_DESCRIPTION_LENGTH,
    "category": MAX_CATEGORY_LENGTH,
}
NUMBER_DIGITS = 15
FIELD_OF_CODE = {
    "invalid_task_name": "name",
    "invalid_task_description": "description",
    "invalid_amount": "reward",
    "invalid_duration": "duration_hours",
    "invalid_max_claims": "max_claims",
    "invalid_category": "category",
    "unknown_channel": "channel_id",
    "not_a_text_channel": "channel_id",
    "channel_of_other_guild": "channel_id",
    "unknown_role": "role_id",
    "role_above_bot": "role_id",
    "role_managed": "role_id",
}


def _number(raw: str) -> int | str:
    number = parse_whole(raw, max_digits=NUMBER_DIGITS)
    return raw if number is None else number


@dataclass
class TaskForm:
    """What the form shows: raw values (a refused form keeps what was typed) and errors."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def max_lengths(self) -> Mapping[str, int]:
        return MAX_LENGTHS

    @classmethod
    def blank(cls) -> TaskForm:
        return cls(dict.fromkeys(TEXTS, "") | {"duration_hours": "24", "reward": "100"})

    @classmethod
    def from_view(cls, view: TaskOut) -> TaskForm:
        return cls(
            {
                "name": view.name,
                "description": view.description,
                "reward": str(view.reward),
                "duration_hours": str(view.duration_hours),
                "max_claims": "" if view.max_claims == -1 else str(view.max_claims),
                "category": view.category or "",
                "channel_id": view.channel_id or "",
                "role_id": view.role_id or "",
            }
        )

    @classmethod
    def from_form(cls, form: FormData) -> TaskForm:
        values = {}
        for name in TEXTS:
            value = form.get(name, "")
            values[name] = value.strip() if isinstance(value, str) else ""
        return cls(values)

    def validated(self) -> dict[str, Any] | None:
        """The task's fields as the service takes them, or None with ``errors`` filled in."""
        data: dict[str, Any] = {
            "name": self.values["name"],
            "description": self.values["description"],
            "reward": _number(self.values["reward"]),
            "duration_hours": _number(self.values["duration_hours"]),
            "max_claims": _number(self.values["max_claims"]) if self.values["max_claims"] else -1,
            "category": self.values["category"] or None,
            "channel_id": self.values["channel_id"] or None,
            "role_id": self.values["role_id"] or None,
        }
        try:
            return TaskCreate.model_validate(data).model_dump(exclude={"actor_id"})
        except ValidationError as error:
            self.errors = field_errors(error) | self.errors
            return None

    def refused(self, error: GuildbankError) -> None:
        self.errors[FIELD_OF_CODE.get(error.code, "form")] = error.message
