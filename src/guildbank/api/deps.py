"""FastAPI dependencies: who is calling with which scope, path parameters, bodies; and how
a read runs its unit of work and renders its result."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import Depends, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import AfterValidator, BaseModel, BeforeValidator, ValidationError

from guildbank.api.errors import ApiError
from guildbank.api.state import ApiState
from guildbank.core.ids import MAX_SNOWFLAKE, SNOWFLAKE_PATTERN, snowflake_problem
from guildbank.platform.apikeys import Principal, authenticate
from guildbank.platform.uow import UnitOfWork, unit_of_work

__all__ = [
    "Admin",
    "Caller",
    "DateTimeQuery",
    "GuildId",
    "RawJSONResponse",
    "Reader",
    "RowId",
    "UserId",
    "Writer",
    "api_state",
    "authorize",
    "parse_body",
    "read",
    "render_json",
    "require",
]

M = TypeVar("M", bound=BaseModel)

GuildId = Annotated[str, Path(description="The guild's Discord id")]
# A row id in a path, bounded to 64 bits: larger numbers would overflow the database's BIGINT
# (a 500, not a 422).
RowId = Annotated[int, Path(ge=1, le=MAX_SNOWFLAKE)]


def _discord_id(value: str) -> str:
    if (problem := snowflake_problem(value)) is not None:
        raise ValueError(problem)
    return value


UserId = Annotated[
    str,
    Path(pattern=SNOWFLAKE_PATTERN, max_length=20, description="A Discord user id"),
    AfterValidator(_discord_id),
]


# A date-time in the query as the document says (RFC 3339 ``format: date-time``, an offset
# optional): pydantic alone would also take ``0.5`` as a Unix timestamp.
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _date_time_text(value: Any) -> Any:
    if isinstance(value, str) and not _DATE_TIME.match(value):
        msg = "must be an ISO 8601 date-time, e.g. 2026-03-14T12:00:00Z"
        raise ValueError(msg)
    return value


DateTimeQuery = Annotated[datetime, BeforeValidator(_date_time_text)]


def api_state(request: Request) -> ApiState:
    state: ApiState = request.app.state.api
    return state


async def _principal(request: Request, state: ApiState) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(
            401, "unauthorized", "Missing bearer API key", {"WWW-Authenticate": "Bearer"}
        )
    principal = state.internal_keys.get(token) or state.principals.get(token)
    if principal is None:
        async with unit_of_work(state.services, read_only=True) as uow:
            principal = await authenticate(uow, token.strip())
        if principal is None:
            raise ApiError(
                401, "unauthorized", "Invalid or revoked API key", {"WWW-Authenticate": "Bearer"}
            )
        state.principals.put(token, principal)
    return principal


async def authorize(request: Request, scope: str | None, *, cross_guild: bool = False) -> Principal:
    """The caller's principal, refused unless its API key carries ``scope`` (None: any) and
    covers the guild in the path. A guild-scoped key is refused on a route without a guild
    in its path, unless the route says ``cross_guild`` (it limits what it answers to
    ``principal.guild_ids`` itself, e.g. the event stream)."""
    principal = await _principal(request, api_state(request))
    request.state.principal = principal  # whose Idempotency-Key it is (api/idempotency.py)
    if scope is not None and scope not in principal.scopes:
        raise ApiError(403, "forbidden", f"This API key lacks the {scope!r} scope")
    if principal.guild_ids is not None and not cross_guild:
        guild_id = request.path_params.get("guild_id")
        if guild_id is None:
            raise ApiError(
                403, "forbidden_guild", "This API key is limited to some guilds: use a guild route"
            )
        if not principal.covers(str(guild_id)):
            raise ApiError(403, "forbidden_guild", f"This API key cannot act on guild {guild_id}")
    return principal


def require(scope: str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency admitting only API keys carrying ``scope``."""

    async def dependency(request: Request) -> Principal:
        return await authorize(request, scope)

    return dependency


def _is_json(content_type: str | None) -> bool:
    """FastAPI's rule for a body parameter: no Content-Type, ``application/json`` or
    ``application/*+json`` is read as JSON; anything else (``text/plain``, forms) is not."""
    if not content_type:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    kind, _, subtype = media.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


def parse_body(model: type[M], raw: bytes, content_type: str | None) -> M:
    """Validate a JSON body straight from bytes (the lean routes' stand-in for FastAPI's
    body parameter), failing exactly like FastAPI does: a 422 in the API's error shape,
    also for a body that is missing or not sent as JSON."""
    if not raw:
        raise RequestValidationError(
            [{"type": "missing", "loc": ("body",), "msg": "Field required"}]
        )
    if not _is_json(content_type):
        raise RequestValidationError(
            [
                {
                    "type": "model_attributes_type",
                    "loc": ("body",),
                    "msg": "Input should be a valid dictionary or object to extract fields from",
                }
            ]
        )
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_url=False)]
        raise RequestValidationError(errors) from None


class RawJSONResponse(Response):
    """JSON already serialised (by pydantic-core or orjson): nothing to encode again."""

    media_type = "application/json"


def _model_as_json(value: Any) -> Any:
    """orjson's fallback: a response model (e.g. in a list) becomes its JSON form."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(type(value).__name__)


def render_json(result: Any) -> bytes:
    """A use case's result (a response model, a list of them, or plain data) as JSON."""
    if isinstance(result, BaseModel):
        return result.model_dump_json().encode()
    return orjson.dumps(result, default=_model_as_json)


# Route guards by scope: a parameter (``_: Caller``) or a route dependency (``[Writer]``).
Caller = Annotated[Principal, Depends(require("read"))]
Reader = Depends(require("read"))
Writer = Depends(require("write"))
Admin = Depends(require("admin"))


async def read(request: Request, action: Callable[[UnitOfWork], Awaitable[Any]]) -> Response:
    """Run a read-only use case and render its result."""
    async with unit_of_work(api_state(request).services, read_only=True) as uow:
        result = await action(uow)
        await uow.commit()
    return RawJSONResponse(render_json(result))
