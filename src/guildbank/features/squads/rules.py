"""Squad rules that need no database: field limits, who may join, what a join costs.

A member's first join is free; moving to another squad (directly, or by leaving and joining
again) pays the target squad's switch cost to the guild's sink, so hopping between teams is
a choice, not a reflex.
"""

from __future__ import annotations

from dataclasses import dataclass

from guildbank.core.errors import InvalidInput
from guildbank.core.ids import is_snowflake
from guildbank.core.limits import MAX_AMOUNT
from guildbank.core.text import check_text, normalize_newlines
from guildbank.features.squads.errors import AlreadyInSquad, SquadFull, SquadInactive

__all__ = [
    "DEFAULT_SWITCH_COST",
    "MAX_DESCRIPTION_LENGTH",
    "MAX_EMOJI_LENGTH",
    "MAX_NAME_LENGTH",
    "MAX_SQUAD_MEMBERS",
    "SquadFields",
    "check_can_join",
    "join_cost",
    "validate_squad",
]

MAX_NAME_LENGTH = 100
MAX_DESCRIPTION_LENGTH = 500
MAX_EMOJI_LENGTH = 64
MAX_SQUAD_MEMBERS = 1_000_000
DEFAULT_SWITCH_COST = 50


@dataclass(frozen=True, slots=True)
class SquadFields:
    """The editable values of a squad, validated together."""

    role_id: str
    name: str
    description: str = ""
    emoji: str | None = None
    switch_cost: int = DEFAULT_SWITCH_COST
    max_members: int | None = None
    is_active: bool = True


def validate_squad(fields: SquadFields) -> SquadFields:
    """Refuse out-of-range values; returns the fields with name and texts trimmed."""
    name = fields.name.strip()
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        raise InvalidInput(
            f"A squad name needs 1 to {MAX_NAME_LENGTH} characters.", code="invalid_squad_name"
        )
    check_text(name, field="name")
    description = normalize_newlines(fields.description.strip())
    check_text(description, field="description", multiline=True)
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise InvalidInput(
            f"A squad description is limited to {MAX_DESCRIPTION_LENGTH} characters.",
            code="invalid_squad_description",
        )
    emoji = (fields.emoji or "").strip() or None
    check_text(emoji or "", field="emoji")
    if emoji is not None and len(emoji) > MAX_EMOJI_LENGTH:
        raise InvalidInput(
            f"A squad emoji is limited to {MAX_EMOJI_LENGTH} characters.", code="invalid_emoji"
        )
    if not is_snowflake(fields.role_id):
        raise InvalidInput(f"Role id {fields.role_id!r} is not a Discord id", code="invalid_id")
    if not 0 <= fields.switch_cost <= MAX_AMOUNT:
        raise InvalidInput(
            f"The switch cost must be between 0 and {MAX_AMOUNT}.", code="invalid_amount"
        )
    if fields.max_members is not None and not 1 <= fields.max_members <= MAX_SQUAD_MEMBERS:
        raise InvalidInput(
            f"max_members must be between 1 and {MAX_SQUAD_MEMBERS} (or empty for no limit).",
            code="invalid_max_members",
        )
    return SquadFields(
        fields.role_id,
        name,
        description,
        emoji,
        fields.switch_cost,
        fields.max_members,
        fields.is_active,
    )


def join_cost(*, first_join: bool, switch_cost: int) -> int:
    """Nothing for a member's first squad in the guild; the target's switch cost after that.

    Leaving is free, but a later join costs like a switch: otherwise leave-then-join would
    make every switch free.
    """
    return 0 if first_join else switch_cost


def check_can_join(
    *,
    squad_id: int,
    name: str,
    is_active: bool,
    max_members: int | None,
    members: int,
    current_squad_id: int | None,
) -> None:
    """Refuse a join the squad's state forbids; "already in it" wins over "full" or "closed"."""
    if current_squad_id == squad_id:
        raise AlreadyInSquad(squad_id=squad_id, name=name)
    if not is_active:
        raise SquadInactive(squad_id=squad_id, name=name)
    if max_members is not None and members >= max_members:
        raise SquadFull(squad_id=squad_id, name=name, max_members=max_members)
