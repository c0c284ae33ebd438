"""Error translation for the API: every error body is ``{"detail": text, "code": code}``."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from guildbank.core.errors import GuildbankError
from guildbank.platform.faults import DATABASE_ERRORS, is_database_unavailable

__all__ = [
    "DATABASE_RETRY_AFTER_SECONDS",
    "ApiError",
    "ErrorOut",
    "ValidationIssue",
    "error_response",
    "install_error_handlers",
]

log = structlog.get_logger(__name__)

STATUS_BY_KIND = {
    "invalid": 400,
    "not_found": 404,
    "conflict": 409,
    "forbidden": 403,
    "rate_limited": 429,
    "unauthorized": 401,
}
CODE_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    429: "rate_limited",
}
# How long a client should wait before retrying when the database is unavailable: pools
# reconnect on the next checkout, so a restart or failover is usually over within seconds.
DATABASE_RETRY_AFTER_SECONDS = 1


class ValidationIssue(BaseModel):
    """Where a request broke the schema, as pydantic reports it."""

    loc: list[str | int] = Field(
        description="Where: `body`, `path`, `query` or `header`, then keys"
    )
    msg: str
    type: str = Field(description="pydantic's error type, e.g. `missing`, `int_parsing`")


class ErrorOut(BaseModel):
    """Every error response: a human ``detail`` and a stable machine ``code``; a validation
    error adds ``errors``, and some refusals add fields naming what was refused (e.g.
    ``retry_after_seconds``, ``balance``)."""

    model_config = ConfigDict(extra="allow")

    detail: str
    code: str = Field(description="Stable machine code, e.g. `insufficient_balance`")
    errors: list[ValidationIssue] | None = Field(
        default=None, description="Only with `validation_error`: each broken constraint"
    )


class ApiError(Exception):
    """An HTTP-level refusal raised by the API's own plumbing (auth, scopes)."""

    def __init__(
        self, status_code: int, code: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.code = code
        self.detail = detail
        self.headers = headers


def error_response(
    status_code: int, code: str, detail: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    return JSONResponse(
        {"detail": detail, "code": code, **extra}, status_code=status_code, headers=headers
    )


def domain_error_response(error: GuildbankError) -> JSONResponse:
    status = STATUS_BY_KIND[error.kind]
    headers = None
    retry = error.fields.get("retry_after_seconds")
    if status == 429 and retry is not None:
        headers = {"Retry-After": str(retry)}
    return error_response(status, error.code, error.message, headers=headers, **error.fields)


def _describe(errors: list[Any]) -> str:
    parts = []
    for error in errors:
        location = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
        parts.append(f"{location}: {error.get('msg', 'invalid')}" if location else error["msg"])
    return "; ".join(parts) or "Invalid request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(GuildbankError)
    async def _domain(_request: Request, error: GuildbankError) -> JSONResponse:
        return domain_error_response(error)

    @app.exception_handler(ApiError)
    async def _api(_request: Request, error: ApiError) -> JSONResponse:
        return error_response(error.status_code, error.code, error.detail, headers=error.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in error.errors()
        ]
        return error_response(422, "validation_error", _describe(errors), errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> Response:
        code = CODE_BY_STATUS.get(error.status_code, "http_error")
        headers = dict(error.headers) if error.headers else {}
        if error.status_code == 405:
            allow = allowed_methods(request)
            if request.method == "OPTIONS":  # what this resource supports, not an error
                return Response(status_code=204, headers={"Allow": ", ".join([*allow, "OPTIONS"])})
            headers["Allow"] = ", ".join(allow)
        return error_response(error.status_code, code, str(error.detail), headers=headers or None)

    async def _database(request: Request, error: Exception) -> JSONResponse:
        if not is_database_unavailable(error):
            raise error  # a bug: the 500 below
        return database_unavailable_response(request, error)

    for kind in DATABASE_ERRORS:
        app.add_exception_handler(kind, _database)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        if is_database_unavailable(error):  # raised where the handlers above do not reach
            return database_unavailable_response(request, error)
        log.error("unhandled error", path=request.url.path, error=repr(error), exc_info=error)
        return error_response(500, "internal_error", "Internal server error")


def allowed_methods(request: Request) -> list[str]:
    """Every method a route serves at this request's path. Starlette's 405 names only the
    first route whose path matched, so ``GET`` alone where ``PUT`` and ``DELETE`` exist too.
    (FastAPI's own route listing, as its OpenAPI generator walks it: included routers too.)"""
    path = request.scope.get("path", "")
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        if route.path is not None and route.methods and compile_path(route.path)[0].match(path):
            methods |= route.methods
    return sorted(methods)


def database_unavailable_response(request: Request, error: BaseException) -> JSONResponse:
    """503 for a lost connection, a refused connect or a locked database. A write retried
    with the same Idempotency-Key applies once, even if the connection broke during COMMIT."""
    log.warning("database unavailable", path=request.url.path, error=repr(error))
    return error_response(
        503,
        "database_unavailable",
        "The database is unavailable right now; try again in a moment.",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )
