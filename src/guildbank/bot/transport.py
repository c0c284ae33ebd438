"""The API client's transport: how the bot (and integrators) talk to guildbank.

One code path, two transports: in the embedded single-process mode the client calls the
ASGI app in-process; in split mode it speaks HTTP with a bearer service key. Writes carry
an ``Idempotency-Key`` (the bot derives it from the Discord event id), which is what makes
retrying them safe: a retried write never pays twice.

Retries are bounded: reads and keyed writes are retried on 502/503/504 and unreachable
servers after a short backoff, never sooner than the API's ``Retry-After`` (a 503
``database_unavailable`` says 1 s), and never past a total wait that still lets the bot answer
a Discord interaction in time. Then ``ApiUnavailable`` tells the member to try again shortly.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Self, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter
from starlette.types import ASGIApp

__all__ = ["ApiError", "ApiTransport", "ApiUnavailable", "retry_after_seconds"]

M = TypeVar("M", bound=BaseModel)
RETRY_STATUSES = frozenset({502, 503, 504})
RETRY_DELAYS = (0.2, 0.6)
# Seconds a call may spend waiting between attempts: Discord wants an interaction answered
# within 3 s, and the bot answers after its API call.
MAX_RETRY_WAIT = 2.0


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """A ``Retry-After`` header (seconds or an HTTP date) in seconds; None if absent or bad."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


class ApiError(Exception):
    """A refusal from the API, with its stable ``code`` and human ``detail``."""

    def __init__(self, status: int, code: str, detail: str, fields: dict[str, Any] | None = None):
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.fields = fields or {}


class ApiUnavailable(ApiError):
    """The API could not be reached or failed internally (after retries where safe)."""


class ApiTransport:
    """Requests with retries where safe; each feature's client adds its typed methods."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
        max_retry_wait: float = MAX_RETRY_WAIT,
    ):
        self._http = http
        self._retry_delays = retry_delays
        self._max_retry_wait = max_retry_wait

    @classmethod
    def over_http(cls, base_url: str, api_key: str, *, timeout: float = 10.0) -> Self:
        return cls(
            httpx.AsyncClient(
                base_url=base_url.rstrip("/"),
                timeout=timeout,
                headers={"Authorization": f"Bearer {api_key}"},
            )
        )

    @classmethod
    def in_process(cls, app: ASGIApp, api_key: str) -> Self:
        return cls(
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://guildbank.internal",
                headers={"Authorization": f"Bearer {api_key}"},
            )
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        retryable = method == "GET" or idempotency_key is not None
        backoffs = iter(self._retry_delays if retryable else ())
        waited = 0.0
        while True:
            try:
                response = await self._http.request(
                    method, path, json=json, params=params, headers=headers
                )
            except httpx.TransportError as error:
                failure = ApiUnavailable(0, "unavailable", f"guildbank API unreachable: {error!r}")
                asked = None
            else:
                if response.status_code < 400:
                    return response.json()
                if response.status_code < 500:
                    raise _refusal(response)
                failure = _unavailable(response)
                if response.status_code not in RETRY_STATUSES:
                    raise failure  # a 500 is a bug: retrying would only repeat it
                asked = retry_after_seconds(response.headers.get("retry-after"))
            backoff = next(backoffs, None)
            if backoff is None:
                raise failure
            delay = max(backoff, asked or 0.0)
            if waited + delay > self._max_retry_wait:
                raise failure  # told to wait longer than a member would
            waited += delay
            await asyncio.sleep(delay)

    async def _model(self, model: type[M], method: str, path: str, **kwargs: Any) -> M:
        return model.model_validate(await self._request(method, path, **kwargs))

    async def _list(self, model: type[M], method: str, path: str, **kwargs: Any) -> list[M]:
        return TypeAdapter(list[model]).validate_python(  # type: ignore[valid-type]
            await self._request(method, path, **kwargs)
        )


def _error_body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _refusal(response: httpx.Response) -> ApiError:
    body = _error_body(response)
    fields = {k: v for k, v in body.items() if k not in ("detail", "code")}
    return ApiError(
        response.status_code, str(body.get("code", "error")), str(body.get("detail", "")), fields
    )


def _unavailable(response: httpx.Response) -> ApiUnavailable:
    """The API could not serve the call; ``fields["api_code"]`` keeps its reason (e.g.
    ``database_unavailable``) for logs and for what the member is told."""
    code = _error_body(response).get("code")
    return ApiUnavailable(
        response.status_code,
        "unavailable",
        f"guildbank API failed with {response.status_code}",
        {"api_code": code} if isinstance(code, str) else None,
    )
