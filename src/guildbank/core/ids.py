"""Discord snowflake ids: digits only, fitting a signed 64-bit integer."""

from __future__ import annotations

import re

__all__ = ["MAX_SNOWFLAKE", "is_snowflake"]

MAX_SNOWFLAKE = 2**63 - 1
_DIGITS = re.compile(r"[1-9][0-9]{0,19}")
SNOWFLAKE_PATTERN = r"^[1-9][0-9]{0,19}$"


def is_snowflake(value: str) -> bool:
    """Whether ``value`` is a plausible Discord id (so it can be stored and compared safely)."""
    return bool(_DIGITS.fullmatch(value)) and int(value) <= MAX_SNOWFLAKE
