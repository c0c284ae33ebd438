"""What the ledger refuses, whichever feature moves the money."""

from __future__ import annotations

from typing import ClassVar

from guildbank.core.errors import ErrorKind, GuildbankError, NotFound

__all__ = ["AlreadyReversed", "InsufficientBalance", "TransactionNotFound"]


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


class AlreadyReversed(GuildbankError):
    code: ClassVar[str] = "already_reversed"
    kind: ClassVar[ErrorKind] = "conflict"

    def __init__(self, transaction_id: int) -> None:
        super().__init__(
            f"Transaction {transaction_id} has already been reversed",
            transaction_id=transaction_id,
        )
