"""A demo guild that looks like the README's screenshots: members joining over a month, dailies
and transfers spread through each day, a few admin prizes and a reversal, squads with members,
role rewards, and the server's channels and roles by name.

Everything goes through the real services (ledger, squads, settings), each action in its own
unit of work under a clock set to the moment it "happened", so the overview's charts have 30
days of shape and the admin log its dates. The clock never passes the real now.

Rerunning is safe: a database that already has the demo guild is left alone (``skipped``);
nothing is added twice. To rebuild it, start from a fresh database.

Member names: the dashboard asks Discord for members' names and avatars (bot token), then
falls back to the names the bot reported (``accounts.display_name``); the demo stores
``DEMO_NAMES`` there, so its members show by name without Discord. Roles and channels are
stored (the bot's metadata report) and show by name.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import TypeVar

from guildbank.core.errors import GuildbankError
from guildbank.features.economy import admin as economy_admin
from guildbank.features.economy import service as economy
from guildbank.features.economy.schemas import TransferOut
from guildbank.features.guilds.metadata import replace_metadata
from guildbank.features.guilds.schemas import ChannelIn, RoleIn
from guildbank.features.guilds.service import register_guild, update_config
from guildbank.features.members.service import remember_names
from guildbank.features.squads import admin as squad_admin
from guildbank.features.squads import service as squads
from guildbank.platform.clock import utcnow
from guildbank.platform.models.guilds import Guild
from guildbank.platform.uow import Services, UnitOfWork, unit_of_work

__all__ = [
    "DEMO_GUILD_ID",
    "DEMO_MEMBERS",
    "DEMO_NAMES",
    "DemoSummary",
    "describe",
    "fill_demo_guild",
]

T = TypeVar("T")

DEMO_GUILD_ID = "100000000000000001"
DEMO_GUILD_NAME = "guildbank demo"
DEMO_NAMES = (
    "alice", "bob", "carol", "dave", "erin", "frank",
    "grace", "heidi", "ivan", "judy", "mallory", "oscar",
)  # fmt: skip
DEMO_MEMBERS = tuple(str(200000000000000000 + i) for i in range(1, len(DEMO_NAMES) + 1))
DEMO_ACTOR = "key:demo"  # who made the demo's admin actions (the admin log says "API key demo")
DAYS = 30


def _id(n: int) -> str:
    return str(100000000000000100 + n)


# The server as the bot would report it: the bot's role on top, so reward and squad roles
# below it can be granted.
CHANNELS = (("general", 1), ("bank-log", 2), ("shop", 3), ("tasks", 4))
ROLES = (
    ("guildbank", 20, True),
    ("Regular", 5, False),
    ("Patron", 6, False),
    ("Legend", 7, False),
    ("Red Dragons", 10, False),
    ("Blue Whales", 11, False),
    ("Green Geckos", 12, False),
)
ROLE_IDS = {name: _id(number) for name, number, _ in ROLES}
ROLE_REWARDS = {"Regular": 150, "Patron": 400, "Legend": 900}  # total received to earn it
SQUADS = (("Red Dragons", "🐉", 50), ("Blue Whales", "🐋", 50), ("Green Geckos", "🦎", 25))
REASONS = ("thanks!", "lunch", "gg", "for the raid", "birthday 🎂", "coffee", None)
PRIZES = ("event prize", "contest winner", "bug report bounty")


@dataclass(slots=True)
class DemoSummary:
    guild_id: str
    members: int
    transfers: int = 0
    refused: int = 0
    dailies: int = 0
    adjustments: int = 0
    squads: int = 0
    skipped: bool = False
    days: int = DAYS
    first: datetime | None = None
    last: datetime | None = None
    notes: list[str] = field(default_factory=list)


class _Clock:
    """The services' clock while the demo runs: set to each action's moment."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def _exists(services: Services) -> bool:
    async with unit_of_work(services, read_only=True) as uow:
        found = await uow.session.get(Guild, DEMO_GUILD_ID)
        await uow.commit()
    return found is not None


