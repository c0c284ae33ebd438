"""The fake's REST plumbing: parse, authenticate, route, inject failures, record every call.

Route handlers live in `discord_routes_*` modules; this module turns their replies and
`DiscordHTTPError`s into responses in Discord's shape and records each call for assertions.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from tests.fakes.discord_entities import FakeUser
    from tests.fakes.discord_state import DiscordState

__all__ = [
    "DiscordHTTPError",
    "InjectedFailure",
    "RecordedCall",
    "Reply",
    "RestApi",
    "RestRequest",
    "Route",
]

API_PREFIXES = ("/api/v10", "/api")


class DiscordHTTPError(Exception):
    """Raised by handlers; rendered as `{"code": ..., "message": ...}` with `status`."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        oauth_error: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.oauth_error = status, code, message, oauth_error
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        """Discord's JSON error body (OAuth2 endpoints use `error`/`error_description`; a 429
        carries `retry_after` and `global`)."""
        if self.oauth_error is not None:
            return {"error": self.oauth_error, "error_description": self.message}
        if self.retry_after is not None:
            return {"message": self.message, "retry_after": self.retry_after, "global": False}
        return {"code": self.code, "message": self.message}


@dataclass
class Reply:
    """What a handler returns: JSON `body` (None with 204), status and extra headers."""

    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class RestRequest:
    """A parsed request as handlers see it."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    form: dict[str, str]
    files: dict[str, bytes]
    headers: dict[str, str]
    params: dict[str, str] = field(default_factory=dict)
    bearer_user: FakeUser | None = None
    bearer_scopes: list[str] = field(default_factory=list)
    base_url: str = ""

    def id(self, name: str) -> int:
        """A numeric path parameter."""
        return int(self.params[name])

    @property
    def body(self) -> dict[str, Any]:
        """The JSON object body (or `payload_json` of a multipart body), `{}` when absent."""
        return self.json if isinstance(self.json, dict) else {}


@dataclass
class RecordedCall:
    """One REST call the fake received, with the reply it gave."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    headers: dict[str, str]
    form: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    status: int = 0
    response: Any = None
    at: float = field(default_factory=time.monotonic)  # when the fake received it


Handler = Callable[[RestRequest], Awaitable[Reply]]


@dataclass(frozen=True)
class Route:
    """`auth`: "bot" (Bot token), "user" (Bot or Bearer), "bearer", or "none"."""

    method: str
    pattern: re.Pattern[str]
    handler: Handler
    auth: str = "bot"


def route(method: str, pattern: str, handler: Handler, auth: str = "bot") -> Route:
    """Build a route; `{name}` in the pattern matches a snowflake, `{name:str}` any segment."""
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>\\d+)", pattern)
    regex = re.sub(r"\{(\w+):str\}", r"(?P<\1>[^/]+)", regex)
    return Route(method, re.compile(regex), handler, auth)


@dataclass
class InjectedFailure:
    """A failure tests configure: matching calls get `status` with `code`/`message`."""

    method: str
    path_regex: str
    status: int
    code: int
    message: str
    remaining: int | None
    retry_after: float | None = None  # a 429's retry_after


