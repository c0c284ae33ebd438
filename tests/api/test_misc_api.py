"""The public corners of the web process: health, landing page, OpenAPI, metrics, error shape."""

from __future__ import annotations

import httpx

from tests.factories import bytes_url, error_of, member


async def test_health_answers_without_a_key(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["x-request-id"]


async def test_request_id_is_echoed(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/health", headers={"X-Request-ID": "abc123"})
    assert response.headers["x-request-id"] == "abc123"


async def test_health_detailed_reports_the_database(
    api: httpx.AsyncClient, anonymous: httpx.AsyncClient, backend: str
) -> None:
    assert (await anonymous.get("/health/detailed")).status_code == 401
    response = await api.get("/health/detailed")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert (
        body["checks"]["database"]["backend"]
        == {"sqlite": "sqlite", "postgres": "postgresql"}[backend]
    )


async def test_landing_page_names_the_backend(anonymous: httpx.AsyncClient, backend: str) -> None:
    response = await anonymous.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "guildbank is running" in response.text
    assert ("postgresql" if backend == "postgres" else "sqlite") in response.text
    assert "/api/docs" in response.text


async def test_openapi_schema_is_public_and_documents_the_api(
    anonymous: httpx.AsyncClient,
) -> None:
    response = await anonymous.get("/api/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "guildbank"
    paths = schema["paths"]
    for path in (
        "/api/guilds/{guild_id}",
        "/api/guilds/{guild_id}/bytes/balance/{user_id}",
        "/api/guilds/{guild_id}/bytes/daily/{user_id}",
        "/api/guilds/{guild_id}/bytes/transactions",
        "/api/guilds/{guild_id}/bytes/leaderboard",
        "/api/guilds/{guild_id}/bytes/config",
        "/api/guilds/{guild_id}/bytes/adjust",
        "/api/guilds/{guild_id}/bytes/integrity",
        "/api/guilds/{guild_id}/bytes/transactions/{transaction_id}/reverse",
    ):
        assert path in paths, path
    assert set(paths["/api/guilds/{guild_id}/bytes/transactions"]) == {"get", "post"}
    assert set(paths["/api/guilds/{guild_id}/bytes/config"]) == {"get", "put"}


async def test_docs_page_is_public(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/api/docs")
    assert response.status_code == 200
    assert "swagger" in response.text.lower()
    assert "/api/openapi.json" in response.text


def _requests_counted(metrics: str, status: str) -> float:
    prefix = f'guildbank_http_requests_total{{method="GET",status="{status}"}} '
    lines = [line for line in metrics.splitlines() if line.startswith(prefix)]
    return float(lines[0].removeprefix(prefix)) if lines else 0.0


async def test_metrics_count_requests(api: httpx.AsyncClient, guild: str) -> None:
    before = _requests_counted((await api.get("/metrics")).text, "404")
    for _ in range(3):
        await api.get(bytes_url("333333333333333333", f"/balance/{member(1)}"))
    response = await api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert _requests_counted(response.text, "404") == before + 3
    assert "guildbank_http_request_seconds_bucket" in response.text


async def test_unknown_routes_are_404_in_the_error_shape(
    anonymous: httpx.AsyncClient, api: httpx.AsyncClient
) -> None:
    for client in (anonymous, api):
        for path in ("/nope", "/api/nope", "/api/guilds", "/api/guilds/1/bytes/nothing-here"):
            body = error_of(await client.get(path), 404, "not_found")
            assert "not found" in body["detail"].lower()


async def test_wrong_method_is_405_in_the_error_shape(api: httpx.AsyncClient, guild: str) -> None:
    error_of(await api.delete(bytes_url(guild, "/config")), 405, "method_not_allowed")
    error_of(await api.post("/health"), 405, "method_not_allowed")


async def test_large_responses_are_gzipped(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers.get("content-encoding") == "gzip"
