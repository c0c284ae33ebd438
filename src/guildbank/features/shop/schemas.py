"""The shop API's wire models: items with their requirements and actions, purchases,
inventories, use, sell-back and refunds."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.json_schema import SkipJsonSchema

from guildbank.core.limits import MAX_AMOUNT
from guildbank.core.schemas import MULTI_LINE, SINGLE_LINE, WHOLE, Out, Snowflake
from guildbank.features.shop.rules import (
    MAX_ACTIONS,
    MAX_CATEGORY_LENGTH,
    MAX_DESCRIPTION_LENGTH,
    MAX_EMOJI_LENGTH,
    MAX_MAX_PER_MEMBER,
    MAX_NAME_LENGTH,
    MAX_PURCHASE_QUANTITY,
    MAX_REPLY_LENGTH,
    MAX_REQUIREMENTS,
    MAX_STOCK,
)

__all__ = [
    "Action",
    "BuyIn",
    "BuyerOut",
    "InventoryEntryOut",
    "InventoryOut",
    "ItemCreate",
    "ItemDeleteOut",
    "ItemOut",
    "ItemUpdate",
    "PostStatus",
    "PurchaseOut",
    "Quantity",
    "RefundIn",
    "RefundOut",
    "Requirement",
    "SellIn",
    "SellOut",
    "StockIn",
    "UseIn",
    "UseOut",
]

ItemName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_NAME_LENGTH, strip_whitespace=True),
    SINGLE_LINE,
]
Description = Annotated[str, StringConstraints(max_length=MAX_DESCRIPTION_LENGTH), MULTI_LINE]
Emoji = Annotated[str, StringConstraints(max_length=MAX_EMOJI_LENGTH), SINGLE_LINE]
Category = Annotated[
    str, StringConstraints(max_length=MAX_CATEGORY_LENGTH, strip_whitespace=True), SINGLE_LINE
]
Price = Annotated[int, Field(ge=0, le=MAX_AMOUNT, strict=True), WHOLE]
Money = Annotated[int, Field(ge=1, le=MAX_AMOUNT, strict=True), WHOLE]
Stock = Annotated[int, Field(ge=-1, le=MAX_STOCK, strict=True, description="-1: unlimited"), WHOLE]
# Strict: a JSON 1.5, "2" or true is refused (422), never coerced (2.0 is JSON Schema's 2).
Quantity = Annotated[int, Field(ge=1, le=MAX_PURCHASE_QUANTITY, strict=True), WHOLE]
# Ids in bodies stay within 2**53 - 1: exact in JSON (and in the document's bounds).
ItemId = Annotated[int, Field(ge=1, le=MAX_AMOUNT, strict=True), WHOLE]
Percent = Annotated[int, Field(ge=0, le=100, strict=True), WHOLE]
MaxPerMember = Annotated[int, Field(ge=1, le=MAX_MAX_PER_MEMBER, strict=True), WHOLE]
Reply = Annotated[str, StringConstraints(min_length=1, max_length=MAX_REPLY_LENGTH), MULTI_LINE]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RoleRequirement(_Strict):
    type: Literal["role", "not_role"]
    role_id: Snowflake


class ItemRequirement(_Strict):
    type: Literal["item"]
    item_id: ItemId


class BalanceRequirement(_Strict):
    type: Literal["balance"]
    amount: Money


Requirement = Annotated[
    RoleRequirement | ItemRequirement | BalanceRequirement, Field(discriminator="type")
]


class ReplyAction(_Strict):
    type: Literal["reply"]
    message: Reply


class RoleAction(_Strict):
    type: Literal["add_role", "remove_role"]
    role_id: Snowflake


class ItemAction(_Strict):
    type: Literal["add_item", "remove_item"]
    item_id: ItemId
    quantity: Quantity = 1


class BytesAction(_Strict):
    type: Literal["add_bytes", "remove_bytes"]
    amount: Money


Action = Annotated[ReplyAction | RoleAction | ItemAction | BytesAction, Field(discriminator="type")]
Requirements = Annotated[list[Requirement], Field(max_length=MAX_REQUIREMENTS)]
Actions = Annotated[list[Action], Field(max_length=MAX_ACTIONS)]


class PostStatus(Out):
    """The item's Discord post: where it is, and its latest outbox job's status (None: none
    was ever asked for, e.g. no shop channel is set)."""

    channel_id: str | None = None
    message_id: str | None = None
    sync_status: str | None = None
    last_error: str | None = None


class ItemOut(Out):
    id: int
    guild_id: str
    name: str
    description: str
    emoji: str | None
    price: int
    category: str
    stock: int
    is_active: bool
    expires_at: datetime | None
    is_expired: bool
    usable: bool
    sellable: bool
    sell_percent: int
    max_per_member: int | None
    requirements: list[dict[str, Any]]
    requirement_mode: str
    purchase_actions: list[dict[str, Any]]
    use_actions: list[dict[str, Any]]
    sales_count: int
    created_at: datetime
    updated_at: datetime
    post: PostStatus = PostStatus()


# Optional but not nullable (the document leaves null out, the validator refuses it), except
# these, which null clears.
NULLABLE = frozenset({"emoji", "expires_at", "max_per_member", "actor_id"})


class _ItemFields(_Strict):
    description: Description | SkipJsonSchema[None] = None
    emoji: Emoji | None = None
    category: Category | SkipJsonSchema[None] = None
    stock: Stock | SkipJsonSchema[None] = None
    is_active: bool | SkipJsonSchema[None] = None
    expires_at: datetime | None = None
    usable: bool | SkipJsonSchema[None] = None
    sellable: bool | SkipJsonSchema[None] = None
    sell_percent: Percent | SkipJsonSchema[None] = None
    max_per_member: MaxPerMember | None = None
    requirements: Requirements | SkipJsonSchema[None] = None
    requirement_mode: Literal["all", "any"] | SkipJsonSchema[None] = None
    purchase_actions: Actions | SkipJsonSchema[None] = None
    use_actions: Actions | SkipJsonSchema[None] = None
    actor_id: Snowflake | None = None

    @model_validator(mode="after")
    def _no_null_required(self) -> _ItemFields:
        nulls = [n for n in self.model_fields_set - NULLABLE if getattr(self, n) is None]
        if nulls:
            msg = f"{', '.join(sorted(nulls))} cannot be null"
            raise ValueError(msg)
        return self


class ItemCreate(_ItemFields):
    name: ItemName
    price: Price

    def values(self) -> dict[str, Any]:
        """The row's values: unset fields take the table's defaults."""
        return self.model_dump(mode="json", exclude_none=True, exclude={"actor_id", "expires_at"})


class ItemUpdate(_ItemFields):
    """Only the fields sent change; ``emoji``, ``expires_at`` and ``max_per_member`` may be
    set to null."""

    name: ItemName | SkipJsonSchema[None] = None
    price: Price | SkipJsonSchema[None] = None

    def changes(self) -> dict[str, Any]:
        changes = self.model_dump(mode="json", exclude_unset=True, exclude={"actor_id"})
        if "expires_at" in changes:
            changes["expires_at"] = self.expires_at
        return changes


class StockIn(_Strict):
    quantity: Stock
    operation: Literal["set", "add", "subtract"] = "set"
    actor_id: Snowflake | None = None


class BuyIn(_Strict):
    user_id: Snowflake
    quantity: Quantity = 1
    # The member's Discord roles, for role requirements (the bot sends them).
    role_ids: Annotated[list[Snowflake], Field(max_length=250)] | None = None


class UseIn(_Strict):
    item_id: ItemId


class SellIn(_Strict):
    item_id: ItemId
    quantity: Quantity = 1


class RefundIn(_Strict):
    actor_id: Snowflake | None = None


class Effects(Out):
    """What actions did: replies to show, roles the outbox will change, bytes moved."""

    messages: list[str] = Field(default_factory=list)
    roles_added: list[str] = Field(default_factory=list)
    roles_removed: list[str] = Field(default_factory=list)
    bytes_change: int = 0


class PurchaseOut(Effects):
    purchase_id: int
    guild_id: str
    user_id: str
    item: ItemOut
    quantity: int
    total: int
    balance: int
    held: int
    transaction_id: int | None


class InventoryEntryOut(Out):
    item_id: int
    name: str
    emoji: str | None
    category: str
    quantity: int
    usable: bool
    sellable: bool
    sell_value: int
    is_expired: bool


class InventoryOut(Out):
    guild_id: str
    user_id: str
    items: list[InventoryEntryOut]


class UseOut(Effects):
    guild_id: str
    user_id: str
    item_id: int
    name: str
    remaining: int
    balance: int


class SellOut(Out):
    guild_id: str
    user_id: str
    item_id: int
    name: str
    quantity: int
    amount: int
    remaining: int
    balance: int
    transaction_id: int | None


class RefundOut(Out):
    guild_id: str
    purchase_id: int
    item_id: int
    user_id: str
    quantity: int
    amount: int
    balance: int
    transaction_id: int | None
    roles_removed: list[str]


class BuyerOut(Out):
    purchase_id: int
    user_id: str
    quantity: int
    total: int
    created_at: datetime
    refunded_at: datetime | None


class ItemDeleteOut(Out):
    guild_id: str
    item_id: int
    name: str
