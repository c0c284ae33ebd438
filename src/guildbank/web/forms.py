"""Form helpers every dashboard page shares: a dashboard form parses through its feature's API
schema, and this turns the schema's refusals into one plain message per field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

__all__ = ["field_errors"]


def _field_message(problem: Mapping[str, Any]) -> str:
    """One pydantic problem as a sentence for the person filling in the form."""
    limits = problem.get("ctx") or {}
    messages = {
        "int_parsing": "Enter a whole number.",
        "int_type": "Enter a whole number.",
        "greater_than_equal": f"Must be at least {limits.get('ge')}.",
        "less_than_equal": f"Must be at most {limits.get('le')}.",
        "string_too_short": "This cannot be empty.",
        "string_too_long": f"At most {limits.get('max_length')} characters.",
        "too_long": f"At most {limits.get('max_length')} rows.",
        "string_pattern_mismatch": "Must be a Discord id (digits only).",
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
