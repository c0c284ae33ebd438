"""Pure economy rules: who may send what, and which reward roles a credit earns."""

from __future__ import annotations

from collections.abc import Mapping

from guildbank.core.errors import InvalidInput
from guildbank.features.guilds.rules import EconomyConfig
from guildbank.ledger.limits import MAX_REASON_LENGTH

__all__ = ["roles_crossed", "roles_earned", "validate_transfer"]


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
    if reason is not None and len(reason) > MAX_REASON_LENGTH:
        raise InvalidInput(
            f"The reason is limited to {MAX_REASON_LENGTH} characters.", code="reason_too_long"
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
