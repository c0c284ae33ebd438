"""Form helpers every dashboard page shares: a dashboard form parses through its feature's API
schema, and this turns the schema's refusals into one plain message per field.

It also reads what schemas cannot see typed: whole numbers (``parse_whole`` from ``core.text``:
ASCII digits only, as the API's JSON, never Python's ``int()``, which reads ``"１２"`` as 12) and
free text that bypasses a schema (``text_problem``: the control-character rule of ``core.text``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from guildbank.core import ids
from guildbank.core.schemas import CONTROL_CHARACTER
from guildbank.core.text import (
    MAX_DIGITS,
    describe_character,
    forbidden_character,
    normalize_newlines,
    parse_whole,
)

__all__ = [
    "MAX_DIGITS",
    "NOT_WHOLE",
    "discord_id_problem",
    "field_errors",
    "number_text",
    "parse_whole",
    "text_problem",
]

NOT_WHOLE = "Enter a whole number."


def discord_id_problem(raw: str, what: str) -> str | None:
    """Why ``raw`` cannot be the Discord id of a ``what`` ("member", "role"…), or None."""
    if not ids.is_snowflake(raw):
        return f"Enter a Discord {what} id (digits only)."
    if int(raw) < ids.MIN_DISCORD_ID:
        # Discord ids carry their creation time since 2015: a typed "1" or "999" is a typo.
        digits = f"{ids.MIN_DIGITS} to {ids.MAX_DIGITS} digits"
        return f"{raw} is not a Discord {what} id: those have {digits}."
    return None


def number_text(value: int) -> str:
    """A limit as a message prints it: 1,000,000,000,000."""
    return f"{value:,}"


def text_problem(raw: str, *, multiline: bool = False) -> str | None:
    """What is wrong with free text a form passes on without a schema, or None."""
    found = forbidden_character(normalize_newlines(raw) if multiline else raw, multiline=multiline)
    if found is None:
        return None
    return f"Remove the control character ({describe_character(found)})."


def _limit(value: object) -> str:
    return number_text(value) if isinstance(value, int) else str(value)


def _plus_one(value: object) -> object:
    return value + 1 if isinstance(value, int) else value


def _at_least(value: object) -> str:
    """ "Must be positive" says more than "at least 1"; other bounds as numbers."""
    if value == 1:
        return "Must be positive (at least 1)."
    return f"Must be at least {_limit(value)}."


def _field_message(problem: Mapping[str, Any]) -> str:
    """One pydantic problem as a sentence for the person filling in the form."""
    limits = problem.get("ctx") or {}
    messages = {
        "int_parsing": NOT_WHOLE,
        "int_type": NOT_WHOLE,
        "greater_than_equal": _at_least(limits.get("ge")),
        "greater_than": _at_least(_plus_one(limits.get("gt"))),
        "less_than_equal": f"Must be at most {_limit(limits.get('le'))}.",
        "string_too_short": "This cannot be empty.",
        "string_too_long": f"At most {limits.get('max_length')} characters.",
        "too_long": f"At most {limits.get('max_length')} rows.",
        "string_pattern_mismatch": "Must be a Discord id (digits only).",
        CONTROL_CHARACTER: f"Remove the control character ({limits.get('character')}).",
    }
    found = messages.get(str(problem.get("type")))
    if found is not None:
        return found
    text = str(problem.get("msg", "Invalid value."))
    return text.removeprefix("Value error, ").rstrip(".") + "."


def field_errors(error: ValidationError) -> dict[str, str]:
    """The first problem of each top-level field, by field name."""
    errors: dict[str, str] = {}
    for problem in error.errors():
        errors.setdefault(str(problem["loc"][0]), _field_message(problem))
    return errors
