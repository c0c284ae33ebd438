"""Reads: embeds, announcements and custom commands of a guild, with where their Discord
messages stand (from the outbox's jobs and messages by key)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from guildbank.features.announcements.errors import (
    AnnouncementNotFound,
    CommandNotFound,
    EmbedNotFound,
)
from guildbank.features.announcements.schemas import (
    AnnouncementOut,
    CommandSetOut,
    CustomCommandOut,
    EmbedTemplateOut,
    SyncState,
)
from guildbank.features.guilds.queries import get_config
from guildbank.outbox.rules import MESSAGE_KEY_PREFIX, PIN_KEY_PREFIX
from guildbank.platform.models.announcements import (
    Announcement,
    CustomCommand,
    CustomCommandSet,
    EmbedTemplate,
)
from guildbank.platform.models.outbox import OutboxJob, OutboxMessage
from guildbank.platform.models.tasks import Task
from guildbank.platform.uow import UnitOfWork

__all__ = [
    "announcement_key",
    "command_set",
    "embed_key",
    "get_announcement",
    "get_announcement_or_raise",
    "get_command_or_raise",
    "get_embed",
    "get_embed_or_raise",
    "list_announcements",
    "list_embeds",
    "tasks_to_announce",
]


def announcement_key(announcement_id: int) -> str:
    """The outbox key of an announcement's message."""
    return f"announcement:{announcement_id}"


def embed_key(embed_id: int) -> str:
    """The outbox key of a posted embed template's message."""
    return f"embed:{embed_id}"


@dataclass(frozen=True, slots=True)
class Shown:
    message_id: str | None
    sync: SyncState
    error: str | None
    # The newest pin or unpin of the key's message.
    pin_sync: SyncState = "none"
    pin_error: str | None = None


async def _latest_jobs(
    uow: UnitOfWork, guild_id: str, prefix: str, keys: list[str]
) -> dict[str, tuple[str, str | None]]:
    """Per key: the status and last error of its newest job under ``{prefix}{key}``."""
    latest: dict[str, tuple[str, str | None]] = {}
    rows = await uow.session.execute(
        select(OutboxJob.dedupe_key, OutboxJob.status, OutboxJob.last_error)
        .where(
            OutboxJob.guild_id == guild_id,
            OutboxJob.dedupe_key.in_([f"{prefix}{k}" for k in keys]),
        )
        .order_by(OutboxJob.id.desc())
    )
    for dedupe, status, error in rows:
        latest.setdefault(str(dedupe).removeprefix(prefix), (status, error))
    return latest


def _state(status: str, *, done: bool) -> SyncState:
    if status in ("pending", "running"):
        return "pending"
    if status == "failed":
        return "failed"
    return "synced" if done else "none"


async def _shown(uow: UnitOfWork, guild_id: str, keys: Iterable[str]) -> dict[str, Shown]:
    """Per key: its message id, the state of its newest job and of its newest pin job."""
    keys = list(keys)
    if not keys:
        return {}
    messages = dict(
        (
            await uow.session.execute(
                select(OutboxMessage.key, OutboxMessage.message_id).where(
                    OutboxMessage.guild_id == guild_id, OutboxMessage.key.in_(keys)
                )
            )
        ).all()
    )
    posts = await _latest_jobs(uow, guild_id, MESSAGE_KEY_PREFIX, keys)
    pins = await _latest_jobs(uow, guild_id, PIN_KEY_PREFIX, keys)
    shown: dict[str, Shown] = {}
    for key in keys:
        status, error = posts.get(key, ("", None))
        sync = _state(status, done=key in messages)
        pin_status, pin_error = pins.get(key, ("", None))
        pin_sync = _state(pin_status, done=pin_status == "done")
        shown[key] = Shown(
            messages.get(key),
            sync,
            error if sync == "failed" else None,
            pin_sync,
            pin_error if pin_sync == "failed" else None,
        )
    return shown


def _embed_out(row: EmbedTemplate, shown: Shown | None) -> EmbedTemplateOut:
    out = EmbedTemplateOut.model_validate(row)
    if shown is not None and row.channel_id is not None:
        out.message_id, out.sync, out.sync_error = shown.message_id, shown.sync, shown.error
    return out


def _announcement_out(row: Announcement, shown: Shown | None) -> AnnouncementOut:
    out = AnnouncementOut.model_validate(row)
    if shown is not None and row.status == "posted":
        out.message_id, out.sync, out.sync_error = shown.message_id, shown.sync, shown.error
        out.pin_sync, out.pin_error = shown.pin_sync, shown.pin_error
    out.orphaned = row.orphaned_at is not None
    if out.orphaned and out.sync == "synced":
        out.sync = "orphaned"
    return out


