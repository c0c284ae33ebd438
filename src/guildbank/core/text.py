"""Which characters free text may hold, and how typed numbers are read: one rule each for the
API's schemas, the dashboard's forms, the bot, the services and names arriving from Discord
(docs/amounts-and-text.md).

Refused everywhere: control characters (Unicode category Cc: U+0000-U+001F, U+007F-U+009F)
and lone surrogates (Cs). PostgreSQL cannot store NUL, no UTF-8 database can store a lone
surrogate, and the other controls break the one-line places text is shown in (Discord
embeds, the dashboard's tables, CSV exports, logs). Multi-line texts (a squad's description)
also take newline and tab; the CRLF a browser's textarea sends counts as one newline. Other
format characters stay allowed: emoji need the zero-width joiner.

A typed whole number is ASCII digits (``parse_whole``), as in the API's JSON: Python's
``int()`` and ``str.isdigit()`` also take other scripts' digits (``int("１２") == 12``).
"""

from __future__ import annotations

import re

from guildbank.core.errors import InvalidInput
from guildbank.core.limits import MAX_AMOUNT

__all__ = [
    "MAX_DIGITS",
    "MULTI_LINE_PATTERN",
    "SINGLE_LINE_PATTERN",
    "check_text",
    "describe_character",
    "forbidden_character",
    "normalize_newlines",
    "parse_whole",
    "single_line",
]

# The longest number read by default: the digits of the bound of money.
MAX_DIGITS = len(str(MAX_AMOUNT))
_WHOLE = re.compile(r"-?[0-9]+")  # [0-9], not \d: \d matches every script's digits

_SINGLE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_MULTI_LINE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")  # \t and \n allowed
# The same rules as JSON Schema patterns, for the OpenAPI document (a multi-line text also
# takes CR, stored as a newline). Without the surrogates: Unicode regex engines (Rust's, which
# validators use) cannot name them, and a JSON text cannot hold a lone one unescaped.
SINGLE_LINE_PATTERN = r"^[^\u0000-\u001f\u007f-\u009f]*$"
MULTI_LINE_PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"


def normalize_newlines(text: str) -> str:
    """CRLF (and a lone CR) as the one newline multi-line texts keep."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def forbidden_character(text: str, *, multiline: bool = False) -> str | None:
    """The first character ``text`` may not hold, or None when it is clean."""
    found = (_MULTI_LINE if multiline else _SINGLE_LINE).search(text)
    return found.group() if found else None


def describe_character(character: str) -> str:
    """A character as people can read it in an error message, e.g. ``U+0000``."""
    return f"U+{ord(character):04X}"


def check_text(text: str, *, field: str, multiline: bool = False) -> None:
    """Refuse ``text`` holding a character the rule forbids (the services' own check)."""
    found = forbidden_character(text, multiline=multiline)
    if found is not None:
        raise InvalidInput(
            f"The {field.replace('_', ' ')} contains a control character "
            f"({describe_character(found)}); remove it.",
            code="invalid_text",
            field=field,
        )


def single_line(text: str) -> str:
    """``text`` made clean for a one-line field: each forbidden character becomes a space.

    For names Discord sends (a guild's name): they are what they are, so the bot stores a
    cleaned copy rather than refusing to know the guild.
    """
    return _SINGLE_LINE.sub(" ", text).strip()


def parse_whole(raw: str, *, max_digits: int = MAX_DIGITS) -> int | None:
    """The whole number ``raw`` spells (ASCII digits, an optional minus, at most ``max_digits``
    digits, surrounding spaces ignored); None for anything else."""
    text = raw.strip()
    if not _WHOLE.fullmatch(text) or len(text.removeprefix("-")) > max_digits:
        return None
    return int(text)
