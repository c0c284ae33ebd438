"""``GET /api/guilds/{g}/transactions/export`` on SQLite and PostgreSQL: the CSV has the rows of
``GET …/bytes/transactions`` for the same filters and sort, streams a large log in batches, and
refuses bad filters before sending anything. The dashboard's download is the same code."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import MutableMapping
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, insert, select, update

from guildbank.features.economy import statistics_api
from guildbank.features.economy.transactions_csv import CSV_COLUMNS
from guildbank.features.guilds.service import update_config
from guildbank.platform.models.ledger import Account, LedgerEntry, LedgerTransaction
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import GUILD_ID, OTHER_GUILD_ID, START, FakeClock
from tests.factories import bytes_url, error_of, fund, member, open_account, send

A, B, C = member(1), member(2), member(3)


def export_url(guild: str) -> str:
    return f"/api/guilds/{guild}/transactions/export"


def rows_of(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.text.startswith(",".join(CSV_COLUMNS) + "\r\n")
    return list(csv.DictReader(io.StringIO(response.text)))


async def workload(services: Services, guild: str, clock: FakeClock) -> None:
    """Three days of funding, transfers of different sizes, some at the same moment."""
    await fund(services, guild, A, 900)
    clock.advance(hours=5)
    await send(services, guild, A, B, 100, reason="rent")
    await send(services, guild, A, C, 100, reason="=1+1")  # same moment and amount as above
    clock.advance(days=1)
    await send(services, guild, B, C, 7)
    await fund(services, guild, C, 50)
    clock.advance(days=1)
    await send(services, guild, C, A, 3, reason="thanks, friend")


FILTERS: list[dict[str, str]] = [
    {},
    {"sort": "oldest"},
    {"sort": "largest"},
    {"sort": "smallest"},
    {"type": "transfer"},
    {"type": "no_such_type"},
    {"user_id": C},
    {"user_id": B, "sort": "largest"},
    {"start": (START + timedelta(hours=1)).isoformat()},
    {"end": (START + timedelta(days=1, hours=6)).isoformat(), "sort": "oldest"},
    # Another offset, and naive (UTC) bounds: converted as the list converts them.
    {"start": "2026-03-15T14:00:00+02:00", "end": "2026-03-16T12:00:00"},
    {"user_id": A, "type": "transfer", "start": START.isoformat(), "sort": "smallest"},
]


@pytest.mark.parametrize("batch", [2, 500])
async def test_the_export_has_the_lists_rows_for_every_filter(
    api: httpx.AsyncClient,
    guild: str,
    services: Services,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    batch: int,
) -> None:
    monkeypatch.setattr(statistics_api, "EXPORT_BATCH", batch)  # several batches, or one
    await workload(services, guild, clock)
    for params in FILTERS:
        listed = await api.get(bytes_url(guild, "/transactions"), params={**params, "limit": 500})
        assert listed.status_code == 200, listed.text
        exported = rows_of(await api.get(export_url(guild), params=params))
        assert [int(r["id"]) for r in exported] == [t["id"] for t in listed.json()], params
        for row, tx in zip(exported, listed.json(), strict=True):
            assert (row["type"], int(row["amount"])) == (tx["type"], tx["amount"])
            senders = [e["user_id"] for e in tx["entries"] if e["amount"] < 0]
            receivers = [e["user_id"] for e in tx["entries"] if e["amount"] > 0]
            assert (row["from_user_ids"].split(), row["to_user_ids"].split()) == (
                senders,
                receivers,
            )
    everything = rows_of(await api.get(export_url(guild)))
    reasons = {r["reason"] for r in everything}
    assert {"rent", "'=1+1", "thanks, friend"} <= reasons  # never a formula in a spreadsheet
    assert "attachment" in (await api.get(export_url(guild))).headers["content-disposition"]


async def test_the_dashboard_download_is_the_same_csv(
    api: httpx.AsyncClient, admin: httpx.AsyncClient, guild: str, services: Services
) -> None:
    await send(services, guild, A, B, 5, reason="same")
    await send(services, guild, B, C, 2)
    from_api = await api.get(export_url(guild), params={"type": "transfer"})
    from_dashboard = await admin.get(
        f"/admin/guilds/{GUILD_ID}/transactions.csv", params={"type": "transfer"}
    )
    assert from_dashboard.status_code == 200
    assert rows_of(from_api) == rows_of(from_dashboard)
    assert len(rows_of(from_api)) == 2


async def _bulk_history(services: Services, guild: str, count: int) -> None:
    """``count`` mint → member transactions written directly (the posting path is not what
    this test measures), each balanced, with the member's balance kept consistent."""
    await open_account(services, guild, A)
    async with unit_of_work(services) as uow:
        session = uow.session
        found = await session.execute(
            select(Account.user_id, Account.id).where(
                Account.guild_id == guild, Account.user_id.in_(["mint", A])
            )
        )
        ids_of: dict[str, int] = {row.user_id: row.id for row in found}
        mint, account = ids_of["mint"], ids_of[A]
        balance = (
            await session.execute(select(Account.balance).where(Account.id == account))
        ).scalar_one()
        mint_balance = (
            await session.execute(select(Account.balance).where(Account.id == mint))
        ).scalar_one()
        step = 500
        for first in range(0, count, step):
            amounts = [1 + (first + i) % 97 for i in range(min(step, count - first))]
            ids = (
                await session.execute(
                    insert(LedgerTransaction).returning(
                        LedgerTransaction.id, sort_by_parameter_order=True
                    ),
                    [
                        {
                            "guild_id": guild,
                            "type": "import",
                            "amount": amount,
                            "reason": f"bulk {first + i}",
                            "created_at": START + timedelta(seconds=first + i),
                        }
                        for i, amount in enumerate(amounts)
                    ],
                )
            ).scalars()
            entries: list[dict[str, Any]] = []
            for tx_id, amount in zip(list(ids), amounts, strict=True):
                entries.append(
                    {
                        "transaction_id": tx_id,
                        "account_id": mint,
                        "amount": -amount,
                        "balance_before": mint_balance,
                        "balance_after": mint_balance - amount,
                    }
                )
                entries.append(
                    {
                        "transaction_id": tx_id,
                        "account_id": account,
                        "amount": amount,
                        "balance_before": balance,
                        "balance_after": balance + amount,
                    }
                )
                balance += amount
                mint_balance -= amount
            await session.execute(insert(LedgerEntry), entries)
        for account_id, value in ((account, balance), (mint, mint_balance)):
            await session.execute(
                update(Account).where(Account.id == account_id).values(balance=value)
            )
        await uow.commit()


