"""Pure economy rules: who may send what, and which reward roles a credit earns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from guildbank.core.errors import InvalidInput
from guildbank.core.limits import MAX_AMOUNT, MAX_REASON_LENGTH
from guildbank.core.text import check_text
from guildbank.features.guilds.rules import EconomyConfig

__all__ = [
    "AdjustAction",
    "check_adjustment",
    "check_reason_length",
    "required_reason",
    "roles_crossed",
    "roles_earned",
    "validate_transfer",
]

AdjustAction = Literal["add", "remove", "set"]


def validate_transfer(
    config: EconomyConfig, *, giver_id: str, receiver_id: str, amount: int, reason: str | None
) -> None:
    """Refuse a transfer that breaks a rule knowable without the database."""
    if giver_id == receiver_id:
        raise InvalidInput("You cannot send bytes to yourself.", code="self_transfer")
    if amount < 1:
        raise InvalidInput("The amount must be at least 1.", code="invalid_amount", amount=amount)
    if amount > config.max_transfer:
        raise InvalidInput(
            f"You can send at most {config.max_transfer} {config.currency_name} at once; "
            f"you tried to send {amount}.",
            code="amount_over_limit",
            max_transfer=config.max_transfer,
            amount=amount,
        )
    if reason is not None:
        check_reason_length(reason)


def check_reason_length(reason: str) -> None:
    """Refuse a reason longer than the ledger stores or holding a control character (the
    schemas' ``Reason`` rules too, for callers that bypass them: the dashboard, the bot)."""
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidInput(
            f"The reason is limited to {MAX_REASON_LENGTH} characters.", code="reason_too_long"
        )
    check_text(reason, field="reason")


def required_reason(reason: str) -> str:
    """An admin action's reason, trimmed; refused when blank or too long."""
    cleaned = reason.strip()
    if not cleaned:
        raise InvalidInput("A reason is required for this action.", code="reason_required")
    check_reason_length(cleaned)
    return cleaned


def check_adjustment(action: AdjustAction, amount: int) -> None:
    """Refuse an adjustment amount out of range: a "set" may be 0, an add or remove not."""
    minimum = 0 if action == "set" else 1
    if not minimum <= amount <= MAX_AMOUNT:
        raise InvalidInput(
            f"The amount must be between {minimum} and {MAX_AMOUNT}.", code="invalid_amount"
        )


def roles_crossed(role_rewards: Mapping[str, int], before: int, after: int) -> list[str]:
    """Role ids whose total_received threshold was crossed by going from ``before`` to ``after``."""
    return sorted(
        (role for role, threshold in role_rewards.items() if before < threshold <= after),
        key=lambda role: (role_rewards[role], role),
    )


def roles_earned(role_rewards: Mapping[str, int], total_received: int) -> list[str]:
    """Every role a member with ``total_received`` should hold (for reconciles and displays)."""
    return sorted(role for role, threshold in role_rewards.items() if threshold <= total_received)
