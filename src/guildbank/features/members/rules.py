"""The members feature's rules, pure: how far back a cleanup may look, what a list may ask
for, the words that confirm an economy reset, and the ledger types of both."""

from __future__ import annotations

from typing import Literal

from guildbank.core.errors import InvalidInput
from guildbank.ledger.types import TransactionType

__all__ = [
    "CLEANUP",
    "MAX_DAYS",
    "MAX_DISPLAY_NAME",
    "MAX_PER_PAGE",
    "MAX_SEARCH",
    "RESET",
    "RESET_WORD",
    "SORTS",
    "MemberSort",
    "MemberStatus",
    "check_days",
    "check_reset_confirmation",
    "check_search",
    "clean_display_name",
]

MemberSort = Literal["balance", "received", "sent", "streak", "joined", "newest", "oldest"]
MemberStatus = Literal["active", "inactive", "all"]
SORTS: tuple[MemberSort, ...] = ("balance", "received", "sent", "streak", "joined", "newest")
MAX_PER_PAGE = 100
MAX_SEARCH = 100
MAX_DISPLAY_NAME = 100
# A cleanup looks at members gone at least this many days (0: every member who left).
MAX_DAYS = 36_500
RESET_WORD = "RESET"


# A departed member's balance going back to the mint; every member's, in an economy reset.
CLEANUP = TransactionType.CLEANUP
RESET = TransactionType.RESET


def check_days(days: int) -> int:
    """Days a member must have been gone before a cleanup takes their balance."""
    if not 0 <= days <= MAX_DAYS:
        raise InvalidInput(f"days must be between 0 and {MAX_DAYS:,}", code="invalid_days")
    return days


def check_search(text: str | None) -> str | None:
    """A search text, trimmed; None when empty."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    if len(text) > MAX_SEARCH:
        raise InvalidInput(f"A search is at most {MAX_SEARCH} characters", code="invalid_search")
    return text


def clean_display_name(name: str | None) -> str | None:
    """A display name as stored: one line, trimmed, at most ``MAX_DISPLAY_NAME`` characters."""
    if name is None:
        return None
    name = " ".join(name.split())[:MAX_DISPLAY_NAME]
    return name or None


def check_reset_confirmation(typed: str, *, guild_name: str | None = None) -> None:
    """An economy reset happens only when the admin typed ``RESET`` (or the server's name)."""
    accepted = {RESET_WORD} | ({guild_name.strip()} if guild_name and guild_name.strip() else set())
    if typed.strip() not in accepted:
        shown = f'"{RESET_WORD}"' + (f' or the server\'s name "{guild_name}"' if guild_name else "")
        raise InvalidInput(
            f"To reset the economy, type {shown} exactly.", code="reset_not_confirmed"
        )
