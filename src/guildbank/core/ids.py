"""Discord snowflake ids: digits only, fitting a signed 64-bit integer; and the stricter rule
for the id of a real member, role, channel or server.

A Discord id carries its creation time (milliseconds since 2015, shifted left 22 bits), so
every real one has at least 17 digits: a shorter number ("1", "999") is a typo. The API's
bodies (``core.schemas.Snowflake``) and the dashboard's forms (``web.forms``) refuse those,
the API with ``snowflake_problem``'s reason. ``is_snowflake`` stays the looser "can be stored
and compared safely" check that lookups use.
"""

from __future__ import annotations

import re

__all__ = [
    "DISCORD_ID_PATTERN",
    "MAX_DIGITS",
    "MAX_SNOWFLAKE",
    "MIN_DIGITS",
    "MIN_DISCORD_ID",
    "SNOWFLAKE_PATTERN",
    "is_discord_id",
    "is_snowflake",
    "snowflake_problem",
]

MAX_SNOWFLAKE = 2**63 - 1
# The smallest number with 17 digits: every id Discord gave since early 2015 is above it.
MIN_DISCORD_ID = 10**16
MIN_DIGITS, MAX_DIGITS = len(str(MIN_DISCORD_ID)), len(str(MAX_SNOWFLAKE))


def _at_most(limit: int, *, min_digits: int = 1) -> str:
    """A regular expression for the decimal numbers of at least ``min_digits`` digits up to
    ``limit`` (no leading zeros): all numbers shorter than ``limit``, then each way a number
    as long as ``limit`` stays at or below it."""
    digits = str(limit)
    alternatives = [f"[1-9][0-9]{{{min_digits - 1},{len(digits) - 2}}}"]
    for i, digit in enumerate(digits):
        low = 1 if i == 0 else 0
        if int(digit) > low:
            rest = len(digits) - i - 1
            tail = f"[0-9]{{{rest}}}" if rest else ""
            alternatives.append(f"{digits[:i]}[{low}-{int(digit) - 1}]{tail}")
    alternatives.append(digits)
    return "|".join(alternatives)


# What validators of member, role and channel ids in paths and queries check: 17 to 20 digits
# (then ``is_snowflake`` bounds the value, with a readable message).
SNOWFLAKE_PATTERN = r"^[1-9][0-9]{16,19}$"
# Exactly the ids of real members, roles, channels and servers (17 digits up to 2**63 - 1).
DISCORD_ID_PATTERN = f"^(?:{_at_most(MAX_SNOWFLAKE, min_digits=MIN_DIGITS)})$"
_DIGITS = re.compile(r"[1-9][0-9]{0,19}")


def is_snowflake(value: str) -> bool:
    """Whether ``value`` is a plausible Discord id (so it can be stored and compared safely)."""
    return bool(_DIGITS.fullmatch(value)) and int(value) <= MAX_SNOWFLAKE


def is_discord_id(value: str) -> bool:
    """Whether ``value`` can be the id of a real member, role, channel or server."""
    return snowflake_problem(value) is None


def snowflake_problem(value: str) -> str | None:
    """Why ``value`` cannot be the id of a member, role, channel or server (a sentence an API
    error shows), or None."""
    if not _DIGITS.fullmatch(value):
        return "Must be a Discord id: digits only, not starting with 0"
    if int(value) < MIN_DISCORD_ID:
        return (
            f"Must be a Discord id: {value} is too short, Discord ids have {MIN_DIGITS} to "
            f"{MAX_DIGITS} digits (copy it with Discord's developer mode)"
        )
    if int(value) > MAX_SNOWFLAKE:
        return f"Must be a Discord id: at most {MAX_SNOWFLAKE}"
    return None
