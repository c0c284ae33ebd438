"""What the shop announces: purchases, stock changes and item changes (live dashboard, stream)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from guildbank.core.events import DomainEvent

__all__ = [
    "ItemChanged",
    "ItemRefunded",
    "ItemSold",
    "ItemUsed",
    "Purchased",
    "StockChanged",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Purchased(DomainEvent):
    name: ClassVar[str] = "shop.purchase"
    purchase_id: int
    item_id: int
    user_id: str
    quantity: int
    total: int
    balance: int
    transaction_id: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class StockChanged(DomainEvent):
    name: ClassVar[str] = "shop.stock_changed"
    item_id: int
    stock: int
    sales_count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemChanged(DomainEvent):
    """Created, edited, deactivated or deleted (``change``), by ``actor_id`` if known."""

    name: ClassVar[str] = "shop.item_changed"
    item_id: int
    change: str
    fields: list[str]
    actor_id: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemUsed(DomainEvent):
    name: ClassVar[str] = "shop.item_used"
    item_id: int
    user_id: str
    remaining: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemSold(DomainEvent):
    name: ClassVar[str] = "shop.item_sold"
    item_id: int
    user_id: str
    quantity: int
    amount: int
    transaction_id: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemRefunded(DomainEvent):
    name: ClassVar[str] = "shop.refund"
    purchase_id: int
    item_id: int
    user_id: str
    quantity: int
    amount: int
    transaction_id: int | None
    actor_id: str | None
