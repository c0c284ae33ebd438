"""Bearer service keys: every route but the public few refuses missing, bad and revoked keys;
scopes separate readers, writers and admins.

The routes are enumerated from the app itself, so a new endpoint is covered automatically
(a public one must be added to PUBLIC deliberately). The scope each route needs is read from
its ``require(...)`` dependencies and then checked by calling it with keys of each scope.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from starlette.routing import Mount

from guildbank.platform.apikeys import revoke_api_key
from guildbank.platform.uow import Services, unit_of_work
from guildbank.runtime.app import create_app
from tests.conftest import make_api_key, settings_for
from tests.factories import bytes_url, error_of, member

# Answer without a key. /metrics is public today (Prometheus scrapes it without credentials);
# SPEC §10 lists only /health, / and the docs, see the report on whether to protect it.
PUBLIC = {
    ("GET", "/"),
    ("GET", "/health"),
    ("GET", "/api/docs"),
    ("GET", "/api/openapi.json"),
}
# The dashboard is mounted whole and authenticates people with sessions (tested with it).
SESSION_MOUNTS = {"/admin"}
# Routes that check the key inside the handler (the stream also accepts dashboard sessions).
IMPLICIT_SCOPE = {
    ("GET", "/api/stream"): "read",
    ("POST", "/api/guilds/{guild_id}/bytes/transactions"): "write",  # the lean transfer route
    ("POST", "/api/guilds/{guild_id}/shop/{item_id}/buy"): "write",  # the lean purchase route
}
BYTES = "/api/guilds/{guild_id}/bytes"
# SPEC §4.6 / the issue: configuration, money tools and the integrity report are admin-only.
MUST_BE_ADMIN = {
    ("PUT", f"{BYTES}/config"),
    ("POST", f"{BYTES}/adjust"),
    ("POST", f"{BYTES}/transactions/{{transaction_id}}/reverse"),
    ("GET", f"{BYTES}/integrity"),
    ("GET", "/api/guilds/{guild_id}/export"),  # every row of a guild
}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    scopes: frozenset[str]  # what its ``require(...)`` dependencies ask for

    @property
    def route(self) -> tuple[str, str]:
        return self.method, self.path

    @property
    def scope(self) -> str:
        """The one scope a key needs here."""
        scopes = self.scopes or {IMPLICIT_SCOPE.get(self.route, "")}
        assert len(scopes) == 1, (self.route, scopes)
        (scope,) = scopes
        assert scope in ("read", "write", "admin"), (self.route, scope)
        return scope


def _declared_scopes(dependant: Any) -> frozenset[str]:
    found: set[str] = set()
    for dependency in getattr(dependant, "dependencies", ()):
        call = dependency.call
        if call is not None and getattr(call, "__qualname__", "").startswith("require."):
            found.add(inspect.getclosurevars(call).nonlocals["scope"])
        found |= _declared_scopes(dependency)
    return frozenset(found)


def _walk(routes: Sequence[Any], prefix: str = "") -> Iterator[Endpoint]:
    for route in routes:
        inner = getattr(route, "original_router", None)  # FastAPI >= 0.16x lazy include
        if inner is not None:
            yield from _walk(inner.routes, prefix + route.include_context.prefix)
            continue
        if isinstance(route, Mount):
            assert prefix + route.path in SESSION_MOUNTS, route.path
            continue
        scopes = _declared_scopes(getattr(route, "dependant", None))
        path = getattr(route, "path_format", route.path)  # "{squad_id:int}" as documented
        for method in sorted(getattr(route, "methods", None) or ()):
            if method != "HEAD":
                yield Endpoint(method, prefix + path, scopes)


def endpoints(app: FastAPI) -> list[Endpoint]:
    """Every (method, path) the app serves, schema or not, cross-checked against OpenAPI."""
    found = sorted(set(_walk(app.routes)), key=lambda e: e.route)
    routes = {e.route for e in found}
    documented = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    assert documented <= routes, documented - routes
    assert ("GET", "/metrics") in routes
    assert ("GET", "/") in routes
    return found


def protected(app: FastAPI) -> list[Endpoint]:
    found = [e for e in endpoints(app) if e.route not in PUBLIC]
    assert len(found) >= 14, found
    return found


def concrete(path: str, guild: str) -> str:
    values = {"guild_id": guild, "user_id": member(1)}
    return re.sub(r"{(\w+)}", lambda m: values.get(m.group(1), "1"), path)


async def call(client: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
    if method in ("POST", "PUT", "PATCH"):
        kwargs.setdefault("json", {})
    return await client.request(method, url, **kwargs)


async def _revoke(services: Services, token: str) -> None:
    async with unit_of_work(services) as uow:
        await revoke_api_key(uow, name_or_prefix=token.split("_")[1])
        await uow.commit()


async def test_scopes_are_declared_sensibly(app: FastAPI) -> None:
    scopes = {e.route: e.scope for e in protected(app)}
    for route in MUST_BE_ADMIN:
        assert scopes[route] == "admin", route
    for (method, path), scope in scopes.items():
        if method != "GET":
            assert scope in ("write", "admin"), (method, path)


async def test_public_routes_answer_without_a_key(anonymous: httpx.AsyncClient) -> None:
    for method, path in sorted(PUBLIC):
        response = await anonymous.request(method, path)
        assert response.status_code == 200, (path, response.text)


async def test_every_other_route_refuses_a_missing_key(
    app: FastAPI, anonymous: httpx.AsyncClient, guild: str
) -> None:
    for endpoint in protected(app):
        method, path = endpoint.route
        response = await call(anonymous, method, concrete(path, guild))
        body = error_of(response, 401, "unauthorized")
        assert response.headers["www-authenticate"] == "Bearer", path
        assert "key" in body["detail"].lower()


MALFORMED = (
    "Bearer",
    "Bearer ",
    "Bearer not-a-key",
    "Bearer gb_000000000000_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "Token {key}",
    "Basic {key}",
    "{key}",
    "Bearer {key}x",
    "Bearer {tampered}",
)


async def test_every_other_route_refuses_a_malformed_or_wrong_key(
    app: FastAPI, anonymous: httpx.AsyncClient, guild: str, api_key: str
) -> None:
    tampered = api_key[:-1] + ("A" if api_key[-1] != "A" else "B")
    for header in MALFORMED:
        value = header.format(key=api_key, tampered=tampered)
        for endpoint in protected(app):
            method, path = endpoint.route
            response = await call(
                anonymous, method, concrete(path, guild), headers={"Authorization": value}
            )
            assert response.status_code == 401, (header, method, path, response.text)
            error_of(response, 401, "unauthorized")


async def test_the_valid_key_is_accepted_everywhere(
    app: FastAPI, api: httpx.AsyncClient, guild: str
) -> None:
    """The control for the refusals above: the same requests with the real key get through."""
    for endpoint in protected(app):
        method, path = endpoint.route
        response = await call(api, method, concrete(path, guild))
        assert response.status_code not in (401, 403), (method, path, response.text)


async def test_every_other_route_refuses_a_revoked_key(
    app: FastAPI, anonymous: httpx.AsyncClient, guild: str, services: Services
) -> None:
    token = await make_api_key(services)
    await _revoke(services, token)
    for endpoint in protected(app):
        method, path = endpoint.route
        response = await call(
            anonymous, method, concrete(path, guild), headers={"Authorization": f"Bearer {token}"}
        )
        body = error_of(response, 401, "unauthorized")
        assert "revoked" in body["detail"].lower()


async def test_a_key_revoked_while_in_use_stops_working_when_the_cache_expires(
    services: Services, database_url: str, guild: str
) -> None:
    app = create_app(settings_for(database_url, api_key_cache_seconds=0), services)
    token = await make_api_key(services)
    url = bytes_url(guild, f"/balance/{member(1)}")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        assert (await client.get(url)).status_code == 200
        await _revoke(services, token)
        error_of(await client.get(url), 401, "unauthorized")


def _client(app: FastAPI, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {token}"},
    )


async def test_a_read_key_reads_but_cannot_write_or_administer(
    app: FastAPI, services: Services, guild: str
) -> None:
    token = await make_api_key(services, ("read",))
    async with _client(app, token) as client:
        for endpoint in protected(app):
            method, path = endpoint.route
            response = await call(client, method, concrete(path, guild))
            if endpoint.scope == "read":
                assert response.status_code not in (401, 403), (path, response.text)
            else:
                body = error_of(response, 403, "forbidden")
                assert f"{endpoint.scope!r} scope" in body["detail"], body


async def test_a_write_key_writes_but_cannot_administer(
    app: FastAPI, services: Services, guild: str
) -> None:
    token = await make_api_key(services, ("read", "write"))
    async with _client(app, token) as client:
        for endpoint in protected(app):
            method, path = endpoint.route
            response = await call(client, method, concrete(path, guild))
            if endpoint.scope == "admin":
                body = error_of(response, 403, "forbidden")
                assert "'admin' scope" in body["detail"], body
            else:
                assert response.status_code not in (401, 403), (path, response.text)


async def test_a_write_only_key_cannot_read(app: FastAPI, services: Services, guild: str) -> None:
    token = await make_api_key(services, ("write",))
    async with _client(app, token) as client:
        error_of(await client.get(bytes_url(guild, f"/balance/{member(1)}")), 403, "forbidden")
        response = await client.post(bytes_url(guild, f"/daily/{member(1)}"))
        assert response.status_code == 200, response.text


async def test_a_refused_write_changes_nothing(
    app: FastAPI, services: Services, guild: str, api: httpx.AsyncClient
) -> None:
    token = await make_api_key(services, ("read",))
    async with _client(app, token) as client:
        error_of(await client.post(bytes_url(guild, f"/daily/{member(1)}")), 403, "forbidden")
        error_of(
            await client.post(
                bytes_url(guild, "/adjust"),
                json={"user_id": member(1), "action": "add", "amount": 5, "reason": "x"},
            ),
            403,
            "forbidden",
        )
    balance = (await api.get(bytes_url(guild, f"/balance/{member(1)}"))).json()
    assert balance["balance"] == 100
    assert balance["last_daily"] is None
    assert (await api.get(bytes_url(guild, "/transactions"))).json() == []
