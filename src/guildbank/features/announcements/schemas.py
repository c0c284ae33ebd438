"""Wire models: embeds (Discord's JSON shape), announcements, custom commands, presence,
operator settings and the bot's sync.

The embed model only checks types (and a generous size cap against abuse): Discord's limits
are ``rules.embed_violations``, so one refusal names every broken limit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema

from guildbank.core.ids import DISCORD_ID_PATTERN, MAX_DIGITS
from guildbank.core.schemas import MULTI_LINE, SINGLE_LINE, Out, Snowflake
from guildbank.features.guilds.rules import DEFAULT_STREAK_BONUSES
from guildbank.features.guilds.schemas import StreakBonuses

__all__ = [
    "ActivityType",
    "AnnouncementIn",
    "AnnouncementOut",
    "AnnouncementUpdate",
    "BotStatusOut",
    "BotSyncIn",
    "BotSyncOut",
    "CommandSetOut",
    "CustomCommandIn",
    "CustomCommandOut",
    "EmbedIn",
    "EmbedPostIn",
    "EmbedTemplateIn",
    "EmbedTemplateOut",
    "EmbedTemplateUpdate",
    "GuildDefaults",
    "OperatorSettingsOut",
    "PresenceIn",
    "PresenceOut",
    "ShardStatus",
    "SyncState",
]

# Row ids a JSON number carries exactly (a float past 2**53 loses digits), and versions an
# INTEGER column holds.
MAX_ROW_ID = 2**53 - 1
MAX_VERSION = 2**31 - 1
# Generous caps: beyond Discord's limits (so the rules name them), short of abuse.
Text = Annotated[str, StringConstraints(max_length=8000)]
Url = Annotated[str, StringConstraints(max_length=4000)]
PresenceStatus = Literal["online", "idle", "dnd", "invisible"]
ActivityType = Literal["playing", "listening", "watching", "competing", "custom"]
# Where an object's Discord message stands: no message wanted, waiting for the bot, shown,
# refused by Discord, or deleted in Discord (an edit posts it again).
SyncState = Literal["none", "pending", "synced", "failed", "orphaned"]


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EmbedFieldIn(_Strict):
    name: Text = ""
    value: Text = ""
    inline: bool = False


class EmbedFooterIn(_Strict):
    text: Text = ""
    icon_url: Url | None = None


class EmbedAuthorIn(_Strict):
    name: Text = ""
    url: Url | None = None
    icon_url: Url | None = None


class EmbedMediaIn(_Strict):
    url: Url


class EmbedIn(_Strict):
    """An embed as Discord's API documents it (a subset: no video or provider)."""

    title: Text | None = None
    description: Text | None = None
    url: Url | None = None
    color: int | None = Field(default=None, description="0 to 16777215 (0xFFFFFF)")
    timestamp: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        default=None, description="ISO 8601 date-time shown in the footer"
    )
    footer: EmbedFooterIn | None = None
    author: EmbedAuthorIn | None = None
    image: EmbedMediaIn | None = None
    thumbnail: EmbedMediaIn | None = None
    fields: Annotated[list[EmbedFieldIn], Field(max_length=100)] = []

    def as_discord(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True, exclude_defaults=False)


Name = Annotated[str, StringConstraints(min_length=1, max_length=100, strip_whitespace=True)]


class EmbedTemplateIn(_Strict):
    name: Annotated[Name, SINGLE_LINE]
    embed: EmbedIn


class EmbedTemplateUpdate(_Strict):
    name: Annotated[Name, SINGLE_LINE] | None = None
    embed: EmbedIn | None = None
    expected_version: int | None = Field(default=None, ge=1, le=MAX_VERSION)


class EmbedPostIn(_Strict):
    channel_id: Snowflake


class EmbedTemplateOut(Out):
    id: int
    guild_id: str
    name: str
    embed: dict[str, Any]
    channel_id: str | None
    message_id: str | None = None
    sync: SyncState = "none"
    sync_error: str | None = None
    version: int
    created_at: UtcDatetime
    updated_at: UtcDatetime


Content = Annotated[str, StringConstraints(max_length=2000), MULTI_LINE]


class AnnouncementIn(_Strict):
    channel_id: Snowflake
    content: Content = ""
    embed: EmbedIn | None = None
    embed_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID, description="Use a saved embed")
    pin: bool = False
    scheduled_at: UtcDatetime | None = Field(
        default=None, description="Post at this time (future); posted now when absent"
    )
    created_by: Annotated[str, StringConstraints(max_length=32)] | None = None


class AnnouncementUpdate(_Strict):
    content: Content | None = None
    embed: EmbedIn | None = None
    remove_embed: bool = False
    channel_id: Snowflake | None = None
    scheduled_at: UtcDatetime | None = None
    expected_version: int | None = Field(default=None, ge=1, le=MAX_VERSION)


