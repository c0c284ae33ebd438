"""One root error; each subclass has a stable machine ``code`` and typed fields.

Adapters translate these in one place each (JSON in the API, an ephemeral message in
Discord, a flash in the dashboard); nothing below the adapters knows about HTTP.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

__all__ = [
    "AlreadyClaimed",
    "AlreadyInSquad",
    "AlreadyReversed",
    "CooldownActive",
    "GuildNotFound",
    "GuildbankError",
    "IdempotencyKeyReused",
    "InsufficientBalance",
    "InvalidInput",
    "NotFound",
    "NotInSquad",
    "PermissionDenied",
    "RateLimited",
    "SquadConflict",
    "SquadFull",
    "SquadInactive",
    "SquadNotEmpty",
    "SquadNotFound",
    "TransactionNotFound",
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


class GuildNotFound(NotFound):
    code: ClassVar[str] = "guild_not_found"

    def __init__(self, guild_id: str) -> None:
        super().__init__(f"Guild {guild_id!r} not found", guild_id=guild_id)


class TransactionNotFound(NotFound):
    code: ClassVar[str] = "transaction_not_found"

    def __init__(self, transaction_id: int) -> None:
        super().__init__(f"Transaction {transaction_id} not found", transaction_id=transaction_id)


class InsufficientBalance(GuildbankError):
    code: ClassVar[str] = "insufficient_balance"
    kind: ClassVar[ErrorKind] = "invalid"

    def __init__(
        self, *, available: int, needed: int, currency: str = "bytes", verb: str = "use"
    ) -> None:
        super().__init__(
            f"You have {available} {currency}; you tried to {verb} {needed} "
            "(insufficient balance).",
            available=available,
            needed=needed,
        )


class AlreadyClaimed(GuildbankError):
    code: ClassVar[str] = "already_claimed"
    kind: ClassVar[ErrorKind] = "conflict"

    def __init__(self, *, retry_after_seconds: int) -> None:
        hours, rest = divmod(retry_after_seconds, 3600)
        super().__init__(
            f"Daily reward already claimed today; the next one is available in {hours}h "
            f"{rest // 60}m.",
            retry_after_seconds=retry_after_seconds,
        )


class CooldownActive(GuildbankError):
    code: ClassVar[str] = "transfer_cooldown"
    kind: ClassVar[ErrorKind] = "conflict"

    def __init__(self, *, retry_after_seconds: int) -> None:
        super().__init__(
            f"You can send again in {-(-retry_after_seconds // 60)} minute(s) (transfer cooldown).",
            retry_after_seconds=retry_after_seconds,
        )


class RateLimited(GuildbankError):
    code: ClassVar[str] = "rate_limited"
    kind: ClassVar[ErrorKind] = "rate_limited"

    def __init__(self, *, retry_after_seconds: int) -> None:
        super().__init__(
            f"Too many balance changes; try again in {retry_after_seconds} seconds.",
            retry_after_seconds=retry_after_seconds,
        )


class AlreadyReversed(GuildbankError):
    code: ClassVar[str] = "already_reversed"
    kind: ClassVar[ErrorKind] = "conflict"

    def __init__(self, transaction_id: int) -> None:
        super().__init__(
            f"Transaction {transaction_id} has already been reversed",
            transaction_id=transaction_id,
        )


class IdempotencyKeyReused(GuildbankError):
    code: ClassVar[str] = "idempotency_key_reused"
    kind: ClassVar[ErrorKind] = "conflict"

    def __init__(self) -> None:
        super().__init__("This Idempotency-Key was already used for a different request")


class PermissionDenied(GuildbankError):
    code: ClassVar[str] = "forbidden"
    kind: ClassVar[ErrorKind] = "forbidden"


# --- Squads -------------------------------------------------------------------------------


class SquadNotFound(NotFound):
    code: ClassVar[str] = "squad_not_found"

    def __init__(self, squad_id: int | str) -> None:
        super().__init__(f"Squad {squad_id} not found", squad_id=squad_id)


class NotInSquad(NotFound):
    code: ClassVar[str] = "not_in_squad"

    def __init__(self, user_id: str) -> None:
        super().__init__("You are not in a squad.", user_id=user_id)


class SquadFull(GuildbankError):
    code: ClassVar[str] = "squad_full"
    kind: ClassVar[ErrorKind] = "conflict"

    def __init__(self, *, squad_id: int, name: str, max_members: int) -> None:
        super().__init__(
            f"{name} is full ({max_members} members).",
            squad_id=squad_id,
            max_members=max_members,
        )


class SquadInactive(GuildbankError):
    code: ClassVar[str] = "squad_inactive"
    kind: ClassVar[ErrorKind] = "conflict"

    def __init__(self, *, squad_id: int, name: str) -> None:
        super().__init__(f"{name} is not accepting members.", squad_id=squad_id)


class AlreadyInSquad(GuildbankError):
    code: ClassVar[str] = "already_in_squad"
    kind: ClassVar[ErrorKind] = "conflict"

    def __init__(self, *, squad_id: int, name: str) -> None:
        super().__init__(f"You are already in {name}.", squad_id=squad_id)


class SquadNotEmpty(GuildbankError):
    """Deleting a squad with members needs an explicit move or kick, never a silent drop."""

    code: ClassVar[str] = "squad_not_empty"
    kind: ClassVar[ErrorKind] = "conflict"

    def __init__(self, *, squad_id: int, members: int) -> None:
        super().__init__(
            f"Squad {squad_id} still has {members} member(s); move them to another squad "
            "or remove them first.",
            squad_id=squad_id,
            members=members,
        )


class SquadConflict(GuildbankError):
    """A name or role already used by another squad of the guild."""

    kind: ClassVar[ErrorKind] = "conflict"

    def __init__(self, message: str, *, code: str, **fields: Any) -> None:
        super().__init__(message, **fields)
        self.code = code  # type: ignore[misc]
