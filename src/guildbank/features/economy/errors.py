"""What the economy refuses beyond the ledger's own refusals."""

from __future__ import annotations

from typing import ClassVar

from guildbank.core.errors import ErrorKind, GuildbankError

__all__ = ["AlreadyClaimed", "CooldownActive"]


class AlreadyClaimed(GuildbankError):
    code: ClassVar[str] = "already_claimed"
    kind: ClassVar[ErrorKind] = "conflict"

    def __init__(self, *, retry_after_seconds: int) -> None:
        hours, rest = divmod(retry_after_seconds, 3600)
        super().__init__(
            f"Daily reward already claimed today; the next one is available in {hours}h "
            f"{rest // 60}m.",
            retry_after_seconds=retry_after_seconds,
        )


class CooldownActive(GuildbankError):
    code: ClassVar[str] = "transfer_cooldown"
    kind: ClassVar[ErrorKind] = "conflict"

    def __init__(self, *, retry_after_seconds: int) -> None:
        super().__init__(
            f"You can send again in {-(-retry_after_seconds // 60)} minute(s) (transfer cooldown).",
            retry_after_seconds=retry_after_seconds,
        )
