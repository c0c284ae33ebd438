"""The API client's transport: how the bot (and integrators) talk to guildbank.

One code path, two transports: in the embedded single-process mode the client calls the
ASGI app in-process; in split mode it speaks HTTP with a bearer service key. Writes carry
an ``Idempotency-Key`` (the bot derives it from the Discord event id), which is what makes
retrying them safe: a retried write never pays twice.
"""

from __future__ import annotations

import asyncio
from typing import Any, Self, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter
from starlette.types import ASGIApp

__all__ = ["ApiError", "ApiTransport", "ApiUnavailable"]

M = TypeVar("M", bound=BaseModel)
RETRY_STATUSES = frozenset({502, 503, 504})
RETRY_DELAYS = (0.2, 0.6)


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

    def __init__(self, http: httpx.AsyncClient, *, retry_delays: tuple[float, ...] = RETRY_DELAYS):
        self._http = http
        self._retry_delays = retry_delays

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
        attempts = (0.0, *self._retry_delays) if retryable else (0.0,)
        failure: ApiUnavailable | None = None
        for delay in attempts:
            if delay:
                await asyncio.sleep(delay)
            try:
                response = await self._http.request(
                    method, path, json=json, params=params, headers=headers
                )
            except httpx.TransportError as error:
                failure = ApiUnavailable(0, "unavailable", f"guildbank API unreachable: {error!r}")
                continue
            if response.status_code in RETRY_STATUSES or response.status_code >= 500:
                failure = ApiUnavailable(
                    response.status_code,
                    "unavailable",
                    f"guildbank API failed with {response.status_code}",
                )
                if response.status_code not in RETRY_STATUSES:
                    break
                continue
            if response.status_code >= 400:
                body = response.json()
                fields = {k: v for k, v in body.items() if k not in ("detail", "code")}
                raise ApiError(
                    response.status_code,
                    str(body.get("code", "error")),
                    str(body.get("detail", "")),
                    fields,
                )
            return response.json()
        assert failure is not None
        raise failure

    async def _model(self, model: type[M], method: str, path: str, **kwargs: Any) -> M:
        return model.model_validate(await self._request(method, path, **kwargs))

    async def _list(self, model: type[M], method: str, path: str, **kwargs: Any) -> list[M]:
        return TypeAdapter(list[model]).validate_python(  # type: ignore[valid-type]
            await self._request(method, path, **kwargs)
        )
