"""What every API model shares: the output base, snowflake ids, amounts and reasons."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)

from guildbank.core.ids import SNOWFLAKE_PATTERN, is_snowflake
from guildbank.core.limits import MAX_AMOUNT, MAX_REASON_LENGTH

__all__ = ["Amount", "Out", "Reason", "RequiredReason", "Snowflake"]


def _snowflake(value: str) -> str:
    if not is_snowflake(value):
        msg = "must be a Discord id (digits, below 2**63)"
        raise ValueError(msg)
    return value


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


Snowflake = Annotated[
    str, StringConstraints(pattern=SNOWFLAKE_PATTERN, max_length=20), AfterValidator(_snowflake)
]
# Money is strict: a JSON "10", true or 10.0 is refused rather than coerced into bytes.
Amount = Annotated[int, Field(ge=1, le=MAX_AMOUNT, strict=True)]
Reason = Annotated[str, StringConstraints(max_length=MAX_REASON_LENGTH)]
RequiredReason = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_REASON_LENGTH, strip_whitespace=True)
]
