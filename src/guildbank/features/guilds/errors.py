"""What the guilds feature refuses: unknown guilds, turned-off features, stale settings, and
channel or role ids that do not fit the guild the bot reported."""

from __future__ import annotations

from typing import ClassVar, Literal

from guildbank.core.errors import ErrorKind, GuildbankError, NotFound

__all__ = [
    "BadChannel",
    "BadRole",
    "FeatureDisabled",
    "GuildNotFound",
    "RoleNotAssignable",
    "StaleSettings",
]


class GuildNotFound(NotFound):
    code: ClassVar[str] = "guild_not_found"

    def __init__(self, guild_id: str) -> None:
        super().__init__(f"Guild {guild_id!r} not found", guild_id=guild_id)


class FeatureDisabled(GuildbankError):
    """The guild turned this feature off: its commands and routes refuse until it is back on."""

    code: ClassVar[str] = "feature_disabled"
    kind: ClassVar[ErrorKind] = "conflict"

    def __init__(self, feature: str) -> None:
        super().__init__(f"The {feature} feature is disabled on this server.", feature=feature)


class StaleSettings(GuildbankError):
    """The settings changed since the version the caller edited (optimistic edits)."""

    code: ClassVar[str] = "stale_version"
    kind: ClassVar[ErrorKind] = "conflict"

    def __init__(self, *, expected: int, current: int) -> None:
        super().__init__(
            f"The settings changed meanwhile (version {current}, you edited {expected}); "
            "reload them and apply your change again.",
            expected=expected,
            current=current,
        )


class BadChannel(GuildbankError):
    """A channel id the guild's reported channels do not back (unknown, another guild's, gone,
    or not a text channel). ``code`` says which."""

    kind: ClassVar[ErrorKind] = "invalid"

    def __init__(self, message: str, *, code: str, setting: str, channel_id: str) -> None:
        super().__init__(message, setting=setting, channel_id=channel_id)
        self.code = code  # type: ignore[misc]


class BadRole(GuildbankError):
    """A role id the guild's reported roles do not back: unknown, deleted, or @everyone."""

    code: ClassVar[str] = "unknown_role"
    kind: ClassVar[ErrorKind] = "invalid"

    def __init__(
        self, role_id: str, *, setting: str, why: Literal["unknown", "deleted", "everyone"]
    ) -> None:
        message = {
            "unknown": f"Role {role_id} is not a role of this server.",
            "deleted": f"Role {role_id} was deleted.",
            "everyone": "@everyone cannot be used here: pick a role.",
        }[why]
        super().__init__(message, setting=setting, role_id=role_id)


class RoleNotAssignable(GuildbankError):
    """The bot could never grant this role: at or above its own highest role, or managed by
    an integration (a bot's or a booster role)."""

    code: ClassVar[str] = "role_above_bot"
    kind: ClassVar[ErrorKind] = "conflict"

    def __init__(self, role_id: str, name: str, *, setting: str, managed: bool = False) -> None:
        if managed:
            message = f"@{name} is managed by an integration: no bot can give it to members."
        else:
            message = (
                f"@{name} is at or above the bot's highest role, so the bot cannot give it; "
                "move the bot's role above it in the server settings."
            )
        super().__init__(message, setting=setting, role_id=role_id, managed=managed)
        if managed:
            self.code = "role_managed"  # type: ignore[misc]
