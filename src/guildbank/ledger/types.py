"""The kinds of ledger transaction, as stored in ``ledger_transactions.type``.

A ``StrEnum`` so a type is its stored string: rows read back compare equal to members, and
the wire formats that show the type keep their plain strings.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["TransactionType"]


class TransactionType(StrEnum):
    STARTING_BALANCE = "starting_balance"
    DAILY = "daily"
    TRANSFER = "transfer"
    ADMIN_ADJUST = "admin_adjust"
    SQUAD_JOIN = "squad_join"
    REVERSAL = "reversal"
    SHOP_PURCHASE = "shop_purchase"
    SHOP_SALE = "shop_sale"
    SHOP_ACTION = "shop_action"
    TASK_REWARD = "task_reward"
    IMPORT = "import"
    CLEANUP = "cleanup"
    RESET = "reset"
