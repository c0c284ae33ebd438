"""Issue 14, item 3 over the API: an adjustment, reversal or settings change made with an API
key and no ``actor_id`` records the key's name as who acted (ledger, event log), and the
dashboard's admin log shows it; a Discord moderator named in ``actor_id`` is kept as is."""

from __future__ import annotations

from html import unescape

import httpx
from sqlalchemy import select

from guildbank.platform.models.events import EventLogEntry
from guildbank.platform.models.ledger import LedgerTransaction
from guildbank.platform.uow import Services, unit_of_work
from tests.factories import fund, member


async def _actors(services: Services, guild: str) -> dict[int, str | None]:
    async with unit_of_work(services, read_only=True) as uow:
        rows = (
            await uow.session.execute(
                select(LedgerTransaction.id, LedgerTransaction.actor_id).where(
                    LedgerTransaction.guild_id == guild
                )
            )
        ).all()
        await uow.commit()
    return {row.id: row.actor_id for row in rows}


async def _event_actors(services: Services, guild: str) -> list[tuple[str, str | None]]:
    async with unit_of_work(services, read_only=True) as uow:
        rows = (
            await uow.session.execute(
                select(EventLogEntry)
                .where(
                    EventLogEntry.guild_id == guild,
                    EventLogEntry.name.in_(
                        ["balance.adjusted", "transaction.reversed", "config.changed"]
                    ),
                )
                .order_by(EventLogEntry.id)
            )
        ).scalars()
        found = [(row.name, (row.data or {}).get("actor_id")) for row in rows]
        await uow.commit()
    return found


async def test_api_admin_writes_record_the_key_or_the_named_moderator(
    services: Services, guild: str, api: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    await fund(services, guild, member(1), 100)
    base = f"/api/guilds/{guild}/bytes"
    by_key = await api.post(
        f"{base}/adjust",
        json={"user_id": member(1), "action": "add", "amount": 5, "reason": "bonus"},
    )
    assert by_key.status_code == 200, by_key.text
    by_moderator = await api.post(
        f"{base}/adjust",
        json={
            "user_id": member(1),
            "action": "remove",
            "amount": 3,
            "reason": "spam",
            "actor_id": member(9),
        },
    )
    assert by_moderator.status_code == 200, by_moderator.text
    undone = await api.post(
        f"{base}/transactions/{by_key.json()['transaction_id']}/reverse", json={"reason": "oops"}
    )
    assert undone.status_code == 201, undone.text
    settings = await api.put(f"/api/guilds/{guild}/settings", json={"daily_amount": 12})
    assert settings.status_code == 200, settings.text

    actors = await _actors(services, guild)
    assert actors[by_key.json()["transaction_id"]] == "key:tests"
    assert actors[by_moderator.json()["transaction_id"]] == member(9)
    assert actors[undone.json()["id"]] == "key:tests"
    assert (await _event_actors(services, guild))[-4:] == [
        ("balance.adjusted", "key:tests"),
        ("balance.adjusted", member(9)),
        ("transaction.reversed", "key:tests"),
        ("config.changed", "key:tests"),
    ]

    log = unescape((await admin.get(f"/admin/guilds/{guild}/admin-log")).text)
    assert "API key tests" in log
    assert "Settings changed" in log
    only_key = unescape(
        (await admin.get(f"/admin/guilds/{guild}/admin-log", params={"actor": "key:tests"})).text
    )
    assert only_key.count('data-action="balance.adjusted"') == 1
    assert only_key.count('data-action="transaction.reversed"') == 1
    assert only_key.count('data-action="config.changed"') == 1


async def test_a_refused_api_adjustment_records_nothing(
    services: Services, guild: str, api: httpx.AsyncClient
) -> None:
    await fund(services, guild, member(1), 10)
    before = await _actors(services, guild)
    events_before = await _event_actors(services, guild)
    refused = await api.post(
        f"/api/guilds/{guild}/bytes/adjust",
        json={"user_id": member(1), "action": "remove", "amount": 50, "reason": "too much"},
    )
    assert refused.status_code == 400
    assert await _actors(services, guild) == before
    assert await _event_actors(services, guild) == events_before
