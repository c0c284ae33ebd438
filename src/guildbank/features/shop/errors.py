"""What the shop refuses, in words a member can act on ("Sold out", "You need @VIP")."""

from __future__ import annotations

from typing import Any, ClassVar

from guildbank.core.errors import ErrorKind, GuildbankError, NotFound

__all__ = [
    "AlreadyRefunded",
    "CannotAfford",
    "ItemConflict",
    "ItemExpired",
    "ItemHasSales",
    "ItemInactive",
    "ItemNotFound",
    "ItemNotOwned",
    "ItemNotSellable",
    "ItemNotUsable",
    "MaxPerMember",
    "PurchaseNotFound",
    "RefundItemsGone",
    "RequirementNotMet",
    "RolesUnknown",
    "SoldOut",
]


class ItemNotFound(NotFound):
    code: ClassVar[str] = "shop_item_not_found"

    def __init__(self, item_id: int | str) -> None:
        super().__init__(f"Shop item {item_id} not found", item_id=item_id)


class PurchaseNotFound(NotFound):
    code: ClassVar[str] = "shop_purchase_not_found"

    def __init__(self, purchase_id: int) -> None:
        super().__init__(f"Purchase {purchase_id} not found", purchase_id=purchase_id)


class _Conflict(GuildbankError):
    kind: ClassVar[ErrorKind] = "conflict"


class ItemInactive(_Conflict):
    code: ClassVar[str] = "item_inactive"

    def __init__(self, *, item_id: int, name: str) -> None:
        super().__init__(f"{name} is not for sale right now.", item_id=item_id)


class ItemExpired(_Conflict):
    code: ClassVar[str] = "item_expired"

    def __init__(self, *, item_id: int, name: str) -> None:
        super().__init__(f"{name} has expired.", item_id=item_id)


class SoldOut(_Conflict):
    code: ClassVar[str] = "sold_out"

    def __init__(self, *, item_id: int, name: str, stock: int, wanted: int) -> None:
        message = (
            "Sold out" if stock == 0 else f"Only {stock} of {name} left; you asked for {wanted}"
        )
        super().__init__(message, item_id=item_id, stock=stock, wanted=wanted)


class MaxPerMember(_Conflict):
    code: ClassVar[str] = "max_per_member"

    def __init__(self, *, item_id: int, limit: int, held: int) -> None:
        super().__init__(
            f"You can hold at most {limit} of this (you have {held}).",
            item_id=item_id,
            limit=limit,
            held=held,
        )


class RequirementNotMet(_Conflict):
    code: ClassVar[str] = "requirement_not_met"

    def __init__(self, message: str, *, item_id: int) -> None:
        super().__init__(message, item_id=item_id)


class RolesUnknown(GuildbankError):
    """Role requirements need the member's roles, which only Discord (the bot) knows."""

    code: ClassVar[str] = "roles_unknown"

    def __init__(self, *, item_id: int) -> None:
        super().__init__(
            "This item has role requirements: send the member's role_ids with the purchase.",
            item_id=item_id,
        )


class CannotAfford(GuildbankError):
    """The buyer's balance is short: the same code as the ledger's refusal, a shop's words."""

    code: ClassVar[str] = "insufficient_balance"

    def __init__(self, *, available: int, needed: int, currency: str) -> None:
        super().__init__(
            f"You have {available} {currency}; this costs {needed}.",
            available=available,
            needed=needed,
        )


class ItemNotUsable(_Conflict):
    code: ClassVar[str] = "item_not_usable"

    def __init__(self, *, item_id: int, name: str) -> None:
        super().__init__(f"{name} cannot be used.", item_id=item_id)


class ItemNotSellable(_Conflict):
    code: ClassVar[str] = "item_not_sellable"

    def __init__(self, *, item_id: int, name: str) -> None:
        super().__init__(f"{name} cannot be sold back.", item_id=item_id)


class ItemNotOwned(_Conflict):
    code: ClassVar[str] = "item_not_owned"

    def __init__(self, *, item_id: int, name: str, held: int = 0, wanted: int = 1) -> None:
        message = (
            f"You don't have {name}."
            if held == 0
            else f"You have {held} of {name}; you need {wanted}."
        )
        super().__init__(message, item_id=item_id, held=held, wanted=wanted)


class ItemHasSales(_Conflict):
    code: ClassVar[str] = "item_has_sales"

    def __init__(self, *, item_id: int, sales: int) -> None:
        super().__init__(
            f"Item {item_id} was sold {sales} time(s) or is held by members: deactivate it "
            "instead of deleting it.",
            item_id=item_id,
            sales=sales,
        )


class AlreadyRefunded(_Conflict):
    code: ClassVar[str] = "already_refunded"

    def __init__(self, purchase_id: int) -> None:
        super().__init__(f"Purchase {purchase_id} was already refunded.", purchase_id=purchase_id)


class RefundItemsGone(_Conflict):
    code: ClassVar[str] = "refund_items_not_held"

    def __init__(self, *, purchase_id: int, held: int, bought: int) -> None:
        super().__init__(
            f"Purchase {purchase_id} bought {bought}, but the member holds only {held} now "
            "(used or sold): it cannot be refunded.",
            purchase_id=purchase_id,
            held=held,
            bought=bought,
        )


class ItemConflict(_Conflict):
    """A name already used by another item of the guild."""

    def __init__(self, message: str, *, code: str, **fields: Any) -> None:
        super().__init__(message, **fields)
        self.code = code  # type: ignore[misc]
