"""Admin money actions and integrity problems post in the guild's log channel through the
outbox: money actions in their own transaction, a check's problems in a unit after it (none
without a log channel)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from guildbank.features.economy import admin as economy_admin
from guildbank.features.economy import integrity_log
from guildbank.features.guilds.service import update_config
from guildbank.platform.models.events import EventLogEntry
from guildbank.platform.uow import Services, unit_of_work
from tests.factories import configure, fund, member
from tests.ledger.test_integrity import tamper_balance
from tests.outbox.helpers import all_jobs

CHANNEL = "600000000000000001"


async def test_adjustments_and_reversals_are_logged_in_the_log_channel(
    services: Services, guild: str
) -> None:
    await fund(services, guild, member(1), 100)
    assert await all_jobs(services) == []  # no log channel yet
    await configure(services, guild, log_channel_id=CHANNEL)
    async with unit_of_work(services) as uow:
        adjusted = await economy_admin.adjust_balance(
            uow,
            guild_id=guild,
            user_id=member(1),
            action="add",
            amount=25,
            reason="event prize",
            actor_id=member(9),
        )
        await economy_admin.reverse_transaction(
            uow,
            guild_id=guild,
            transaction_id=adjusted.transaction_id or 0,
            reason="typo",
            actor_id=None,
        )
        await uow.commit()
    posts = await all_jobs(services)
    assert [(j.kind, j.payload["channel_id"]) for j in posts] == [("message.post", CHANNEL)] * 2
    assert posts[0].payload["content"] == (
        f"🛠️ Balance of <@{member(1)}> adjusted by +25 bytes (now 125) by <@{member(9)}>: "
        "event prize"
    )
    assert (
        posts[1]
        .payload["content"]
        .startswith(f"↩️ Transaction #{adjusted.transaction_id} reversed by #")
    )


async def test_integrity_problems_are_posted_once_per_guild_and_edited_on_recheck(
    services: Services, guild: str, api: httpx.AsyncClient
) -> None:
    await fund(services, guild, member(1), 100)
    assert (await api.get(f"/api/guilds/{guild}/bytes/integrity")).json()["ok"] is True
    await configure(services, guild, log_channel_id=CHANNEL)
    assert (await api.get(f"/api/guilds/{guild}/bytes/integrity")).json()["ok"] is True
    assert await all_jobs(services) == []  # a clean ledger posts nothing

    await tamper_balance(services, guild, member(1), 7)
    for _ in range(2):  # checked twice: one post, edited in place (its key), not two
        answer = await api.get(f"/api/guilds/{guild}/bytes/integrity")
        assert answer.status_code == 200
        assert answer.json()["ok"] is False
    posts = await all_jobs(services)
    assert [(j.kind, j.payload["channel_id"], j.dedupe_key) for j in posts] == [
        ("message.post", CHANNEL, f"message:integrity:{guild}")
    ]
    content = posts[0].payload["content"]
    assert content.startswith("⚠️ **Ledger integrity check: 3 problems**")
    assert "`balance_mismatch`" in content
    assert "`guild_total_nonzero`" in content


async def test_an_integrity_post_that_cannot_be_written_leaves_the_check_answered(
    services: Services, guild: str, api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await fund(services, guild, member(1), 100)
    await configure(services, guild, log_channel_id=CHANNEL)
    await tamper_balance(services, guild, member(1), 7)

    async def refuse(*_: object, **__: object) -> bool:
        raise OperationalError("INSERT", {}, OSError("database went away"))

    monkeypatch.setattr(integrity_log, "enqueue_integrity_post", refuse)
    answer = await api.get(f"/api/guilds/{guild}/bytes/integrity")
    assert (answer.status_code, answer.json()["ok"]) == (200, False)
    assert await all_jobs(services) == []


# --- Who acted, and settings changes (issue 14, item 3) --------------------------------------
# (Imported here: this part was appended while others edit the file's head.)


async def test_a_dashboard_admin_or_api_key_is_named_not_mentioned(
    services: Services, guild: str, api: httpx.AsyncClient
) -> None:
    await fund(services, guild, member(1), 100)
    await configure(services, guild, log_channel_id=CHANNEL)
    async with unit_of_work(services) as uow:
        await economy_admin.adjust_balance(
            uow,
            guild_id=guild,
            user_id=member(1),
            action="remove",
            amount=5,
            reason="spam",
            actor_id="local:admin",
        )
        await uow.commit()
    answer = await api.post(
        f"/api/guilds/{guild}/bytes/adjust",
        json={"user_id": member(1), "action": "add", "amount": 7, "reason": "bonus"},
    )
    assert answer.status_code == 200, answer.text
    reversed_ = await api.post(
        f"/api/guilds/{guild}/bytes/transactions/{answer.json()['transaction_id']}/reverse",
        json={"reason": "oops"},
    )
    assert reversed_.status_code == 201, reversed_.text
    lines = [j.payload["content"] for j in await all_jobs(services)]
    assert lines[0] == (
        f"🛠️ Balance of <@{member(1)}> adjusted by -5 bytes (now 95) by dashboard admin admin: spam"
    )
    assert lines[1] == (
        f"🛠️ Balance of <@{member(1)}> adjusted by +7 bytes (now 102) by API key tests: bonus"
    )
    assert lines[2].endswith(" by API key tests: oops")
    assert not any("<@local:" in line or "<@key:" in line for line in lines)


async def test_settings_changes_post_what_changed_and_who_changed_it(
    services: Services, guild: str, api: httpx.AsyncClient
) -> None:
    await configure(services, guild, daily_amount=20)
    assert await all_jobs(services) == []  # no log channel: nothing posted
    await configure(services, guild, log_channel_id=CHANNEL)
    assert await all_jobs(services) == []  # the save that first sets one posts nothing
    async with unit_of_work(services) as uow:
        await update_config(
            uow,
            guild_id=guild,
            changes={"daily_amount": 1500, "timezone": "Europe/Paris", "features": {"shop": False}},
            actor_id="local:admin",
        )
        await uow.commit()
    answer = await api.put(f"/api/guilds/{guild}/settings", json={"max_transfer": 2500})
    assert answer.status_code == 200, answer.text
    unchanged = await api.put(f"/api/guilds/{guild}/settings", json={"max_transfer": 2500})
    assert unchanged.status_code == 200  # nothing changed: no line
    refused = await api.put(f"/api/guilds/{guild}/settings", json={"timezone": "Mars/Olympus"})
    assert refused.status_code == 400  # refused: no line either
    moved = await api.put(
        f"/api/guilds/{guild}/settings", json={"log_channel_id": "600000000000000002"}
    )
    assert moved.status_code == 200, moved.text
    posts = await all_jobs(services)
    assert [(j.kind, j.payload["channel_id"]) for j in posts] == [("message.post", CHANNEL)] * 3
    assert [j.payload["content"] for j in posts] == [
        "⚙️ Settings changed by dashboard admin admin: daily amount → 1,500; "
        "timezone → Europe/Paris; features: shop off",
        "⚙️ Settings changed by API key tests: max transfer → 2,500",
        "⚙️ Settings changed by API key tests: log channel → <#600000000000000002>",
    ]
    unset = await api.put(f"/api/guilds/{guild}/settings", json={"log_channel_id": None})
    assert unset.status_code == 200, unset.text
    last = (await all_jobs(services))[-1]
    assert last.payload["channel_id"] == "600000000000000002"  # the channel it leaves
    assert last.payload["content"] == "⚙️ Settings changed by API key tests: log channel unset"


async def test_api_settings_changes_record_the_key_as_who_acted(
    services: Services, guild: str, api: httpx.AsyncClient
) -> None:
    for path in (f"/api/guilds/{guild}/settings", f"/api/guilds/{guild}/bytes/config"):
        answer = await api.put(path, json={"daily_amount": 33 if "bytes" in path else 22})
        assert answer.status_code == 200, answer.text
    async with unit_of_work(services, read_only=True) as uow:
        rows = (
            await uow.session.execute(
                select(EventLogEntry)
                .where(EventLogEntry.guild_id == guild, EventLogEntry.name == "config.changed")
                .order_by(EventLogEntry.id)
            )
        ).scalars()
        actors = [(row.data or {}).get("actor_id") for row in rows]
        await uow.commit()
    assert actors[-2:] == ["key:tests", "key:tests"]
