"""The item form: raw form values in, the API's ``ItemCreate`` rules, a message per field.

Requirements and actions are typed as JSON lists, exactly as the API takes them (see
docs/shop.md); the schema checks their shapes. Domain refusals the form cannot foresee (a
name another item has, an unknown item or role in an action) show next to their field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from guildbank.core.errors import GuildbankError
from guildbank.features.shop.rules import (
    MAX_CATEGORY_LENGTH,
    MAX_DESCRIPTION_LENGTH,
    MAX_EMOJI_LENGTH,
    MAX_NAME_LENGTH,
)
from guildbank.features.shop.schemas import ItemCreate, ItemOut
from guildbank.web.forms import field_errors, parse_whole

__all__ = ["ItemForm"]

NUMBERS = ("price", "stock", "max_per_member", "sell_percent")
LISTS = ("requirements", "purchase_actions", "use_actions")
TEXTS = ("name", "emoji", "category", "description", "expires_at", "requirement_mode")
CHECKS = ("is_active", "usable", "sellable")
MAX_LENGTHS: Mapping[str, int] = {
    "name": MAX_NAME_LENGTH,
    "emoji": MAX_EMOJI_LENGTH,
    "category": MAX_CATEGORY_LENGTH,
    "description": MAX_DESCRIPTION_LENGTH,
}
NUMBER_DIGITS = 16
FIELD_OF_CODE = {
    "item_name_taken": "name",
    "shop_item_not_found": "purchase_actions",
    "unknown_role": "purchase_actions",
    "role_above_bot": "purchase_actions",
    "role_managed": "purchase_actions",
}


def _number(raw: str) -> int | str:
    number = parse_whole(raw, max_digits=NUMBER_DIGITS)
    return raw if number is None else number


@dataclass
class ItemForm:
    """What the form shows: raw values (a refused form keeps what was typed) and errors."""

    values: dict[str, str]
    checks: dict[str, bool]
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def max_lengths(self) -> Mapping[str, int]:
        return MAX_LENGTHS

    @classmethod
    def blank(cls) -> ItemForm:
        values = dict.fromkeys((*TEXTS, *NUMBERS), "") | dict.fromkeys(LISTS, "[]")
        values |= {"stock": "-1", "sell_percent": "50", "requirement_mode": "all"}
        return cls(values, {"is_active": True, "usable": False, "sellable": False})

    @classmethod
    def from_view(cls, view: ItemOut) -> ItemForm:
        values = {
            "name": view.name,
            "emoji": view.emoji or "",
            "category": view.category,
            "description": view.description,
            "expires_at": "" if view.expires_at is None else view.expires_at.isoformat(),
            "requirement_mode": view.requirement_mode,
            "price": str(view.price),
            "stock": str(view.stock),
            "max_per_member": "" if view.max_per_member is None else str(view.max_per_member),
            "sell_percent": str(view.sell_percent),
        } | {name: json.dumps(getattr(view, name), ensure_ascii=False) for name in LISTS}
        checks = {"is_active": view.is_active, "usable": view.usable, "sellable": view.sellable}
        return cls(values, checks)

    @classmethod
    def from_form(cls, form: FormData) -> ItemForm:
        values = {}
        for name in (*TEXTS, *NUMBERS, *LISTS):
            value = form.get(name, "")
            values[name] = value.strip() if isinstance(value, str) else ""
        return cls(values, {name: form.get(name) == "1" for name in CHECKS})

    def validated(self) -> dict[str, Any] | None:
        """The item's values as the service takes them; None (with errors) if refused."""
        data: dict[str, Any] = {n: v for n, v in self.values.items() if n in TEXTS and v}
        data["name"] = self.values["name"]
        for name in NUMBERS:
            if self.values[name]:
                data[name] = _number(self.values[name])
        for name in LISTS:
            raw = self.values[name] or "[]"
            try:
                data[name] = json.loads(raw)
            except ValueError:
                self.errors[name] = "Enter a JSON list, e.g. [] (see the shop docs)."
        data |= self.checks
        try:
            body = ItemCreate.model_validate(data)
        except ValidationError as error:
            self.errors.update(field_errors(error))
        if self.errors:
            return None
        values = body.values()
        values["expires_at"] = body.expires_at
        for name in ("emoji", "max_per_member"):
            values.setdefault(name, None)
        for name in ("category", "description"):
            values.setdefault(name, "")
        return values

    def refused(self, error: GuildbankError) -> None:
        self.errors[FIELD_OF_CODE.get(error.code, "form")] = error.message
