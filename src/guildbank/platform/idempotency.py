"""Idempotent writes (SPEC §4.1), as Stripe and Formance do them.

* A key belongs to the API key that sent it (``IdempotentRequest.owner``): integrators never
  see each other's keys; the embedded bot is one key.
* "The same request" is the same method, path and canonical JSON body (keys sorted, no
  whitespace): a client that re-serialises its retry still gets the replay. Another request
  under a used key is refused with ``IdempotencyKeyReused`` (409), naming what differs.
* The record is written with the write: in its transaction (``record``), or in its very
  statement on the transfer's PostgreSQL path (``guildbank_transfer``, migration 0007). A
  failed write leaves the key unused; of two concurrent twins one applies, the other waits
  for its commit and answers with its response (``Replayed``).
* Records are kept for the retention period (``Settings.idempotency_retention_hours``, at
  least 24 h), then deleted by ``purge_expired``, which the web process runs periodically
  (``purge_forever``, started in ``runtime/app.py``).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
import structlog
from sqlalchemy import delete, select, tuple_

from guildbank.core.errors import IdempotencyKeyReused
from guildbank.platform.models.access import IdempotencyRecord
from guildbank.platform.uow import Services, UnitOfWork, unit_of_work
from guildbank.platform.upsert import insert_ignore

__all__ = [
    "IdempotentRequest",
    "Replayed",
    "StoredResponse",
    "purge_all",
    "purge_expired",
    "purge_forever",
    "recall",
    "record",
    "replay_if_recorded",
]

log = structlog.get_logger(__name__)
PURGE_BATCH = 5000


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status_code: int
    body: Any


class Replayed(Exception):
    """Not an error: this key's first response, for the adapter to answer with as it is."""

    def __init__(self, stored: StoredResponse) -> None:
        super().__init__("the Idempotency-Key's first response is replayed")
        self.stored = stored


