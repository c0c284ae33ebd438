"""What every API model shares: the output base, snowflake ids, amounts and free texts.

Free text takes one of two validators, so the control-character rule (``core.text``) is
written once: ``SINGLE_LINE`` for names, reasons and emoji, ``MULTI_LINE`` for descriptions
(newline and tab allowed, CRLF stored as a newline). A feature's text type puts its
``StringConstraints`` (lengths, trimming) before the validator, e.g.
``Annotated[str, StringConstraints(max_length=100), SINGLE_LINE]``, so the text is checked as
it will be stored. A refusal is a 422 whose error ``type`` is ``control_character``. The
rule is checked on the text as sent (before any trimming) and published as the schema's
``pattern``, so the OpenAPI document says exactly what is refused.

Whole numbers (``WHOLE``) take JSON ``10`` and, as JSON Schema counts it an integer, ``10.0``;
``10.5``, ``"10"`` and ``true`` are refused rather than coerced into bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from guildbank.core.ids import DISCORD_ID_PATTERN, MAX_DIGITS, snowflake_problem
from guildbank.core.limits import MAX_AMOUNT, MAX_REASON_LENGTH
from guildbank.core.text import (
    MULTI_LINE_PATTERN,
    SINGLE_LINE_PATTERN,
    describe_character,
    forbidden_character,
    normalize_newlines,
)

__all__ = [
    "CONTROL_CHARACTER",
    "MULTI_LINE",
    "SINGLE_LINE",
    "WHOLE",
    "Amount",
    "MultiLine",
    "Out",
    "Reason",
    "RequiredReason",
    "SingleLine",
    "Snowflake",
]

# The error ``type`` of a text refused for a control character (the dashboard maps it too).
CONTROL_CHARACTER = "control_character"


def _discord_id(value: Any) -> Any:
    """Before the exact pattern: a 422 that says why this is not a Discord id (too short, as
    the dashboard says too) rather than a long pattern's "should match"."""
    if isinstance(value, str) and (problem := snowflake_problem(value)) is not None:
        raise ValueError(problem)
    return value


@dataclass(frozen=True, slots=True)
class _PlainText:
    """The control-character rule as ``Annotated`` metadata: checks the text as sent (before
    the string constraints trim it) and publishes the rule as the schema's ``pattern``."""

    multiline: bool

    def _check(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value  # the str schema refuses it with its own error
        if self.multiline:
            value = normalize_newlines(value)
        found = forbidden_character(value, multiline=self.multiline)
        if found is not None:
            raise PydanticCustomError(
                CONTROL_CHARACTER,
                "Control characters are not allowed here (found {character})",
                {"character": describe_character(found)},
            )
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = MULTI_LINE_PATTERN if self.multiline else SINGLE_LINE_PATTERN
        return json_schema


SINGLE_LINE = _PlainText(multiline=False)
MULTI_LINE = _PlainText(multiline=True)


def _whole_float(value: Any) -> Any:
    """JSON ``10.0`` is an integer to JSON Schema: take it as 10 (``10.5`` stays refused)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# After a strict int's ``Field``: ``Annotated[int, Field(ge=1, le=9, strict=True), WHOLE]``.
WHOLE = BeforeValidator(_whole_float)


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# The id of a real member, role, channel or server: 17 digits up to 2**63 - 1.
Snowflake = Annotated[
    str,
    StringConstraints(pattern=DISCORD_ID_PATTERN, max_length=MAX_DIGITS),
    BeforeValidator(_discord_id),
]
# Money is strict: a JSON "10" or true is refused rather than coerced into bytes.
Amount = Annotated[int, Field(ge=1, le=MAX_AMOUNT, strict=True), WHOLE]
SingleLine = Annotated[str, SINGLE_LINE]
MultiLine = Annotated[str, MULTI_LINE]
Reason = Annotated[str, StringConstraints(max_length=MAX_REASON_LENGTH), SINGLE_LINE]
RequiredReason = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_REASON_LENGTH, strip_whitespace=True),
    SINGLE_LINE,
]
