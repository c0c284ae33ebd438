"""Operator-wide state in ``operator_settings``: the bot's presence, restart requests,
defaults for new guilds, and each gateway shard's heartbeat; and the bots' sync.

Values are rows by name with a version bumped by a conditional update, so every web process
reads the same ones, a restart keeps them, and a bot can tell "changed since I applied it"
by comparing versions.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from guildbank.features.announcements.errors import StaleVersion
from guildbank.features.announcements.events import (
    OPERATOR_GUILD,
    BotRestartRequested,
    OperatorSettingsChanged,
    PresenceChanged,
)
from guildbank.features.announcements.schemas import (
    BotStatusOut,
    BotSyncIn,
    BotSyncOut,
    GuildDefaults,
    OperatorSettingsOut,
    PresenceIn,
    PresenceOut,
    ShardStatus,
)
from guildbank.features.guilds.service import OPERATOR_DEFAULTS, operator_defaults
from guildbank.outbox.queries import backlog
from guildbank.platform.models.announcements import CustomCommandSet, OperatorSetting
from guildbank.platform.uow import UnitOfWork
from guildbank.platform.upsert import insert_ignore

__all__ = [
    "DEFAULTS",
    "PRESENCE",
    "RESTART",
    "SHARD_ONLINE_SECONDS",
    "bot_status",
    "get_defaults",
    "get_presence",
    "put_defaults",
    "put_presence",
    "request_restart",
    "sync",
]

PRESENCE, RESTART, SHARD = "bot.presence", "bot.restart", "bot.shard."
# Read by the guilds feature when a guild registers (its settings start from these).
DEFAULTS = OPERATOR_DEFAULTS
# A shard is online while its process reported within this many seconds.
SHARD_ONLINE_SECONDS = 45.0


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def _read(uow: UnitOfWork, name: str) -> OperatorSetting | None:
    return (
        await uow.session.execute(
            select(OperatorSetting)
            .where(OperatorSetting.name == name)
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()


async def _write(
    uow: UnitOfWork, name: str, value: dict[str, Any], expected: int | None = None
) -> int:
    """Store ``value`` under ``name``; its new version (refused if not ``expected``)."""
    if await insert_ignore(
        uow.session,
        OperatorSetting,
        {"name": name, "value": value, "version": 1, "updated_at": uow.now},
        ["name"],
    ):
        if expected is not None and expected != 0:
            raise StaleVersion(what=name, expected=expected, current=0)
        return 1
    query = update(OperatorSetting).where(OperatorSetting.name == name)
    if expected is not None:
        query = query.where(OperatorSetting.version == expected)
    version = (
        await uow.session.execute(
            query.values(
                value=value, version=OperatorSetting.version + 1, updated_at=uow.now
            ).returning(OperatorSetting.version),
            execution_options={"synchronize_session": False},
        )
    ).scalar_one_or_none()
    if version is None:
        current = await _read(uow, name)
        raise StaleVersion(
            what=name, expected=expected or 0, current=0 if current is None else current.version
        )
    return int(version)


def _presence(row: OperatorSetting | None) -> PresenceOut:
    if row is None:
        return PresenceOut(
            status="online", activity_type=None, activity_text="", version=0, updated_at=None
        )
    return PresenceOut(**row.value, version=row.version, updated_at=row.updated_at)


async def get_presence(uow: UnitOfWork) -> PresenceOut:
    return _presence(await _read(uow, PRESENCE))


async def put_presence(uow: UnitOfWork, *, presence: PresenceIn) -> PresenceOut:
    """Store the presence every bot process applies (within seconds, through ``sync``)."""
    value = presence.model_dump(include={"status", "activity_type", "activity_text"})
    if value["activity_type"] is None:
        value["activity_text"] = ""
    version = await _write(uow, PRESENCE, value, presence.expected_version)
    uow.emit(PresenceChanged(guild_id=OPERATOR_GUILD, version=version))
    return PresenceOut(**value, version=version, updated_at=uow.now)


async def request_restart(uow: UnitOfWork) -> int:
    """Ask every bot process to reconnect its gateway shards (the next restart version)."""
    version = await _write(uow, RESTART, {"requested_at": uow.now.isoformat()})
    uow.emit(BotRestartRequested(guild_id=OPERATOR_GUILD, version=version))
    return version


async def get_defaults(uow: UnitOfWork) -> OperatorSettingsOut:
    row = await _read(uow, DEFAULTS)
    if row is None:
        return OperatorSettingsOut(defaults=GuildDefaults(), version=0)
    return OperatorSettingsOut(defaults=GuildDefaults(**row.value), version=row.version)


async def put_defaults(
    uow: UnitOfWork, *, defaults: GuildDefaults, expected_version: int | None = None
) -> OperatorSettingsOut:
    value = defaults.model_dump(mode="json")
    operator_defaults(value)  # what a new guild could not be saved with is refused now (400)
    version = await _write(uow, DEFAULTS, value, expected_version)
    uow.emit(OperatorSettingsChanged(guild_id=OPERATOR_GUILD, version=version))
    return OperatorSettingsOut(defaults=defaults, version=version)


async def heartbeat(uow: UnitOfWork, body: BotSyncIn) -> None:
    """Record that ``body.owner`` runs its shards now (for ``GET /api/status``)."""
    for shard_id in body.shard_ids:
        value = {
            "owner": body.owner,
            "latency_ms": body.latency_ms,
            "guilds": body.guild_count,
            "started_at": body.started_at.isoformat(),
            "seen_at": uow.now.isoformat(),
        }
        await _write(uow, f"{SHARD}{shard_id}", value)


async def sync(uow: UnitOfWork, body: BotSyncIn) -> BotSyncOut:
    """What a bot process must apply: the presence, the restart version, and the guilds whose
    custom commands changed since the versions it sent."""
    presence = await get_presence(uow)
    restart = await _read(uow, RESTART)
    changed: list[str] = []
    if body.command_versions:
        rows = await uow.session.execute(
            select(CustomCommandSet.guild_id, CustomCommandSet.version).where(
                CustomCommandSet.guild_id.in_(list(body.command_versions))
            )
        )
        current = dict(rows.all())
        changed = sorted(
            g for g, held in body.command_versions.items() if current.get(g, 0) != held
        )
    return BotSyncOut(
        presence=presence,
        restart_version=0 if restart is None else restart.version,
        command_guilds=changed,
    )


async def bot_status(uow: UnitOfWork) -> BotStatusOut:
    rows = (
        await uow.session.execute(
            select(OperatorSetting).where(OperatorSetting.name.like(f"{SHARD}%"))
        )
    ).scalars()
    shards = []
    for row in rows:
        seen = _utc(datetime.fromisoformat(row.value["seen_at"]))
        shards.append(
            ShardStatus(
                shard_id=int(row.name.removeprefix(SHARD)),
                online=uow.now - seen <= timedelta(seconds=SHARD_ONLINE_SECONDS),
                owner=row.value["owner"],
                latency_ms=row.value.get("latency_ms"),
                guilds=row.value.get("guilds", 0),
                started_at=_utc(datetime.fromisoformat(row.value["started_at"])),
                seen_at=seen,
            )
        )
    shards.sort(key=lambda s: s.shard_id)
    online = [s for s in shards if s.online]
    started = min((s.started_at for s in online), default=None)
    # Every process reports its own guild count for each of its shards: count each once.
    guilds = {s.owner: s.guilds for s in online}
    jobs = await backlog(uow)
    return BotStatusOut(
        online=bool(online),
        shards=shards,
        uptime_seconds=None if started is None else (uow.now - started).total_seconds(),
        guild_count=sum(guilds.values()),
        outbox_pending=jobs.pending,
        outbox_failed=jobs.failed,
        presence=await get_presence(uow),
    )