class RestApi:
    """Routes REST calls, records them, and lets tests wait for them."""

    def __init__(self, state: DiscordState) -> None:
        self.state = state
        self.routes: list[Route] = []
        self.calls: list[RecordedCall] = []
        self.failures: list[InjectedFailure] = []
        self.internal_errors: list[BaseException] = []
        self._changed = asyncio.Event()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """aiohttp catch-all handler."""
        path = request.path
        for prefix in API_PREFIXES:
            if path.startswith(prefix + "/"):
                path = path.removeprefix(prefix)
                break
        parsed = await _parse(request, path)
        call = RecordedCall(
            request.method,
            path,
            parsed.query,
            parsed.json,
            parsed.headers,
            parsed.form,
            parsed.files,
        )
        try:
            reply = await self._dispatch(parsed)
        except DiscordHTTPError as error:
            reply = Reply(error.body(), error.status)
        except Exception as error:
            self.internal_errors.append(error)
            reply = Reply({"code": 0, "message": f"fake discord crashed: {error!r}"}, 400)
        call.status, call.response = reply.status, reply.body
        self.calls.append(call)
        self._changed.set()
        if reply.status == 204 or (reply.body is None and reply.status < 300):
            return web.Response(status=204, headers=reply.headers)
        if reply.body is None:
            return web.Response(status=reply.status, headers=reply.headers)
        return web.json_response(reply.body, status=reply.status, headers=reply.headers)

    async def _dispatch(self, request: RestRequest) -> Reply:
        for failure in self.failures:
            if failure.method == request.method and re.fullmatch(failure.path_regex, request.path):
                if failure.remaining is not None:
                    failure.remaining -= 1
                    if failure.remaining <= 0:
                        self.failures.remove(failure)
                raise DiscordHTTPError(
                    failure.status, failure.code, failure.message, retry_after=failure.retry_after
                )
        matched_path = False
        for candidate in self.routes:
            match = candidate.pattern.fullmatch(request.path)
            if match is None:
                continue
            matched_path = True
            if candidate.method != request.method:
                continue
            request.params = match.groupdict()
            self._authenticate(request, candidate.auth)
            return await candidate.handler(request)
        if matched_path:
            raise DiscordHTTPError(405, 0, "405: Method Not Allowed")
        raise DiscordHTTPError(404, 0, "404: Not Found")

    def _authenticate(self, request: RestRequest, auth: str) -> None:
        header = request.headers.get("Authorization", "")
        if auth == "none":
            return
        if auth in ("user", "bearer") and header.startswith("Bearer "):
            grant = self.state.oauth_tokens.get(header.removeprefix("Bearer "))
            if grant is not None:
                request.bearer_user = self.state.users[grant.user_id]
                request.bearer_scopes = grant.scopes
                return
        elif auth in ("bot", "user") and header == f"Bot {self.state.token}":
            return
        raise DiscordHTTPError(401, 0, "401: Unauthorized")

    def find(
        self,
        method: str | None,
        path_regex: str,
        *,
        since: int = 0,
        predicate: Callable[[RecordedCall], bool] | None = None,
    ) -> list[RecordedCall]:
        """Recorded calls from index `since` whose path fullmatches `path_regex`."""
        return [
            call
            for call in self.calls[since:]
            if (method is None or call.method == method)
            and re.fullmatch(path_regex, call.path)
            and (predicate is None or predicate(call))
        ]

    async def wait_for(
        self,
        method: str | None,
        path_regex: str,
        *,
        since: int,
        count: int,
        predicate: Callable[[RecordedCall], bool] | None,
    ) -> list[RecordedCall]:
        """Wait (callers bound it with `asyncio.timeout`) until `count` matching calls exist."""
        while len(found := self.find(method, path_regex, since=since, predicate=predicate)) < count:
            self._changed.clear()
            await self._changed.wait()
        return found[:count]

    def describe(self, since: int = 0) -> str:
        """The recorded calls as text, for timeout messages."""
        return "\n  ".join(f"{c.method} {c.path} -> {c.status}" for c in self.calls[since:])


async def _parse(request: web.Request, path: str) -> RestRequest:
    headers = dict(request.headers)
    body: Any = None
    form: dict[str, str] = {}
    files: dict[str, bytes] = {}
    if request.content_type == "application/json" and request.can_read_body:
        body = await request.json()
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for key, value in (await request.post()).items():
            if isinstance(value, str):
                form[key] = value
            elif isinstance(value, web.FileField):
                files[value.filename or key] = value.file.read()
            else:
                form[key] = bytes(value).decode()
        if "payload_json" in form:
            body = json.loads(form["payload_json"])
    base_url = f"{request.scheme}://{request.host}"
    return RestRequest(
        request.method, path, dict(request.query), body, form, files, headers, base_url=base_url
    )
