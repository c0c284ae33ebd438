"""``INSERT … ON CONFLICT DO NOTHING`` for both backends (first writer wins, others wait)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase

__all__ = ["insert_ignore"]


async def insert_ignore(
    session: AsyncSession,
    model: type[DeclarativeBase],
    values: Mapping[str, Any],
    conflict_columns: Sequence[str],
) -> bool:
    """Insert a row unless one with the same key exists; True when this call inserted it."""
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    statement = (
        module.insert(model)
        .values(**values)
        .on_conflict_do_nothing(index_elements=list(conflict_columns))
    )
    result = await session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]
