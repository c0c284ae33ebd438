"""Process settings: one pydantic-settings object built at start and passed down.

Everything is read from ``GUILDBANK_*`` environment variables or a ``.env`` file; see
``.env.example`` for the full list. Production refuses to start with placeholder secrets.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["PLACEHOLDER_SECRET", "Settings"]

PLACEHOLDER_SECRET = "change-me"  # noqa: S105 - the documented placeholder, refused in production
DISCORD_API_V10 = "https://discord.com/api/v10"


class Settings(BaseSettings):
    """Every knob of a guildbank process."""

    model_config = SettingsConfigDict(
        env_prefix="GUILDBANK_", env_file=".env", extra="ignore", frozen=True
    )

    env: Literal["development", "production"] = "development"
    database_url: str = "sqlite+aiosqlite:///./data/guildbank.db"
    # PostgreSQL connections this process may hold, all pools together (docs/scaling.md): half
    # for the SQLAlchemy pool (units of work), half for the fast path's asyncpg pool
    # (one-statement transfers); neither overflows. N processes x this must fit max_connections.
    database_connections: int = Field(default=20, ge=2)
    # Shutdown (SIGTERM): how long in-flight requests may finish before they are cancelled.
    shutdown_grace_seconds: int = Field(default=30, ge=0)
    redis_url: str = ""
    # Where archived ledger history goes (features/archive): empty means an `archives` folder
    # beside the SQLite file, or ./data/archives on PostgreSQL. Back it up with the database.
    archive_dir: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: SecretStr = SecretStr(PLACEHOLDER_SECRET)
    log_level: str = "INFO"
    log_json: bool = False

    discord_token: SecretStr = SecretStr("")
    discord_api_url: str = DISCORD_API_V10
    discord_command_guilds: list[int] = []
    discord_client_id: str = ""
    discord_client_secret: SecretStr = SecretStr("")
    discord_redirect_uri: str = ""
    # Minutes between the bot's reconciles of reward roles (also run when a guild becomes
    # available); 0 turns the periodic one off.
    role_reconcile_minutes: float = Field(default=60.0, ge=0)
    # The outbox (docs/outbox.md): attempts before a job fails for good, the retry backoff
    # (doubling from base, capped, jittered), how long a worker's lease lasts, and how long
    # the bot's lease call waits for new work before asking again (its safety-net poll; keep
    # it below the bot's API client timeout of 10 s; 0 runs no outbox worker).
    outbox_max_attempts: int = Field(default=8, ge=1)
    outbox_retry_base_seconds: float = Field(default=5.0, ge=0)
    outbox_retry_max_seconds: float = Field(default=900.0, ge=0)
    outbox_lease_seconds: float = Field(default=60.0, gt=0)
    outbox_poll_seconds: float = Field(default=8.0, ge=0, le=60)

    api_url: str = ""
    api_key: SecretStr = SecretStr("")

    admin_username: str = ""
    admin_password: SecretStr = SecretStr("")

    api_key_cache_seconds: float = 30.0
    # Idempotency-Key records: kept this long (at least 24 h, SPEC §4.1), then deleted by the
    # web process, which looks for expired ones every idempotency_purge_minutes.
    idempotency_retention_hours: float = Field(default=24.0, ge=24.0)
    idempotency_purge_minutes: float = Field(default=10.0, gt=0)
    guild_config_cache_seconds: float = 30.0
    # Published events stay this long in the event log, for streams resuming from
    # Last-Event-ID (docs/events.md).
    event_retention_hours: float = Field(default=72.0, gt=0)
    # Member account ids a process remembers (least recently used forgotten first): a hit
    # saves a look-up by (guild, user); a few hundred bytes each.
    account_cache_size: int = Field(default=100_000, ge=0)
    # Leaderboard ranks (docs/hot-paths.md): exact when fewer than rank_exact_limit members
    # are ahead or the guild has fewer than rank_snapshot_min_members; deeper in a larger guild
    # an estimate from a per-process snapshot of every rank_snapshot_step-th position, rebuilt
    # in the background once older than rank_snapshot_seconds, kept for rank_snapshot_guilds
    # guilds (least recently used forgotten first).
    rank_exact_limit: int = Field(default=10_000, ge=0)
    rank_snapshot_min_members: int = Field(default=20_000, ge=1)
    rank_snapshot_step: int = Field(default=1_000, ge=1)
    rank_snapshot_seconds: float = Field(default=60.0, gt=0)
    rank_snapshot_guilds: int = Field(default=256, ge=1)

    # Dashboard: session lifetime, how often a Discord user's server permissions are re-read
    # from Discord (checked on every request, cached this long), the bot-token lookup cache
    # (names, roles, channels), failed logins allowed per minute per IP and username, and the
    # keep-alive interval of the live stream.
    dashboard_session_hours: float = 12.0
    dashboard_access_cache_seconds: float = 30.0
    discord_cache_seconds: float = 60.0
    login_attempts_per_minute: int = 5
    stream_ping_seconds: float = 15.0

    @model_validator(mode="after")
    def _refuse_placeholders_in_production(self) -> Settings:
        if self.env != "production":
            return self
        secret = self.secret_key.get_secret_value()
        if secret == PLACEHOLDER_SECRET or len(secret) < 32:
            msg = (
                "GUILDBANK_SECRET_KEY must be a random value of at least 32 characters "
                "in production"
            )
            raise ValueError(msg)
        if self.admin_username and self.admin_password.get_secret_value() in (
            "",
            PLACEHOLDER_SECRET,
        ):
            msg = "GUILDBANK_ADMIN_PASSWORD must be set to a real password in production"
            raise ValueError(msg)
        return self

    @property
    def database_pool_size(self) -> int:
        """Each pool's share of ``database_connections``: the SQLAlchemy pool gets this many
        and the fast path's driver pool mirrors it (``platform.uow.Services``)."""
        return self.database_connections // 2

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
