"""Scaled mode starts and works: PostgreSQL + Redis wired from settings alone."""

from __future__ import annotations

import secrets

import httpx

from guildbank.platform.redis_bus import RedisBus
from guildbank.runtime.app import create_app
from tests.conftest import REDIS_URL, settings_for
from tests.factories import member


async def test_web_process_starts_on_postgres_and_redis(postgres_url: str) -> None:
    """`guildbank web` with GUILDBANK_REDIS_URL: Redis bus and Redis rate limits, from settings."""
    settings = settings_for(postgres_url, redis_url=REDIS_URL)
    key = "scaled-mode-test-key"
    app = create_app(settings, internal_key=key)
    async with app.router.lifespan_context(app):
        assert isinstance(app.state.api.services.bus, RedisBus)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://testserver",
            headers={"Authorization": f"Bearer {key}"},
        ) as api:
            guild = str(secrets.randbelow(10**17) + 10**17)  # fresh Redis rate-limit keys
            assert (
                await api.put(f"/api/guilds/{guild}", json={"name": "scaled"})
            ).status_code == 200
            limited = await api.put(
                f"/api/guilds/{guild}/bytes/config", json={"rate_limit_per_minute": 1}
            )
            assert limited.status_code == 200
            first = await api.post(f"/api/guilds/{guild}/bytes/daily/{member(1)}")
            assert first.status_code == 200, first.text
            # The second balance change within the minute is refused by the Redis-backed limiter.
            second = await api.post(
                f"/api/guilds/{guild}/bytes/transactions",
                json={"giver_id": member(1), "receiver_id": member(2), "amount": 1},
            )
            assert second.status_code == 429
            assert int(second.headers["Retry-After"]) >= 1
            detailed = await api.get("/health/detailed")
            assert detailed.json()["checks"]["redis"]["ok"] is True