async def get_embed_or_raise(uow: UnitOfWork, *, guild_id: str, embed_id: int) -> EmbedTemplate:
    row = (
        await uow.session.execute(
            select(EmbedTemplate).where(
                EmbedTemplate.guild_id == guild_id, EmbedTemplate.id == embed_id
            )
        )
    ).scalar_one_or_none()
    if row is None:
        raise EmbedNotFound(embed_id)
    return row


async def get_embed(uow: UnitOfWork, *, guild_id: str, embed_id: int) -> EmbedTemplateOut:
    await get_config(uow, guild_id)
    row = await get_embed_or_raise(uow, guild_id=guild_id, embed_id=embed_id)
    shown = await _shown(uow, guild_id, [embed_key(row.id)])
    return _embed_out(row, shown.get(embed_key(row.id)))


async def list_embeds(uow: UnitOfWork, *, guild_id: str) -> list[EmbedTemplateOut]:
    await get_config(uow, guild_id)
    rows = list(
        (
            await uow.session.execute(
                select(EmbedTemplate)
                .where(EmbedTemplate.guild_id == guild_id)
                .order_by(EmbedTemplate.name)
            )
        ).scalars()
    )
    shown = await _shown(uow, guild_id, [embed_key(r.id) for r in rows if r.channel_id])
    return [_embed_out(r, shown.get(embed_key(r.id))) for r in rows]


async def get_announcement_or_raise(
    uow: UnitOfWork, *, guild_id: str, announcement_id: int
) -> Announcement:
    row = (
        await uow.session.execute(
            select(Announcement)
            .where(Announcement.guild_id == guild_id, Announcement.id == announcement_id)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if row is None:
        raise AnnouncementNotFound(announcement_id)
    return row


async def announcement_view(uow: UnitOfWork, row: Announcement) -> AnnouncementOut:
    key = announcement_key(row.id)
    return _announcement_out(row, (await _shown(uow, row.guild_id, [key])).get(key))


async def get_announcement(
    uow: UnitOfWork, *, guild_id: str, announcement_id: int
) -> AnnouncementOut:
    await get_config(uow, guild_id)
    row = (
        await uow.session.execute(
            select(Announcement).where(
                Announcement.guild_id == guild_id, Announcement.id == announcement_id
            )
        )
    ).scalar_one_or_none()
    if row is None:
        raise AnnouncementNotFound(announcement_id)
    return await announcement_view(uow, row)


async def list_announcements(
    uow: UnitOfWork, *, guild_id: str, include_deleted: bool = False, limit: int = 100
) -> list[AnnouncementOut]:
    """Newest first; deleted ones only when asked."""
    await get_config(uow, guild_id)
    query = select(Announcement).where(Announcement.guild_id == guild_id)
    if not include_deleted:
        query = query.where(Announcement.status != "deleted")
    rows = list(
        (
            await uow.session.execute(
                query.order_by(Announcement.created_at.desc(), Announcement.id.desc()).limit(limit)
            )
        ).scalars()
    )
    shown = await _shown(uow, guild_id, [announcement_key(r.id) for r in rows])
    return [_announcement_out(r, shown.get(announcement_key(r.id))) for r in rows]


async def get_command_or_raise(uow: UnitOfWork, *, guild_id: str, name: str) -> CustomCommand:
    row = (
        await uow.session.execute(
            select(CustomCommand).where(
                CustomCommand.guild_id == guild_id, CustomCommand.name == name
            )
        )
    ).scalar_one_or_none()
    if row is None:
        raise CommandNotFound(name)
    return row


async def command_set(uow: UnitOfWork, *, guild_id: str) -> CommandSetOut:
    """The guild's custom commands, each with its embed ready to send, and their version."""
    await get_config(uow, guild_id)
    rows = (
        await uow.session.execute(
            select(CustomCommand, EmbedTemplate.embed)
            .outerjoin(EmbedTemplate, EmbedTemplate.id == CustomCommand.embed_id)
            .where(CustomCommand.guild_id == guild_id)
            .order_by(CustomCommand.name)
        )
    ).all()
    version = await uow.session.scalar(
        select(CustomCommandSet.version).where(CustomCommandSet.guild_id == guild_id)
    )
    commands = []
    for command, embed in rows:
        out = CustomCommandOut.model_validate(command)
        out.embed = embed
        commands.append(out)
    return CommandSetOut(guild_id=guild_id, version=version or 0, commands=commands)


async def tasks_to_announce(uow: UnitOfWork, *, guild_id: str) -> list[tuple[int, str]]:
    """The guild's active tasks as ``(id, name)``, newest first (the task announcement form)."""
    rows = await uow.session.execute(
        select(Task.id, Task.name)
        .where(Task.guild_id == guild_id, Task.status == "active")
        .order_by(Task.id.desc())
        .limit(200)
    )
    return [(int(task_id), str(name)) for task_id, name in rows]
