"""Member and system accounts: found, locked in a fixed order, opened with their starting
balance, read.

Looking an account up by (guild, user) is the first step of most writes. Ids never change once
committed, so each process remembers them in a bounded LRU cache (``Services.account_ids``,
``GUILDBANK_ACCOUNT_CACHE_SIZE``). A miss on PostgreSQL is read on the driver pool, outside the
unit's transaction: the unit stays unbegun, so a transfer between members it has not seen yet
keeps its one-statement path (``ledger.posting.post_standalone``). One-statement writes that
resolve accounts themselves (``guildbank_transfer``, ``guildbank_claim_daily`` and its batch
``guildbank_claim_dailies``) look them up by the ``uq_accounts_guild_id`` index;
``remember_account`` caches what they return.

Lock order (PostgreSQL): whoever opens an account, or locks a member row and then posts against
the mint, takes the guild's mint row first (``lock_mint``).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from guildbank.core.errors import InvalidInput
from guildbank.core.ids import is_snowflake
from guildbank.ledger.events import AccountOpened
from guildbank.ledger.legs import transfer_legs
from guildbank.ledger.posting import post
from guildbank.ledger.types import TransactionType
from guildbank.platform.models.ledger import Account
from guildbank.platform.uow import UnitOfWork
from guildbank.platform.upsert import insert_ignore

__all__ = [
    "SHOP_ACCOUNTS",
    "SHOP_SHARDS",
    "SYSTEM_ACCOUNTS",
    "account_id",
    "account_ids",
    "ensure_account",
    "lock_accounts",
    "lock_mint",
    "open_account",
    "open_system_accounts",
    "read_balance",
    "remember_account",
    "shop_account",
    "shop_shard",
    "system_account_id",
]

# The shop's money is spread over SHOP_SHARDS accounts (migration 0019): each member's
# purchases, sell-backs and shop actions post to their shard's (``shop_account``), so
# concurrent buyers take turns on sixteen rows rather than one. The shop holds their sum.
SHOP_SHARDS = 16
SHOP_ACCOUNTS = ("shop", *(f"shop:{shard}" for shard in range(1, SHOP_SHARDS)))
# Every guild's ledger has them: the mint issues money, the sink takes fees out of circulation,
# the shop receives purchase money and pays sell-backs (migration 0012 added it to old guilds).
SYSTEM_ACCOUNTS = ("mint", "sink", *SHOP_ACCOUNTS)

_PG_ACCOUNT_IDS = (
    "SELECT user_id, id FROM accounts WHERE guild_id = $1 AND user_id = ANY($2::varchar[])"
)


async def account_id(uow: UnitOfWork, guild_id: str, user_id: str) -> int | None:
    """The id of an existing account (member or system), from cache or database."""
    return (await account_ids(uow, guild_id, (user_id,))).get(user_id)


async def account_ids(uow: UnitOfWork, guild_id: str, user_ids: Iterable[str]) -> dict[str, int]:
    """The ids of those of ``user_ids`` that have an account in the guild, in one look-up.

    Cached ids cost nothing; the others are read in one statement: on PostgreSQL on the
    driver pool while the unit has not begun (it stays unbegun), else in the unit's session.
    Only committed ids are cached (read outside the unit, or after its commit).
    """
    cache = uow.services.account_ids
    found: dict[str, int] = {}
    missing: list[str] = []
    for user_id in dict.fromkeys(user_ids):
        cached = cache.get((guild_id, user_id))
        if cached is None:
            missing.append(user_id)
        else:
            found[user_id] = cached
    if not missing:
        return found
    pool = None if uow.began else await uow.services.standalone_pool()
    if pool is not None:
        for user_id, id_ in await pool.fetch(_PG_ACCOUNT_IDS, guild_id, missing):
            found[user_id] = id_
            cache.put((guild_id, user_id), id_)
        return found
    rows = (
        await uow.session.execute(
            select(Account.user_id, Account.id).where(
                Account.guild_id == guild_id, Account.user_id.in_(missing)
            )
        )
    ).all()
    for user_id, id_ in rows:
        found[user_id] = id_
        remember_account(uow, guild_id, user_id, id_)
    return found


def remember_account(uow: UnitOfWork, guild_id: str, user_id: str, account: int) -> None:
    """Cache an account id this unit found or created, once the unit has committed (an
    uncommitted id may be rolled back; one read outside the unit is committed already)."""
    key = (guild_id, user_id)
    if uow.began:
        uow.after_commit(lambda: uow.services.account_ids.put(key, account))
    else:
        uow.services.account_ids.put(key, account)


def shop_shard(user_id: str) -> int:
    """``user_id``'s shop shard, 0 to SHOP_SHARDS - 1. A snowflake's low bits count the ids
    its worker made, so members spread evenly; anything else (never a member) gets 0."""
    return int(user_id) % SHOP_SHARDS if is_snowflake(user_id) else 0


def shop_account(user_id: str) -> str:
    """The shop account of ``user_id``'s shard (``shop_shard``)."""
    return SHOP_ACCOUNTS[shop_shard(user_id)]


