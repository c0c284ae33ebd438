"""Reading what imports left: the old bot's history (read-only) and the import runs."""

from __future__ import annotations

from sqlalchemy import func, select

from guildbank.features.guilds.queries import get_config
from guildbank.features.imports.schemas import HistoryOut, HistoryPage, ImportRunOut
from guildbank.platform.models.imported import ImportedHistory, ImportRun
from guildbank.platform.uow import UnitOfWork

__all__ = ["history_page", "list_runs"]


async def history_page(
    uow: UnitOfWork, *, guild_id: str, page: int, per_page: int, user_id: str | None = None
) -> HistoryPage:
    """A page of the imported log, in the file's order (a member's lines with ``user_id``)."""
    await get_config(uow, guild_id)  # an unknown guild is a 404, not an empty list
    where = [ImportedHistory.guild_id == guild_id]
    if user_id is not None:
        where.append(ImportedHistory.user_id == user_id)
    total = (
        await uow.session.execute(select(func.count()).select_from(ImportedHistory).where(*where))
    ).scalar_one()
    rows = (
        await uow.session.execute(
            select(ImportedHistory)
            .where(*where)
            .order_by(ImportedHistory.id)
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    ).scalars()
    return HistoryPage(
        items=[HistoryOut.model_validate(row) for row in rows],
        total=total,
        page=page,
        per_page=per_page,
    )


async def list_runs(uow: UnitOfWork, *, guild_id: str, limit: int = 50) -> list[ImportRunOut]:
    """The guild's import runs, newest first."""
    await get_config(uow, guild_id)
    rows = (
        await uow.session.execute(
            select(ImportRun)
            .where(ImportRun.guild_id == guild_id)
            .order_by(ImportRun.id.desc())
            .limit(limit)
        )
    ).scalars()
    return [ImportRunOut.model_validate(row) for row in rows]
