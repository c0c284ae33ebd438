"""The admin log: who changed what on a server, read from the durable event log.

Every admin action already leaves a domain event with its ``actor_id`` (a Discord user's id, a
dashboard's ``local:<name>``, or an API key's ``key:<name>``) and, for money, its reason, in the
same transaction as the change. This page lists those events with filters, so an owner can
answer "who took 500 from Bob, and why?" without reading the database. Which event names count
as admin actions is the caller's list (the kit names no feature).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, select
from starlette.responses import Response

from guildbank.platform.models.events import EventLogEntry
from guildbank.platform.uow import UnitOfWork, unit_of_work
from guildbank.web.forms import text_problem
from guildbank.web.guard import Ctx

__all__ = ["AdminAction", "admin_log_page"]

PAGE_SIZE = 50
# Data fields shown in their own columns (or not at all) rather than among the details.
_OWN_COLUMNS = frozenset({"actor_id", "reason"})


@dataclass(frozen=True, slots=True)
class AdminAction:
    """One logged admin action, as the page shows it."""

    id: int
    at: datetime
    name: str
    label: str
    actor: str
    reason: str
    details: str


def _details(data: dict[str, Any]) -> str:
    parts = []
    for key, value in data.items():
        if key in _OWN_COLUMNS or value in (None, "", [], {}):
            continue
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        parts.append(f"{key.replace('_', ' ')}: {shown}")
    return "; ".join(parts)


def _day(raw: str, label: str, problems: list[str]) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        problems.append(f"{label} must be a date (YYYY-MM-DD).")
        return None


async def _actions(
    uow: UnitOfWork,
    guild_id: str,
    names: Sequence[str],
    *,
    actor: str | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    offset: int,
) -> tuple[list[EventLogEntry], int]:
    query = select(EventLogEntry).where(
        EventLogEntry.guild_id == guild_id, EventLogEntry.name.in_(list(names))
    )
    if start is not None:
        query = query.where(EventLogEntry.created_at >= start)
    if end is not None:
        query = query.where(EventLogEntry.created_at < end)
    if actor is not None:
        query = query.where(EventLogEntry.data["actor_id"].as_string() == actor)
    total = (
        await uow.session.execute(select(func.count()).select_from(query.subquery()))
    ).scalar_one()
    rows = (
        await uow.session.execute(
            query.order_by(EventLogEntry.id.desc()).limit(limit).offset(offset)
        )
    ).scalars()
    return list(rows), int(total)


async def admin_log_page(ctx: Ctx, labels: dict[str, str]) -> Response:
    """The page: ``labels`` maps the admin actions' event names to what the page calls them."""
    typed = {name: ctx.query(name)[:40] for name in ("actor", "action", "start", "end")}
    problems: list[str] = []
    if typed["actor"] and (problem := text_problem(typed["actor"])) is not None:
        problems.append(f"Who: {problem}")
        typed["actor"] = ""
    if typed["action"] and typed["action"] not in labels:
        problems.append("Choose an action from the list.")
        typed["action"] = ""
    start = _day(typed["start"], "From", problems)
    end = _day(typed["end"], "To", problems)
    if start and end and end < start:
        problems.append(
            f"To ({end.isoformat()}) is before From ({start.isoformat()}): no day is in "
            "between. Swap them or change one."
        )
    paging = ctx.paging(PAGE_SIZE)
    names = [typed["action"]] if typed["action"] else list(labels)
    async with unit_of_work(ctx.state.services, read_only=True) as uow:
        rows, total = await _actions(
            uow,
            ctx.guild_id,
            names,
            actor=typed["actor"] or None,
            start=datetime.combine(start, time.min, UTC) if start else None,
            end=datetime.combine(end + timedelta(days=1), time.min, UTC) if end else None,
            limit=paging.size,
            offset=paging.offset,
        )
        await uow.commit()
    actions = [
        AdminAction(
            id=row.id,
            at=row.created_at,
            name=row.name,
            label=labels.get(row.name, row.name),
            actor=str((row.data or {}).get("actor_id") or ""),
            reason=str((row.data or {}).get("reason") or ""),
            details=_details(row.data or {}),
        )
        for row in rows
    ]
    await ctx.lookup_people([a.actor for a in actions])
    return await ctx.render(
        "admin_log.html",
        nav="transactions",
        actions=actions,
        labels=labels,
        typed=typed,
        problems=problems,
        total=total,
        page=paging.number,
        pages=paging.count(total),
        query=lambda **extra: urlencode({**{k: v for k, v in typed.items() if v}, **extra}),
    )
