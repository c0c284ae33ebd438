"""Idempotent writes: the first response to an ``Idempotency-Key`` is stored with the write.

The record is inserted in the same database transaction as the write it describes, so a
replay either finds the committed record (and moves nothing) or, when two copies of a
request race, the second waits for the first's commit and then answers with its result.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from guildbank.core.errors import IdempotencyKeyReused
from guildbank.platform.models.access import IdempotencyRecord
from guildbank.platform.uow import UnitOfWork
from guildbank.platform.upsert import insert_ignore

__all__ = ["StoredResponse", "fingerprint", "recall", "remember"]


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status_code: int
    body: Any


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests "the same" for one key: method, path and exact body."""
    digest = hashlib.sha256()
    for part in (method.encode(), b"\0", path.encode(), b"\0", body):
        digest.update(part)
    return digest.hexdigest()


async def recall(
    uow: UnitOfWork, *, scope: str, key: str, fingerprint: str
) -> StoredResponse | None:
    row = await uow.session.get(IdempotencyRecord, (scope, key))
    if row is None:
        return None
    if row.fingerprint != fingerprint:
        raise IdempotencyKeyReused
    return StoredResponse(row.status_code, row.body)


async def remember(
    uow: UnitOfWork, *, scope: str, key: str, fingerprint: str, status_code: int, body: Any
) -> StoredResponse | None:
    """Store this write's response; returns the earlier one if a concurrent twin won."""
    inserted = await insert_ignore(
        uow.session,
        IdempotencyRecord,
        {
            "scope": scope,
            "key": key,
            "fingerprint": fingerprint,
            "status_code": status_code,
            "body": body,
            "created_at": uow.now,
        },
        ["scope", "key"],
    )
    if inserted:
        return None
    row = (
        await uow.session.execute(
            select(IdempotencyRecord)
            .where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    if row.fingerprint != fingerprint:
        raise IdempotencyKeyReused
    return StoredResponse(row.status_code, row.body)
