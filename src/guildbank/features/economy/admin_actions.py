"""The admin actions, by event name: what the Admin log page lists, and the events the relay
keeps past its retention so that page never loses one (runtime/services.py passes them)."""

from __future__ import annotations

__all__ = ["ADMIN_ACTIONS"]

# Every one of these events records its actor_id.
ADMIN_ACTIONS = {
    "balance.adjusted": "Balance adjusted",
    "transaction.reversed": "Transaction reversed",
    "config.changed": "Settings changed",
    "squad.created": "Squad created",
    "squad.updated": "Squad changed",
    "squad.deleted": "Squad deleted",
    "shop.item_changed": "Shop item changed",
    "shop.stock_changed": "Shop stock changed",
    "shop.refund": "Shop refund",
    "task.created": "Task created",
    "task.updated": "Task changed",
    "task.deleted": "Task deleted",
    "task.reviewed": "Task reviewed",
}
