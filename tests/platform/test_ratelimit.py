"""Rate limits live in Services, in memory or in Redis (shared by every process)."""

from __future__ import annotations

import secrets

import pytest

from guildbank.core.errors import RateLimited
from guildbank.platform.ratelimit import SharedLimiter
from guildbank.runtime.services import build_services
from tests.conftest import REDIS_URL, settings_for


async def test_hits_beyond_the_limit_are_refused_with_a_retry_after() -> None:
    limiter = SharedLimiter()
    for _ in range(3):
        await limiter.hit_per_minute(3, "balance", "g", "alice")
    with pytest.raises(RateLimited) as caught:
        await limiter.hit_per_minute(3, "balance", "g", "alice")
    assert caught.value.code == "rate_limited"
    assert 1 <= caught.value.fields["retry_after_seconds"] <= 61
    await limiter.hit_per_minute(3, "balance", "g", "bob")  # one budget per identifiers
    await limiter.close()


async def test_a_limit_of_zero_is_off_and_counts_nothing() -> None:
    limiter = SharedLimiter()
    for _ in range(50):
        await limiter.hit_per_minute(0, "balance", "g", "alice")
    await limiter.hit_per_minute(1, "balance", "g", "alice")
    with pytest.raises(RateLimited):
        await limiter.hit_per_minute(1, "balance", "g", "alice")
    await limiter.close()


async def test_processes_with_redis_share_one_budget(postgres_url: str) -> None:
    """Two web processes built from the same settings count together."""
    settings = settings_for(postgres_url, redis_url=REDIS_URL)
    one, two = build_services(settings), build_services(settings)
    member = secrets.token_hex(8)  # fresh Redis keys
    try:
        assert one.limits.redis_url == REDIS_URL
        await one.limits.hit_per_minute(2, "balance", "g", member)
        await two.limits.hit_per_minute(2, "balance", "g", member)
        with pytest.raises(RateLimited):
            await one.limits.hit_per_minute(2, "balance", "g", member)
    finally:
        await one.close()
        await two.close()
