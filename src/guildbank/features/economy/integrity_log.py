"""Integrity problems reach the guild's log channel (SPEC §9), through the outbox.

A check that finds problems writes one create-or-edit post keyed per guild, so checking
again edits that post instead of adding another, and a deleted post is recreated. The check
itself is a read: the post is written in a unit of its own afterwards, and a failure there is
logged, never turned into a failed check.
"""

from __future__ import annotations

import structlog
from sqlalchemy.exc import SQLAlchemyError

from guildbank.core.errors import GuildbankError
from guildbank.features.guilds.queries import get_config
from guildbank.ledger.integrity import IntegrityReport
from guildbank.outbox.service import enqueue_message
from guildbank.platform.uow import Services, UnitOfWork, unit_of_work

__all__ = ["MAX_LISTED", "integrity_message", "log_integrity_problems", "post_key"]

log = structlog.get_logger(__name__)

# Problems named in the post (the dashboard's Integrity page lists them all).
MAX_LISTED = 5
_MAX_DETAIL = 200


def post_key(guild_id: str) -> str:
    return f"integrity:{guild_id}"


def integrity_message(report: IntegrityReport) -> str:
    """The post's text: a count, the first problems, and where to see the rest."""
    count = len(report.problems)
    lines = [
        f"⚠️ **Ledger integrity check: {count} problem{'s' if count != 1 else ''}** "
        "in this server's ledger. Nothing was changed; an admin should look at the "
        "dashboard's Integrity page."
    ]
    for problem in report.problems[:MAX_LISTED]:
        detail = str(problem.get("detail", ""))[:_MAX_DETAIL]
        lines.append(f"• `{problem.get('code', 'problem')}`: {detail}")
    if count > MAX_LISTED:
        lines.append(f"… and {count - MAX_LISTED} more.")
    return "\n".join(lines)


async def enqueue_integrity_post(uow: UnitOfWork, report: IntegrityReport) -> bool:
    """Write the post when the report has problems and the guild has a log channel."""
    config = await get_config(uow, report.guild_id)
    if report.ok or not config.log_channel_id:
        return False
    await enqueue_message(
        uow,
        guild_id=report.guild_id,
        channel_id=config.log_channel_id,
        content=integrity_message(report),
        key=post_key(report.guild_id),
    )
    return True


async def log_integrity_problems(services: Services, report: IntegrityReport) -> None:
    """After a check: post its problems, in a unit of its own (never failing the check)."""
    if report.ok:
        return
    try:
        async with unit_of_work(services) as uow:
            if await enqueue_integrity_post(uow, report):
                await uow.commit()
    except (GuildbankError, SQLAlchemyError, OSError) as error:
        log.warning("integrity_post_failed", guild_id=report.guild_id, error=repr(error))
