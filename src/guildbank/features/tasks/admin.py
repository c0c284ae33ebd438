"""Task administration: create, edit, archive, delete tasks, and the guild's task settings.

Each change rewrites the task's post through the outbox in the same transaction. Edits are
optimistic: a ``version`` that is not the task's current one is refused (``StaleTask``).
Channel and role ids that a change adds are checked against the guild the bot reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields as dataclass_fields
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select

from guildbank.core.errors import InvalidInput
from guildbank.features.guilds.catalog import check_assignable_role, check_channel, load_catalog
from guildbank.features.guilds.queries import get_config
from guildbank.features.tasks.errors import StaleTask
from guildbank.features.tasks.events import TaskCreated, TaskDeleted, TaskUpdated
from guildbank.features.tasks.posts import delete_posts, post_task
from guildbank.features.tasks.queries import (
    get_task_or_raise,
    proof_key,
    read_settings,
    settings_view,
    task_key,
    task_view,
)
from guildbank.features.tasks.rules import (
    TaskFields,
    TaskSettingsValues,
    validate_settings,
    validate_task,
)
from guildbank.features.tasks.schemas import TaskDeleteOut, TaskOut, TaskSettingsOut
from guildbank.platform.models.tasks import MemberTask, Task, TaskSettings
from guildbank.platform.uow import UnitOfWork
from guildbank.platform.upsert import insert_ignore

__all__ = ["create_task", "delete_task", "update_settings", "update_task"]

EDITABLE = frozenset(f.name for f in dataclass_fields(TaskFields))
NULLABLE = frozenset({"category", "channel_id", "role_id"})
SETTINGS = frozenset(f.name for f in dataclass_fields(TaskSettingsValues)) - {"version"}


async def _check_ids(
    uow: UnitOfWork, guild_id: str, fields: TaskFields, before: TaskFields | None
) -> None:
    """Channel and role ids this change adds must fit the guild (a role the bot can give)."""
    if fields.channel_id is not None and (before is None or before.channel_id != fields.channel_id):
        catalog = await load_catalog(uow, guild_id)
        await check_channel(uow, catalog, fields.channel_id, setting="channel_id")
    if fields.role_id is not None and (before is None or before.role_id != fields.role_id):
        await check_assignable_role(uow, guild_id, fields.role_id)


async def create_task(
    uow: UnitOfWork,
    *,
    guild_id: str,
    name: str,
    reward: int,
    description: str = "",
    duration_hours: int = 24,
    max_claims: int = -1,
    category: str | None = None,
    channel_id: str | None = None,
    role_id: str | None = None,
    actor_id: str | None = None,
) -> TaskOut:
    """Create an active task, open for ``duration_hours``, and post it."""
    config = await get_config(uow, guild_id)
    fields = validate_task(
        TaskFields(
            name, description, reward, duration_hours, max_claims, category, channel_id, role_id
        )
    )
    await _check_ids(uow, guild_id, fields, None)
    row = Task(
        guild_id=guild_id,
        status="active",
        current_claims=0,
        created_by=actor_id,
        version=1,
        created_at=uow.now,
        updated_at=uow.now,
        expires_at=uow.now + timedelta(hours=fields.duration_hours),
        **{name: getattr(fields, name) for name in EDITABLE},
    )
    uow.session.add(row)
    await uow.session.flush()
    await post_task(uow, row, await read_settings(uow, guild_id), config)
    uow.emit(
        TaskCreated(
            guild_id=guild_id,
            task_id=row.id,
            task_name=row.name,
            reward=row.reward,
            actor_id=actor_id,
        )
    )
    return task_view(row, sync_status="pending")


async def update_task(
    uow: UnitOfWork,
    *,
    guild_id: str,
    task_id: int,
    changes: Mapping[str, Any],
    version: int | None = None,
    actor_id: str | None = None,
) -> TaskOut:
    """Change some fields. A new duration moves ``expires_at`` (from the creation); archiving
    closes claims, reopening an archived or expired task gives it a fresh ``duration_hours``."""
    config = await get_config(uow, guild_id)
    changes = dict(changes)
    status = changes.pop("status", None)
    unknown = set(changes) - EDITABLE
    if unknown:
        raise InvalidInput(
            f"Unknown task fields: {', '.join(sorted(unknown))}", code="unknown_field"
        )
    required = sorted(k for k, v in changes.items() if v is None and k not in NULLABLE)
    if required:
        raise InvalidInput(f"These fields cannot be empty: {', '.join(required)}")
    if status not in (None, "active", "archived"):
        raise InvalidInput(
            "A task's status can be set to active or archived.", code="invalid_status"
        )
    row = await get_task_or_raise(uow, guild_id=guild_id, task_id=task_id, lock=True)
    if version is not None and version != row.version:
        raise StaleTask(expected=version, current=row.version)
    current = TaskFields(**{name: getattr(row, name) for name in EDITABLE})
    fields = validate_task(replace(current, **changes))
    if fields.max_claims != -1 and fields.max_claims < row.current_claims:
        raise InvalidInput(
            f"{row.current_claims} members hold a place already: max_claims cannot go below that.",
            code="invalid_max_claims",
        )
    await _check_ids(uow, guild_id, fields, current)
    for name in EDITABLE:
        setattr(row, name, getattr(fields, name))
    if fields.duration_hours != current.duration_hours:
        row.expires_at = row.created_at + timedelta(hours=fields.duration_hours)
    if status == "archived":
        row.status = "archived"
    elif status == "active" and row.status != "active":
        row.status = "active"
        row.expires_at = uow.now + timedelta(hours=fields.duration_hours)
    row.version += 1
    row.updated_at = uow.now
    await uow.session.flush()
    await post_task(uow, row, await read_settings(uow, guild_id), config)
    changed = sorted(set(changes) | ({"status"} if status is not None else set()))
    uow.emit(
        TaskUpdated(
            guild_id=guild_id,
            task_id=row.id,
            changed=changed,
            status=row.status,
            actor_id=actor_id,
        )
    )
    return task_view(row, sync_status="pending")


async def delete_task(
    uow: UnitOfWork, *, guild_id: str, task_id: int, actor_id: str | None = None
) -> TaskDeleteOut:
    """Delete a task with its claims and their posts; paid rewards stay in the ledger."""
    await get_config(uow, guild_id)
    row = await get_task_or_raise(uow, guild_id=guild_id, task_id=task_id, lock=True)
    claim_ids = list(
        (
            await uow.session.execute(select(MemberTask.id).where(MemberTask.task_id == row.id))
        ).scalars()
    )
    await uow.session.execute(delete(MemberTask).where(MemberTask.task_id == row.id))
    await uow.session.delete(row)
    await uow.session.flush()
    await delete_posts(uow, guild_id, [task_key(task_id), *(proof_key(c) for c in claim_ids)])
    uow.emit(TaskDeleted(guild_id=guild_id, task_id=task_id, actor_id=actor_id))
    return TaskDeleteOut(guild_id=guild_id, task_id=task_id, claims_removed=len(claim_ids))


async def update_settings(
    uow: UnitOfWork, *, guild_id: str, changes: Mapping[str, Any], version: int | None = None
) -> TaskSettingsOut:
    """Change some task settings (the row is created with the defaults on the first save)."""
    await get_config(uow, guild_id)
    unknown = set(changes) - SETTINGS
    if unknown:
        raise InvalidInput(
            f"Unknown task settings: {', '.join(sorted(unknown))}", code="unknown_field"
        )
    defaults = TaskSettingsValues()
    await insert_ignore(
        uow.session,
        TaskSettings,
        {
            "guild_id": guild_id,
            **{name: getattr(defaults, name) for name in SETTINGS},
            "version": 0,
            "updated_at": uow.now,
        },
        ["guild_id"],
    )
    row = (
        await uow.session.execute(
            select(TaskSettings)
            .where(TaskSettings.guild_id == guild_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    if version is not None and version != row.version:
        raise StaleTask(expected=version, current=row.version)
    before = await read_settings(uow, guild_id)
    values = replace(before, **changes)
    validate_settings(values)
    catalog = None
    for setting in ("announcement_channel_id", "review_channel_id"):
        channel = getattr(values, setting)
        if channel is not None and channel != getattr(before, setting):
            catalog = catalog or await load_catalog(uow, guild_id)
            await check_channel(uow, catalog, channel, setting=setting)
    for name in SETTINGS:
        setattr(row, name, getattr(values, name))
    row.version += 1
    row.updated_at = uow.now
    await uow.session.flush()
    return settings_view(guild_id, replace(values, version=row.version))