async def system_account_id(uow: UnitOfWork, guild_id: str, name: str) -> int:
    found = await account_id(uow, guild_id, name)
    if found is None:
        msg = f"guild {guild_id} has no {name} account; was it registered?"
        raise LookupError(msg)
    return found


async def open_system_accounts(uow: UnitOfWork, guild_id: str) -> None:
    """Create a new guild's system accounts (before any member's, so their ids come first)."""
    uow.session.add_all(
        Account(
            guild_id=guild_id, user_id=name, is_system=True, created_at=uow.now, updated_at=uow.now
        )
        for name in SYSTEM_ACCOUNTS
    )
    await uow.session.flush()


async def lock_mint(uow: UnitOfWork, guild_id: str) -> int:
    """Row-lock the guild's mint and return its id.

    Lock order: a unit of work that creates or locks a member row and then posts against the
    mint (opening an account, a daily claim, an admin adjustment) takes the mint first. Its
    id is below every member's, so this is also the order ``guildbank_post`` locks in; taking
    a member row first would deadlock against a unit already holding the mint (PostgreSQL).
    SQLite ignores FOR UPDATE; its ``BEGIN IMMEDIATE`` already serialises writers.
    """
    mint = await system_account_id(uow, guild_id, "mint")
    await uow.session.execute(select(Account.id).where(Account.id == mint).with_for_update())
    return mint


async def lock_accounts(uow: UnitOfWork, *accounts: int) -> None:
    """Row-lock accounts in ascending id order, the order every posting locks them in.

    (SQLite ignores FOR UPDATE; its ``BEGIN IMMEDIATE`` already serialises writers.)
    """
    await uow.session.execute(
        select(Account.id).where(Account.id.in_(accounts)).order_by(Account.id).with_for_update()
    )


async def read_balance(uow: UnitOfWork, account: int, *, lock: bool = False) -> int:
    """An account's balance as this unit sees it; ``lock`` row-locks it until the unit ends
    (lock the mint first: see ``lock_mint``)."""
    query = select(Account.balance).where(Account.id == account)
    return (await uow.session.execute(query.with_for_update() if lock else query)).scalar_one()


async def ensure_account(
    uow: UnitOfWork, guild_id: str, user_id: str, *, starting_balance: int
) -> int:
    """The member's account id, opening the account (``starting_balance`` from the mint) if new.

    Two concurrent first appearances of one member open one account: the loser of the
    insert race waits for the winner's commit and then reads its row.
    """
    account, _ = await open_account(uow, guild_id, user_id, starting_balance=starting_balance)
    return account


async def open_account(
    uow: UnitOfWork, guild_id: str, user_id: str, *, starting_balance: int
) -> tuple[int, bool]:
    """``ensure_account``, also saying whether this unit opened the account."""
    if not is_snowflake(user_id):
        raise InvalidInput(f"{user_id!r} is not a Discord user id", code="invalid_id")
    existing = await account_id(uow, guild_id, user_id)
    if existing is not None:
        return existing, False
    mint = await lock_mint(uow, guild_id)
    created = await insert_ignore(
        uow.session,
        Account,
        {
            "guild_id": guild_id,
            "user_id": user_id,
            "is_system": False,
            "created_at": uow.now,
            "updated_at": uow.now,
        },
        ["guild_id", "user_id"],
    )
    new_id = await account_id(uow, guild_id, user_id)
    assert new_id is not None
    if created and starting_balance > 0:
        await post(
            uow,
            guild_id=guild_id,
            type=TransactionType.STARTING_BALANCE,
            legs=transfer_legs(source=mint, target=new_id, amount=starting_balance, counts=False),
            reason="Starting balance",
        )
    if created:
        uow.emit(AccountOpened(guild_id=guild_id, user_id=user_id, balance=starting_balance))
    return new_id, created
