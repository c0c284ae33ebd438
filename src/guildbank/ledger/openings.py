"""Opening balances of many new accounts at once (the importer, features/imports): ``import``
ledger transactions from the mint, written in bulk by the kernel.

The ledger kernel (``ledger.posting``) posts one transaction at a time and, on SQLite, updates
one account per statement: thousands of members would take thousands of round trips. Here the
members' accounts are new (opened by this unit of work with nothing, no entry yet), so their
postings are exactly computable up front: each batch of ``POSTING_MEMBERS`` members is one
``import`` transaction whose legs are the mint (one entry, chained after the mint's last one)
and each member (one entry from 0 to their balance). The rows are written with a few bulk
statements, every constraint of the ledger tables still applies (zero sum, the balance chain,
``±MAX_AMOUNT``), and the integrity check sees an ordinary ledger.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import insert, select, update

from guildbank.core.limits import MAX_AMOUNT
from guildbank.ledger.errors import AmountOutOfRange, BalanceLimit
from guildbank.ledger.types import TransactionType
from guildbank.platform.models.ledger import Account, LedgerEntry, LedgerTransaction
from guildbank.platform.uow import UnitOfWork

__all__ = ["POSTING_MEMBERS", "existing_members", "open_accounts"]

# Members given their opening balance by one ``import`` transaction.
POSTING_MEMBERS = 1000
CHUNK = 500
REASON = "Opening balances imported from the old bot"


async def existing_members(uow: UnitOfWork, guild_id: str) -> set[str]:
    """The user ids with an account in the guild (system accounts included)."""
    rows = await uow.session.execute(select(Account.user_id).where(Account.guild_id == guild_id))
    return set(rows.scalars())


async def open_accounts(
    uow: UnitOfWork,
    *,
    guild_id: str,
    mint: int,
    rows: Sequence[dict[str, object]],
    balances: dict[str, int],
    progress: Callable[[int], None],
) -> int:
    """Open the accounts ``rows`` (new members: ``Account`` values without balance) holding
    ``balances[user_id]`` each, paid by ``mint`` (row-locked by the caller); returns the total."""
    session = uow.session
    for start in range(0, len(rows), CHUNK):
        chunk = [
            {**row, "balance": balances[str(row["user_id"])]} for row in rows[start : start + CHUNK]
        ]
        await session.execute(insert(Account), chunk)
    funded = [str(row["user_id"]) for row in rows if balances[str(row["user_id"])] > 0]
    found = await session.execute(
        select(Account.user_id, Account.id).where(Account.guild_id == guild_id)
    )
    ids: dict[str, int] = dict(found.all())
    mint_balance = (
        await session.execute(select(Account.balance).where(Account.id == mint))
    ).scalar_one()
    total = 0
    for start in range(0, len(funded), POSTING_MEMBERS):
        batch = funded[start : start + POSTING_MEMBERS]
        amount = sum(balances[user_id] for user_id in batch)
        if amount > MAX_AMOUNT:
            raise AmountOutOfRange(amount)
        if mint_balance - amount < -MAX_AMOUNT:
            raise BalanceLimit("mint")
        transaction_id = (
            await session.execute(
                insert(LedgerTransaction)
                .values(
                    guild_id=guild_id,
                    type=TransactionType.IMPORT,
                    amount=amount,
                    reason=REASON,
                    actor_id="import",
                    created_at=uow.now,
                )
                .returning(LedgerTransaction.id)
            )
        ).scalar_one()
        entries = [
            {
                "transaction_id": transaction_id,
                "account_id": mint,
                "amount": -amount,
                "balance_before": mint_balance,
                "balance_after": mint_balance - amount,
            },
            *(
                {
                    "transaction_id": transaction_id,
                    "account_id": ids[user_id],
                    "amount": balances[user_id],
                    "balance_before": 0,
                    "balance_after": balances[user_id],
                }
                for user_id in batch
            ),
        ]
        await session.execute(insert(LedgerEntry), entries[:1])  # the mint's, first
        for chunk_start in range(1, len(entries), CHUNK):
            await session.execute(insert(LedgerEntry), entries[chunk_start : chunk_start + CHUNK])
        mint_balance -= amount
        total += amount
        progress(len(batch))
    await session.execute(
        update(Account).where(Account.id == mint).values(balance=mint_balance, updated_at=uow.now)
    )
    progress(len(rows) - len(funded))
    return total
