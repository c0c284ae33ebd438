"""Error translation for the API: every error body is ``{"detail": text, "code": code}``."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from guildbank.core.errors import GuildbankError

__all__ = ["ApiError", "error_response", "install_error_handlers"]

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
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    429: "rate_limited",
}


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
    async def _http(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = CODE_BY_STATUS.get(error.status_code, "http_error")
        headers = dict(error.headers) if error.headers else None
        return error_response(error.status_code, code, str(error.detail), headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        log.error("unhandled error", path=request.url.path, error=repr(error), exc_info=error)
        return error_response(500, "internal_error", "Internal server error")
