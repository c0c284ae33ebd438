"""Every domain event is a typed class with a unique name whose payload the stream can send."""

from __future__ import annotations

import json

from guildbank.core.events import DomainEvent
from guildbank.features.economy.events import TransferMade
from guildbank.runtime import registry  # noqa: F401 - imports every feature, so every event


def _all_events(base: type[DomainEvent]) -> dict[str, type[DomainEvent]]:
    """Subclasses by qualified name (``slots=True`` leaves a twin of each class behind)."""
    found: dict[str, type[DomainEvent]] = {}
    for cls in base.__subclasses__():
        found[f"{cls.__module__}.{cls.__qualname__}"] = cls
        found.update(_all_events(cls))
    return found


def test_every_event_has_its_own_name() -> None:
    events = [cls for key, cls in _all_events(DomainEvent).items() if key.startswith("guildbank.")]
    names = [cls.name for cls in events]
    assert len(events) >= 13
    assert len(names) == len(set(names)), names


def test_the_payload_is_everything_but_the_guild_in_field_order() -> None:
    event = TransferMade(
        guild_id="1",
        transaction_id=7,
        giver_id="2",
        receiver_id="3",
        amount=5,
        reason=None,
        giver_balance=95,
        receiver_balance=105,
        roles_earned=[],
    )
    assert list(event.payload()) == [
        "transaction_id",
        "giver_id",
        "receiver_id",
        "amount",
        "reason",
        "giver_balance",
        "receiver_balance",
        "roles_earned",
    ]
    assert json.loads(json.dumps(event.payload()))["amount"] == 5