async def test_a_large_export_streams_in_batches(
    app: FastAPI, api_key: str, guild: str, services: Services
) -> None:
    """20,000 transactions: the app sends the CSV as many body messages (one per batch), not
    one body built in memory; every row arrives once, newest first."""
    await _bulk_history(services, guild, 20_000)
    async with unit_of_work(services, read_only=True) as uow:
        total = (
            await uow.session.execute(
                select(func.count()).where(LedgerTransaction.guild_id == guild)
            )
        ).scalar_one()
    assert total == 20_001  # and A's opening balance
    chunks: list[bytes] = []
    started: list[int] = []
    finished = asyncio.Event()

    async def receive() -> dict[str, Any]:
        await finished.wait()  # the client stays connected until the end
        return {"type": "http.disconnect"}

    async def send_message(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            started.append(message["status"])
        elif message["type"] == "http.response.body":
            if message.get("body"):
                chunks.append(message["body"])
            if not message.get("more_body", False):
                finished.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": export_url(guild),
        "raw_path": export_url(guild).encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"authorization", f"Bearer {api_key}".encode())],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    await asyncio.wait_for(app(scope, receive, send_message), timeout=300)
    assert started == [200]
    batches = -(-total // statistics_api.EXPORT_BATCH)
    assert len(chunks) == 1 + batches  # the header, then one message per batch
    assert max(len(c) for c in chunks) < 100_000  # a batch at a time, never the whole log
    rows = list(csv.DictReader(io.StringIO(b"".join(chunks).decode())))
    ids = [int(r["id"]) for r in rows]
    assert len(ids) == len(set(ids)) == total
    assert ids == sorted(ids, reverse=True)


BAD_FILTERS: list[dict[str, str]] = [
    {"user_id": "abc"},
    {"user_id": "99999999999999999999"},  # digits, but past 2**63
    {"start": "yesterday"},
    {"end": "0.5"},
    {"sort": "random"},
    {"type": "x" * 33},
    {"type": "two\nlines"},
]


async def test_bad_filters_are_refused_before_anything_is_sent(
    api: httpx.AsyncClient, anonymous: httpx.AsyncClient, guild: str, services: Services
) -> None:
    await send(services, guild, A, B, 5)
    for params in BAD_FILTERS:
        response = await api.get(export_url(guild), params=params)
        body = error_of(response, 422)
        assert response.headers["content-type"].startswith("application/json"), params
        assert "id,created_at" not in response.text
        assert body
    error_of(await api.get(export_url(OTHER_GUILD_ID)), 404)
    assert (await anonymous.get(export_url(guild))).status_code == 401
    async with unit_of_work(services) as uow:
        await update_config(uow, guild_id=guild, changes={"features": {"economy": False}})
        await uow.commit()
    error_of(await api.get(export_url(guild)), 409, "feature_disabled")
