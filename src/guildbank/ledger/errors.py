"""What the ledger refuses, whichever feature moves the money."""

from __future__ import annotations

from typing import ClassVar

from guildbank.core.errors import ErrorKind, GuildbankError, NotFound
from guildbank.core.limits import MAX_AMOUNT

__all__ = [
    "AlreadyReversed",
    "AmountOutOfRange",
    "BalanceLimit",
    "InsufficientBalance",
    "TransactionNotFound",
]


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


class AmountOutOfRange(GuildbankError):
    """A posting would move an amount beyond the one bound of money (``core.limits``): e.g. a
    daily award from settings stored before the bound existed. Nothing is recorded."""

    code: ClassVar[str] = "amount_out_of_range"
    kind: ClassVar[ErrorKind] = "conflict"

    def __init__(self, amount: int | None = None) -> None:
        moved = "An amount" if amount is None else f"The amount {amount}"
        super().__init__(
            f"{moved} is beyond the largest amount guildbank records ({MAX_AMOUNT}); "
            "nothing was recorded.",
            limit=MAX_AMOUNT,
        )


class BalanceLimit(GuildbankError):
    """A posting would take a balance or running total beyond ``±MAX_AMOUNT``; refused whole."""

    code: ClassVar[str] = "balance_limit"
    kind: ClassVar[ErrorKind] = "conflict"

    def __init__(self, user_id: str | None = None) -> None:
        whose = "a balance" if user_id is None else f"the balance of {user_id}"
        super().__init__(
            f"This would take {whose} beyond the limit of {MAX_AMOUNT} (either way); "
            "nothing was recorded.",
            limit=MAX_AMOUNT,
            user_id=user_id,
        )