class AnnouncementOut(Out):
    id: int
    guild_id: str
    channel_id: str
    content: str
    embed: dict[str, Any] | None
    pin: bool
    status: Literal["scheduled", "posted", "cancelled", "deleted"]
    scheduled_at: UtcDatetime | None
    posted_at: UtcDatetime | None
    orphaned: bool = False
    message_id: str | None = None
    sync: SyncState = "none"
    sync_error: str | None = None
    # Where the last pin or unpin stands in Discord (``message.pin``/``message.unpin`` jobs).
    pin_sync: SyncState = "none"
    pin_error: str | None = None
    task_id: int | None
    created_by: str | None
    version: int
    created_at: UtcDatetime
    updated_at: UtcDatetime


class CustomCommandIn(_Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    description: Annotated[
        str, StringConstraints(min_length=1, max_length=100, strip_whitespace=True), SINGLE_LINE
    ] = "A custom command"
    response: Content = ""
    embed_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)


class CustomCommandOut(Out):
    name: str
    description: str
    response: str
    embed_id: int | None
    # The embed to answer with, ready for Discord (None: text only).
    embed: dict[str, Any] | None = None
    created_at: UtcDatetime


class CommandSetOut(Out):
    """A guild's custom commands with their version (bots re-register when it changes)."""

    guild_id: str
    version: int
    commands: list[CustomCommandOut]


class PresenceIn(_Strict):
    status: PresenceStatus = "online"
    activity_type: ActivityType | None = None
    activity_text: Annotated[str, StringConstraints(max_length=128), SINGLE_LINE] = ""
    expected_version: int | None = Field(default=None, ge=1, le=MAX_VERSION)


class PresenceOut(Out):
    status: PresenceStatus
    activity_type: ActivityType | None
    activity_text: str
    version: int
    updated_at: UtcDatetime | None


class ShardStatus(Out):
    shard_id: int
    online: bool
    owner: str
    latency_ms: float | None
    guilds: int
    started_at: UtcDatetime
    seen_at: UtcDatetime


class BotStatusOut(Out):
    """``GET /api/status``: the bot per shard, uptime, guilds, the outbox backlog."""

    online: bool
    shards: list[ShardStatus]
    uptime_seconds: float | None
    guild_count: int
    outbox_pending: int
    outbox_failed: int
    presence: PresenceOut


class BotSyncIn(_Strict):
    """A bot process's long poll: what it applied, and its shards' heartbeat."""

    owner: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    shard_ids: Annotated[list[Annotated[int, Field(ge=0, le=4095)]], Field(max_length=256)] = []
    latency_ms: float | None = Field(default=None, ge=0, le=1e6, allow_inf_nan=False)
    guild_count: int = Field(default=0, ge=0, le=10_000_000)
    started_at: UtcDatetime
    presence_version: int = Field(default=0, ge=-1, le=MAX_VERSION)
    restart_version: int | None = Field(default=None, ge=0, le=MAX_VERSION)
    # Custom command versions this process registered, by guild.
    command_versions: Annotated[
        dict[Snowflake, Annotated[int, Field(ge=0, le=MAX_VERSION)]],
        Field(max_length=100_000),
        WithJsonSchema(
            {
                "type": "object",
                "description": "Guild id to the custom command version this process holds.",
                "propertyNames": {"pattern": DISCORD_ID_PATTERN, "maxLength": MAX_DIGITS},
                "additionalProperties": {"type": "integer", "minimum": 0, "maximum": MAX_VERSION},
                "maxProperties": 100_000,
            }
        ),
    ] = {}
    # Keep it below the client's timeout (the bot's is 10 s).
    wait_seconds: float = Field(default=0.0, ge=0, le=9, allow_inf_nan=False)


class BotSyncOut(Out):
    presence: PresenceOut
    restart_version: int
    # Guilds whose custom commands changed since the versions sent (to register again).
    command_guilds: list[str]


class GuildDefaults(_Strict):
    """Operator-wide defaults for guilds the bot joins from now on."""

    currency_name: Annotated[str, StringConstraints(min_length=1, max_length=32), SINGLE_LINE] = (
        "bytes"
    )
    currency_emoji: Annotated[str, StringConstraints(max_length=64), SINGLE_LINE] = "💰"
    starting_balance: int = Field(default=100, ge=0, le=1_000_000_000)
    daily_amount: int = Field(default=10, ge=1, le=1_000_000_000)
    streak_bonuses: StreakBonuses = Field(default_factory=lambda: dict(DEFAULT_STREAK_BONUSES))


class OperatorSettingsOut(Out):
    defaults: GuildDefaults
    version: int