def _canonical(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _field(body: dict[str, Any], name: str) -> bytes | None:
    """One field of a JSON object, canonical (None when absent)."""
    return _canonical(body[name]) if name in body else None


@dataclass(frozen=True, slots=True)
class IdempotentRequest:
    """A write carrying an ``Idempotency-Key``: whose key it is and what the request asks."""

    owner: int  # the API key's id (Principal.key_id)
    key: str
    guild_id: str
    method: str
    path: str
    body: Any  # the JSON body; None when there is none (or it is not JSON)
    canonical: str | None  # the body's canonical JSON text, as stored
    fingerprint: str  # SHA-256 of method, path and canonical body

    @classmethod
    def of(
        cls, *, owner: int, key: str, guild_id: str, method: str, path: str, body: bytes
    ) -> IdempotentRequest:
        parsed: Any = None
        canonical: bytes | None = None
        hashed = body.strip()  # no body at all: b""
        if hashed:
            try:
                parsed = orjson.loads(hashed)
            except orjson.JSONDecodeError:
                pass  # refused by validation later; only the same bytes match
            else:
                hashed = canonical = _canonical(parsed)
        digest = hashlib.sha256(b"\0".join((method.encode(), path.encode(), hashed)))
        return cls(
            owner=owner,
            key=key,
            guild_id=guild_id,
            method=method,
            path=path,
            body=parsed,
            canonical=None if canonical is None else canonical.decode(),
            fingerprint=digest.hexdigest(),
        )

    def differences(self, *, method: str, path: str, body: Any) -> list[str]:
        """What differs from an earlier request under the same key: ``method``, ``path``, and
        ``body``, or for the same endpoint ``body.<field>`` for each top-level field."""
        found = [
            name
            for name, mine, theirs in (("method", self.method, method), ("path", self.path, path))
            if mine != theirs
        ]
        if not found and isinstance(self.body, dict) and isinstance(body, dict):
            found = [
                f"body.{field}"
                for field in sorted(self.body.keys() | body.keys())
                if _field(self.body, field) != _field(body, field)
            ]
        elif _canonical(self.body) != _canonical(body):
            found.append("body")
        return found or ["body"]

    def answer(self, stored: Mapping[str, Any]) -> StoredResponse:
        """The stored response of this key (a record's columns), or IdempotencyKeyReused when
        it answered another request."""
        if stored["fingerprint"] != self.fingerprint:
            raise IdempotencyKeyReused(
                self.differences(
                    method=stored["method"], path=stored["path"], body=stored["request"]
                )
            )
        return StoredResponse(stored["status_code"], stored["body"])


async def recall(uow: UnitOfWork, request: IdempotentRequest) -> StoredResponse | None:
    """The key's stored response (None when unused); IdempotencyKeyReused when it answered
    another request."""
    row = (
        await uow.session.execute(
            select(IdempotencyRecord)
            .where(
                IdempotencyRecord.api_key_id == request.owner, IdempotencyRecord.key == request.key
            )
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    return request.answer(
        {
            "fingerprint": row.fingerprint,
            "method": row.method,
            "path": row.path,
            "request": row.request,
            "status_code": row.status_code,
            "body": row.body,
        }
    )


async def replay_if_recorded(uow: UnitOfWork, request: IdempotentRequest) -> None:
    """Raise Replayed when the key already has its response (at the start of a write)."""
    stored = await recall(uow, request)
    if stored is not None:
        raise Replayed(stored)


async def record(
    uow: UnitOfWork, request: IdempotentRequest, *, status_code: int, body: Any
) -> None:
    """Store the write's response in its transaction (at the end of the write).

    When a concurrent twin committed the key first (this insert waited for it), the unit is
    rolled back and Replayed raised with the twin's response: the write applies once.
    """
    inserted = await insert_ignore(
        uow.session,
        IdempotencyRecord,
        {
            "api_key_id": request.owner,
            "key": request.key,
            "guild_id": request.guild_id,
            "method": request.method,
            "path": request.path,
            "request": request.body if request.canonical is not None else None,
            "fingerprint": request.fingerprint,
            "status_code": status_code,
            "body": body,
            "created_at": uow.now,
        },
        ["api_key_id", "key"],
    )
    if inserted:
        return
    stored = await recall(uow, request)
    assert stored is not None  # the conflicting record is committed: we waited for it
    await uow.rollback()
    raise Replayed(stored)


async def purge_expired(uow: UnitOfWork, older_than: datetime, *, limit: int = PURGE_BATCH) -> int:
    """Delete up to ``limit`` records created before ``older_than``; returns how many.

    Batched so that each unit of work stays short; ``purge_forever`` repeats until done.
    """
    expired = (
        select(IdempotencyRecord.api_key_id, IdempotencyRecord.key)
        .where(IdempotencyRecord.created_at < older_than)
        .limit(limit)
    )
    result = await uow.session.execute(
        delete(IdempotencyRecord)
        .where(tuple_(IdempotencyRecord.api_key_id, IdempotencyRecord.key).in_(expired))
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def purge_all(services: Services, *, retention: timedelta) -> int:
    """Every record older than ``retention`` deleted, a batch per transaction."""
    total = 0
    while True:
        async with unit_of_work(services) as uow:
            deleted = await purge_expired(uow, uow.now - retention)
            await uow.commit()
        total += deleted
        if deleted < PURGE_BATCH:
            return total


async def purge_forever(services: Services, *, retention: timedelta, every: timedelta) -> None:
    """The web process's purge task: ``purge_all`` now and every ``every`` (a failed pass is
    logged and retried at the next)."""
    while True:
        try:
            purged = await purge_all(services, retention=retention)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # logged; the next pass retries
            log.warning("idempotency purge failed; retrying later", error=repr(error))
        else:
            if purged:
                log.info("idempotency records purged", count=purged)
        await asyncio.sleep(every.total_seconds())
