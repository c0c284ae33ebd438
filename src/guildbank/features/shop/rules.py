"""Shop rules that need no database: limits, who may buy, what a sell-back returns.

Requirements and actions are plain dicts here (``{"type": "role", "role_id": "1"}``), as the
item row stores them; the schemas validate their shapes once, on the way in.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from guildbank.core.limits import MAX_AMOUNT
from guildbank.features.shop.errors import (
    ItemExpired,
    ItemInactive,
    MaxPerMember,
    RequirementNotMet,
    RolesUnknown,
    SoldOut,
)

__all__ = [
    "ACTION_TYPES",
    "BUY_BUTTON_PREFIX",
    "MAX_ACTIONS",
    "MAX_CATEGORY_LENGTH",
    "MAX_DESCRIPTION_LENGTH",
    "MAX_EMOJI_LENGTH",
    "MAX_MAX_PER_MEMBER",
    "MAX_NAME_LENGTH",
    "MAX_PURCHASE_QUANTITY",
    "MAX_REPLY_LENGTH",
    "MAX_REQUIREMENTS",
    "MAX_STOCK",
    "REQUIREMENT_TYPES",
    "UNLIMITED",
    "check_can_buy",
    "check_requirements",
    "is_expired",
    "item_key",
    "new_stock",
    "purchase_total",
    "sell_value",
]

MAX_NAME_LENGTH = 100
MAX_DESCRIPTION_LENGTH = 1000
MAX_EMOJI_LENGTH = 64
MAX_CATEGORY_LENGTH = 50
MAX_REPLY_LENGTH = 1000
# One purchase buys at most this many: a typo of 10**9 is refused, not attempted.
MAX_PURCHASE_QUANTITY = 1000
MAX_STOCK = 1_000_000_000
MAX_MAX_PER_MEMBER = 1_000_000
MAX_REQUIREMENTS = 10
MAX_ACTIONS = 10
UNLIMITED = -1
# The custom id of the Buy button on an item's shop post: this prefix, then the item's id.
BUY_BUTTON_PREFIX = "shop.buy:"

REQUIREMENT_TYPES = ("role", "not_role", "item", "balance")
ACTION_TYPES = (
    "reply",
    "add_role",
    "remove_role",
    "add_item",
    "remove_item",
    "add_bytes",
    "remove_bytes",
)


def item_key(item_id: int) -> str:
    """The outbox message key of an item's shop post."""
    return f"shop.item:{item_id}"


def is_expired(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is not None and expires_at <= now


def purchase_total(price: int, quantity: int) -> int:
    """What ``quantity`` costs; ValueError beyond the bound of money (callers refuse it)."""
    total = price * quantity
    if total > MAX_AMOUNT:
        msg = f"{quantity} x {price} is beyond the largest amount ({MAX_AMOUNT})"
        raise ValueError(msg)
    return total


def sell_value(price: int, percent: int, quantity: int = 1) -> int:
    """What selling back ``quantity`` returns: ``percent`` of the price, rounded down."""
    return price * percent // 100 * quantity


def new_stock(current: int, operation: str, quantity: int) -> int:
    """The stock after an admin's ``set``/``add``/``subtract``; ValueError when it would leave
    0..MAX_STOCK (``set`` to -1 makes it unlimited; adding to unlimited is refused)."""
    if operation == "set":
        result = quantity
    elif current == UNLIMITED:
        msg = "The stock is unlimited: set a number first."
        raise ValueError(msg)
    elif operation == "add":
        result = current + quantity
    elif operation == "subtract":
        result = current - quantity
    else:
        msg = f"Unknown stock operation {operation!r} (set, add or subtract)."
        raise ValueError(msg)
    unlimited = operation == "set" and result == UNLIMITED
    if not unlimited and not 0 <= result <= MAX_STOCK:
        msg = f"The stock would be {result}: it must stay between 0 and {MAX_STOCK} (or -1)."
        raise ValueError(msg)
    return result


def check_can_buy(
    *,
    item_id: int,
    name: str,
    is_active: bool,
    expires_at: datetime | None,
    now: datetime,
    stock: int,
    max_per_member: int | None,
    held: int,
    quantity: int,
) -> None:
    """Refuse a purchase the item's state forbids, in the order a member would ask about."""
    if not is_active:
        raise ItemInactive(item_id=item_id, name=name)
    if is_expired(expires_at, now):
        raise ItemExpired(item_id=item_id, name=name)
    if stock != UNLIMITED and stock < quantity:
        raise SoldOut(item_id=item_id, name=name, stock=stock, wanted=quantity)
    if max_per_member is not None and held + quantity > max_per_member:
        raise MaxPerMember(item_id=item_id, limit=max_per_member, held=held)


def _unmet(
    requirement: Mapping[str, Any],
    *,
    role_ids: Collection[str],
    owned: Collection[int],
    balance: int,
    item_names: Mapping[int, str],
    currency: str,
) -> str | None:
    kind = requirement["type"]
    if kind == "role" and requirement["role_id"] not in role_ids:
        return f"You need <@&{requirement['role_id']}> to buy this"
    if kind == "not_role" and requirement["role_id"] in role_ids:
        return f"You can't buy this while you hold <@&{requirement['role_id']}>"
    if kind == "item" and int(requirement["item_id"]) not in owned:
        name = item_names.get(int(requirement["item_id"]), f"item {requirement['item_id']}")
        return f"You need {name} to buy this"
    if kind == "balance" and balance < int(requirement["amount"]):
        return f"You need at least {requirement['amount']} {currency} to buy this"
    return None


def check_requirements(
    requirements: Sequence[Mapping[str, Any]],
    mode: str,
    *,
    item_id: int,
    role_ids: Collection[str] | None,
    owned: Collection[int],
    balance: int,
    item_names: Mapping[int, str],
    currency: str,
) -> None:
    """Refuse unless all (``mode`` "all") or any ("any") requirements hold.

    ``role_ids`` None: the caller does not know the member's roles, which role requirements
    need (RolesUnknown).
    """
    if not requirements:
        return
    if role_ids is None and any(r["type"] in ("role", "not_role") for r in requirements):
        raise RolesUnknown(item_id=item_id)
    unmet = [
        message
        for requirement in requirements
        if (
            message := _unmet(
                requirement,
                role_ids=role_ids or (),
                owned=owned,
                balance=balance,
                item_names=item_names,
                currency=currency,
            )
        )
        is not None
    ]
    if mode == "any" and len(unmet) < len(requirements):
        return
    if mode == "all" and not unmet:
        return
    message = unmet[0] if mode == "all" or len(unmet) == 1 else " or ".join(unmet)
    raise RequirementNotMet(message + ".", item_id=item_id)
