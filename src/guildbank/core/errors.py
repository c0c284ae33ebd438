"""One root error; each subclass has a stable machine ``code`` and typed fields.

Adapters translate these in one place each (JSON in the API, an ephemeral message in
Discord, a flash in the dashboard); nothing below the adapters knows about HTTP. Features
add their own subclasses in their ``errors`` module.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

__all__ = [
    "GuildbankError",
    "IdempotencyKeyReused",
    "InvalidInput",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
]

ErrorKind = Literal["invalid", "not_found", "conflict", "forbidden", "rate_limited", "unauthorized"]


class GuildbankError(Exception):
    """Root of every error a user or caller can be told about."""

    code: ClassVar[str] = "error"
    kind: ClassVar[ErrorKind] = "invalid"

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields

    def __str__(self) -> str:
        return self.message


class InvalidInput(GuildbankError):
    """A request that breaks a business rule about its own values."""

    kind: ClassVar[ErrorKind] = "invalid"

    def __init__(self, message: str, *, code: str = "invalid_input", **fields: Any) -> None:
        super().__init__(message, **fields)
        self.code = code  # type: ignore[misc]


class NotFound(GuildbankError):
    code: ClassVar[str] = "not_found"
    kind: ClassVar[ErrorKind] = "not_found"


class RateLimited(GuildbankError):
    code: ClassVar[str] = "rate_limited"
    kind: ClassVar[ErrorKind] = "rate_limited"

    def __init__(self, *, retry_after_seconds: int) -> None:
        super().__init__(
            f"Too many balance changes; try again in {retry_after_seconds} seconds.",
            retry_after_seconds=retry_after_seconds,
        )


class IdempotencyKeyReused(GuildbankError):
    code: ClassVar[str] = "idempotency_key_reused"
    kind: ClassVar[ErrorKind] = "conflict"

    def __init__(self, differences: Sequence[str] = ()) -> None:
        """``differences``: what differs from the key's first request (``method``, ``path``,
        ``body`` or ``body.<field>``)."""
        named = f" (different {', '.join(differences)})" if differences else ""
        super().__init__(
            f"This Idempotency-Key was already used for a different request{named}",
            differences=list(differences),
        )


class PermissionDenied(GuildbankError):
    code: ClassVar[str] = "forbidden"
    kind: ClassVar[ErrorKind] = "forbidden"
