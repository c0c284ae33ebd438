"""Transaction types are the strings already stored in ``ledger_transactions.type``."""

from __future__ import annotations

from guildbank.ledger.types import TransactionType


def test_each_type_is_its_stored_string() -> None:
    assert {kind: str(kind) for kind in TransactionType} == {
        TransactionType.STARTING_BALANCE: "starting_balance",
        TransactionType.DAILY: "daily",
        TransactionType.TRANSFER: "transfer",
        TransactionType.ADMIN_ADJUST: "admin_adjust",
        TransactionType.SQUAD_JOIN: "squad_join",
        TransactionType.REVERSAL: "reversal",
        TransactionType.SHOP_PURCHASE: "shop_purchase",
        TransactionType.SHOP_SALE: "shop_sale",
        TransactionType.SHOP_ACTION: "shop_action",
        TransactionType.TASK_REWARD: "task_reward",
        TransactionType.IMPORT: "import",
        TransactionType.CLEANUP: "cleanup",
        TransactionType.RESET: "reset",
    }


def test_a_stored_string_reads_back_as_its_type() -> None:
    assert TransactionType("squad_join") is TransactionType.SQUAD_JOIN
    assert "reversal" in set(TransactionType)  # a str read from a row compares equal
