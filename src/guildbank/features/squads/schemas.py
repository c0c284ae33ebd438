"""The squads API's wire models."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    computed_field,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from guildbank.core.limits import MAX_AMOUNT
from guildbank.core.schemas import MULTI_LINE, SINGLE_LINE, WHOLE, Out, Snowflake
from guildbank.features.squads.rules import (
    DEFAULT_SWITCH_COST,
    MAX_DESCRIPTION_LENGTH,
    MAX_EMOJI_LENGTH,
    MAX_NAME_LENGTH,
    MAX_SQUAD_MEMBERS,
)

__all__ = [
    "MaxMembers",
    "SquadCreate",
    "SquadDeleteOut",
    "SquadDescription",
    "SquadEmoji",
    "SquadJoinOut",
    "SquadLeaveOut",
    "SquadMemberOut",
    "SquadMembershipOut",
    "SquadName",
    "SquadOut",
    "SquadRankingOut",
    "SquadUpdate",
    "SquadUserIn",
    "SwitchCost",
    "squad_version",
]


def squad_version(
    *,
    role_id: str,
    name: str,
    description: str,
    emoji: str | None,
    switch_cost: int,
    max_members: int | None,
    is_active: bool,
) -> str:
    """A squad's version for optimistic edits (ETag, ``If-Match``): a digest of what an edit
    can change, so any saved change gives a new one and an unchanged squad keeps its own
    (no column to bump, and a change undone meanwhile is no conflict)."""
    fields = [role_id, name, description, emoji, switch_cost, max_members, is_active]
    return hashlib.sha256(json.dumps(fields).encode()).hexdigest()[:16]


SquadName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_NAME_LENGTH, strip_whitespace=True),
    SINGLE_LINE,
]
SquadDescription = Annotated[str, StringConstraints(max_length=MAX_DESCRIPTION_LENGTH), MULTI_LINE]
SquadEmoji = Annotated[str, StringConstraints(max_length=MAX_EMOJI_LENGTH), SINGLE_LINE]
SwitchCost = Annotated[int, Field(ge=0, le=MAX_AMOUNT, strict=True), WHOLE]
MaxMembers = Annotated[int, Field(ge=1, le=MAX_SQUAD_MEMBERS, strict=True), WHOLE]


class SquadOut(Out):
    id: int
    guild_id: str
    role_id: str
    name: str
    description: str
    emoji: str | None
    switch_cost: int
    max_members: int | None
    is_active: bool
    member_count: int
    created_at: datetime
    updated_at: datetime
    # Only when listed for a member (``?user_id=``): their squad, and what joining costs them.
    is_member: bool | None = None
    join_cost: int | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def version(self) -> str:
        """Send it back as ``If-Match`` with a ``PUT``: a squad changed meanwhile is refused
        (409 ``stale_version``) instead of silently overwritten."""
        return squad_version(
            role_id=self.role_id,
            name=self.name,
            description=self.description,
            emoji=self.emoji,
            switch_cost=self.switch_cost,
            max_members=self.max_members,
            is_active=self.is_active,
        )


class SquadCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role_id: Snowflake
    name: SquadName
    description: SquadDescription = ""
    emoji: SquadEmoji | None = None
    switch_cost: SwitchCost = DEFAULT_SWITCH_COST
    max_members: MaxMembers | None = None
    is_active: bool = True
    actor_id: Snowflake | None = None


class SquadUpdate(BaseModel):
    """Only the fields sent change; ``emoji`` and ``max_members`` may be set to null."""

    model_config = ConfigDict(extra="forbid")

    # Optional but not nullable: the document leaves null out, the validator below refuses it.
    role_id: Snowflake | SkipJsonSchema[None] = None
    name: SquadName | SkipJsonSchema[None] = None
    description: SquadDescription | SkipJsonSchema[None] = None
    emoji: SquadEmoji | None = None
    switch_cost: SwitchCost | SkipJsonSchema[None] = None
    max_members: MaxMembers | None = None
    is_active: bool | SkipJsonSchema[None] = None
    actor_id: Snowflake | None = None

    @model_validator(mode="after")
    def _no_null_required(self) -> SquadUpdate:
        nulls = [
            name
            for name in self.model_fields_set - {"emoji", "max_members", "actor_id"}
            if getattr(self, name) is None
        ]
        if nulls:
            msg = f"{', '.join(sorted(nulls))} cannot be null"
            raise ValueError(msg)
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True, exclude={"actor_id"})


class SquadUserIn(BaseModel):
    user_id: Snowflake


class SquadJoinOut(Out):
    guild_id: str
    user_id: str
    squad: SquadOut
    previous_squad_id: int | None
    cost: int
    balance: int
    transaction_id: int | None
    role_added: str
    role_removed: str | None


class SquadLeaveOut(Out):
    guild_id: str
    user_id: str
    squad_id: int
    squad_name: str
    role_removed: str


class SquadMembershipOut(Out):
    guild_id: str
    user_id: str
    joined_at: datetime
    squad: SquadOut


class SquadMemberOut(Out):
    user_id: str
    joined_at: datetime
    balance: int


class SquadRankingOut(Out):
    rank: int
    squad_id: int
    name: str
    emoji: str | None
    role_id: str
    members: int
    total_bytes: int


class SquadDeleteOut(Out):
    guild_id: str
    squad_id: int
    role_id: str
    moved_to: int | None
    moved_to_role_id: str | None
    members: list[str]
