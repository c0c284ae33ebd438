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
    database_pool_size: int = 20
    redis_url: str = ""
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

    api_url: str = ""
    api_key: SecretStr = SecretStr("")

    admin_username: str = ""
    admin_password: SecretStr = SecretStr("")

    api_key_cache_seconds: float = 30.0
    guild_config_cache_seconds: float = 30.0

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
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