async def _setup(uow: UnitOfWork) -> dict[str, int]:
    """The guild, its channels and roles by name, settings with role rewards, the squads (their
    ids by name)."""
    await register_guild(uow, guild_id=DEMO_GUILD_ID, name=DEMO_GUILD_NAME)
    await replace_metadata(
        uow,
        guild_id=DEMO_GUILD_ID,
        channels=[ChannelIn(id=_id(n), name=name, type=0, position=n) for name, n in CHANNELS],
        roles=[
            RoleIn(id=_id(n), name=name, position=n, bot_holds=bot, managed=bot)
            for name, n, bot in ROLES
        ],
    )
    await update_config(
        uow,
        guild_id=DEMO_GUILD_ID,
        changes={
            "rate_limit_per_minute": 0,  # the demo acts fast; a real server keeps a limit
            "daily_amount": 25,
            "role_rewards": {ROLE_IDS[name]: total for name, total in ROLE_REWARDS.items()},
        },
        actor_id=DEMO_ACTOR,
    )
    squad_ids = {}
    for name, emoji, cost in SQUADS:
        created = await squad_admin.create_squad(
            uow,
            guild_id=DEMO_GUILD_ID,
            role_id=ROLE_IDS[name],
            name=name,
            emoji=emoji,
            description=f"The {name.lower()} of the demo server.",
            switch_cost=cost,
            actor_id=DEMO_ACTOR,
        )
        squad_ids[name] = created.id
    return squad_ids


def _moments(rng: random.Random, day: datetime, count: int, until: datetime) -> list[datetime]:
    """``count`` moments of one day between 07:00 and 23:00 UTC, sorted, none after ``until``."""
    moments = sorted(day + timedelta(minutes=rng.randint(7 * 60, 23 * 60)) for _ in range(count))
    return [m for m in moments if m <= until]


