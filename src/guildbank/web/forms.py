"""Form helpers every dashboard page shares."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["field_message"]


def field_message(problem: Mapping[str, Any]) -> str:
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
