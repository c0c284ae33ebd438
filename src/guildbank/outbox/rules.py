"""Pure outbox rules: job kinds, dedupe keys, which shard runs a guild, the retry schedule.

Shared by the server (which stores and leases jobs) and the bot (which performs them), so
each rule is written once. No IO and no framework here.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "DM_SEND",
    "KNOWN_KINDS",
    "MESSAGE_DELETE",
    "MESSAGE_KEY_PREFIX",
    "MESSAGE_KINDS",
    "MESSAGE_PIN",
    "MESSAGE_POST",
    "MESSAGE_UNPIN",
    "PIN_KEY_PREFIX",
    "PIN_KINDS",
    "ROLE_ADD",
    "ROLE_GRANT",
    "ROLE_KINDS",
    "ROLE_REMOVE",
    "SNOWFLAKE_TIMESTAMP_SHIFT",
    "RetryPolicy",
    "message_key",
    "pin_key",
    "role_grant_key",
    "role_key",
    "shard_of",
]

# A reward role (added, never taken away); the transfer path writes these too (HELPERS.md).
ROLE_GRANT = "role.grant"
# A role a member should hold or not hold (squads): one key per member and role, so the
# newest wish replaces an older one that did not run yet.
ROLE_ADD = "role.add"
ROLE_REMOVE = "role.remove"
# A message shown for a key (edited in place, recreated when deleted) or a one-off post.
MESSAGE_POST = "message.post"
MESSAGE_DELETE = "message.delete"
# Pin or unpin the message of a key. One dedupe key for both (``pin:{key}``): the newest
# wish wins. Leased only once no post or delete of that key is open (it waits for the post).
MESSAGE_PIN = "message.pin"
MESSAGE_UNPIN = "message.unpin"

# A direct message to a member; a member whose DMs are closed is skipped, not retried.
DM_SEND = "dm.send"

ROLE_KINDS = frozenset({ROLE_GRANT, ROLE_ADD, ROLE_REMOVE})
MESSAGE_KINDS = frozenset({MESSAGE_POST, MESSAGE_DELETE})
PIN_KINDS = frozenset({MESSAGE_PIN, MESSAGE_UNPIN})
KNOWN_KINDS = ROLE_KINDS | MESSAGE_KINDS | PIN_KINDS | {DM_SEND}
MESSAGE_KEY_PREFIX, PIN_KEY_PREFIX = "message:", "pin:"

SNOWFLAKE_TIMESTAMP_SHIFT = 22


def shard_of(guild_id: str | int, shard_count: int) -> int:
    """The gateway shard a guild lives on (Discord's formula; the lease query repeats it)."""
    return (int(guild_id) >> SNOWFLAKE_TIMESTAMP_SHIFT) % shard_count


def role_grant_key(user_id: str, role_id: str) -> str:
    """The dedupe key of a reward-role grant (the transfer path's PostgreSQL function too)."""
    return f"role.grant:{user_id}:{role_id}"


def role_key(user_id: str, role_id: str) -> str:
    """The dedupe key of "this member should (not) hold this role": add and remove share it."""
    return f"role:{user_id}:{role_id}"


def message_key(key: str) -> str:
    """The dedupe key of the post and the delete of a keyed message (they coalesce)."""
    return f"{MESSAGE_KEY_PREFIX}{key}"


def pin_key(key: str) -> str:
    """The dedupe key of pinning or unpinning a keyed message (they coalesce)."""
    return f"{PIN_KEY_PREFIX}{key}"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how soon a failed job is tried again, and how long a lease lasts."""

    max_attempts: int = 8
    base_seconds: float = 5.0
    cap_seconds: float = 900.0
    lease_seconds: float = 60.0

    def delay(self, attempts: int, rng: Callable[[], float] = random.random) -> float:
        """Seconds before attempt ``attempts + 1``: exponential, capped, with "equal jitter"
        (half fixed, half random) so workers that failed together do not retry together."""
        ceiling = min(self.cap_seconds, self.base_seconds * 2.0 ** max(0, attempts - 1))
        return float(ceiling / 2 + rng() * ceiling / 2)