async def fill_demo_guild(
    services: Services, *, seed: int = 7, now: datetime | None = None
) -> DemoSummary:
    """Fill the demo guild with 30 days of history ending at ``now`` (default: the real now);
    a database that already has it is left alone (``skipped``)."""
    if await _exists(services):
        return DemoSummary(DEMO_GUILD_ID, len(DEMO_MEMBERS), skipped=True)
    end = now or utcnow()
    rng = random.Random(seed)
    first_day = (end - timedelta(days=DAYS - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    clock = _Clock(first_day + timedelta(hours=6))
    summary = DemoSummary(DEMO_GUILD_ID, len(DEMO_MEMBERS), first=clock.now)
    real_clock = services.clock
    services.clock = clock
    try:
        async with unit_of_work(services) as uow:
            squad_ids = await _setup(uow)
            await uow.commit()
        summary.squads = len(squad_ids)
        await _history(services, rng, clock, (first_day, end), squad_ids, summary)
        # The names the bot would have reported: the dashboard shows them without Discord.
        async with unit_of_work(services) as uow:
            await remember_names(
                uow, guild_id=DEMO_GUILD_ID, names=dict(zip(DEMO_MEMBERS, DEMO_NAMES, strict=True))
            )
            await uow.commit()
    finally:
        services.clock = real_clock
    summary.last = clock.now
    return summary


async def _act(services: Services, action: Callable[[UnitOfWork], Awaitable[T]]) -> T | None:
    """One action in its own unit of work; None when the rules refuse it (as they would a
    member: not enough money, already claimed)."""
    try:
        async with unit_of_work(services) as uow:
            result = await action(uow)
            await uow.commit()
    except GuildbankError:
        return None
    return result


async def _history(
    services: Services,
    rng: random.Random,
    clock: _Clock,
    span: tuple[datetime, datetime],
    squad_ids: dict[str, int],
    summary: DemoSummary,
) -> None:
    """Day by day: members join over the first weeks (a daily opens their account and the
    first ones join a squad), claim most days, send each other money; now and then an admin
    prize, and once a transfer reversed."""
    # Members arrive over the first three weeks; some claim every day, some now and then.
    joined = {m: (i * 19) // len(DEMO_MEMBERS) for i, m in enumerate(DEMO_MEMBERS)}
    keenness = {m: rng.choice((0.95, 0.85, 0.7, 0.5, 0.35)) for m in DEMO_MEMBERS}
    first_day, end = span
    reversed_one = False
    for d in range(DAYS):
        day = first_day + timedelta(days=d)
        present = [m for m in DEMO_MEMBERS if joined[m] <= d]
        plan: list[tuple[datetime, str, str]] = []
        for m in present:
            if joined[m] == d or rng.random() < keenness[m]:
                plan += [(t, "daily", m) for t in _moments(rng, day, 1, end)]
        busy = 2 + len(present) // 2 + rng.randint(0, 4) + (3 if day.weekday() >= 5 else 0)
        plan += [(t, "transfer", "") for t in _moments(rng, day, busy, end)]
        if d % 6 == 5:
            plan += [(t, "prize", "") for t in _moments(rng, day, 1, end)]
        for moment, kind, who in sorted(plan):
            clock.now = moment
            if kind == "daily":
                summary.dailies += await _daily(services, who)
                if joined[who] == d and rng.random() < 0.75:
                    squad = squad_ids[rng.choice(list(squad_ids))]
                    await _act(
                        services,
                        partial(
                            squads.join_squad, guild_id=DEMO_GUILD_ID, user_id=who, squad_id=squad
                        ),
                    )
            elif kind == "transfer" and len(present) >= 2:
                sent = await _transfer(services, rng, present)
                if sent is None:
                    summary.refused += 1
                    continue
                summary.transfers += 1
                if not reversed_one and d >= DAYS // 2 and sent.amount >= 20:
                    clock.now = min(moment + timedelta(seconds=30), end)
                    done = await _act(
                        services,
                        partial(
                            economy_admin.reverse_transaction,
                            guild_id=DEMO_GUILD_ID,
                            transaction_id=sent.id,
                            reason="sent to the wrong member by mistake",
                            actor_id=DEMO_ACTOR,
                        ),
                    )
                    reversed_one = done is not None
            elif kind == "prize" and present:
                prize = await _act(
                    services,
                    partial(
                        economy_admin.adjust_balance,
                        guild_id=DEMO_GUILD_ID,
                        user_id=rng.choice(present),
                        action="add",
                        amount=rng.choice((50, 100, 150)),
                        reason=rng.choice(PRIZES),
                        actor_id=DEMO_ACTOR,
                    ),
                )
                summary.adjustments += prize is not None


async def _daily(services: Services, member: str) -> int:
    claimed = await _act(
        services,
        lambda uow: economy.claim_daily(uow, guild_id=DEMO_GUILD_ID, user_id=member),
    )
    return int(claimed is not None)


async def _transfer(
    services: Services, rng: random.Random, present: list[str]
) -> TransferOut | None:
    giver, receiver = rng.sample(present, 2)
    amount = rng.choice((5, 10, 15, 20, 25, 40, 60, 80))
    reason = rng.choice(REASONS)
    return await _act(
        services,
        lambda uow: economy.transfer(
            uow,
            guild_id=DEMO_GUILD_ID,
            giver_id=giver,
            receiver_id=receiver,
            amount=amount,
            reason=reason,
        ),
    )


def describe(summary: DemoSummary) -> str:
    """What the CLI prints."""
    if summary.skipped:
        return (
            f"Demo guild {summary.guild_id}: already there, nothing added (a rerun never adds "
            "a second copy; start from a fresh database to rebuild it)."
        )
    return (
        f"Demo guild {summary.guild_id}: {summary.members} members, {summary.days} days of "
        f"history: {summary.dailies} dailies, {summary.transfers} transfers "
        f"({summary.refused} refused by the rules), {summary.adjustments} admin prizes, "
        f"{summary.squads} squads, {len(ROLE_REWARDS)} role rewards."
    )
