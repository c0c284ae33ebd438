"""The members tools' writes: bring a member back, clean up members long gone, reset a guild's
economy, remember the names members go by.

A cleanup and a reset move money only through the ledger: one ``cleanup`` (or ``reset``)
transaction per member, from the member to the guild's mint, so the history keeps who held
what and the integrity check stays clean. Both lock the mint, then the members by ascending
id (the kernel's lock order), read each balance under its lock and post exactly that amount:
a transfer or a daily racing them either commits first (and is swept up with the rest) or
waits and lands on the emptied account; nothing is lost and no balance goes negative.

A cleaned member keeps their account (balance 0, streak cleared): coming back is a
reactivation, never a second starting balance.
"""

from __future__ import annotations

from collections.abc import Mapping

from guildbank.features.economy.membership import set_member_active
from guildbank.features.guilds.queries import get_config
from guildbank.features.members import rows
from guildbank.features.members.errors import MemberNotFound
from guildbank.features.members.events import EconomyReset, MembersCleanedUp
from guildbank.features.members.queries import cutoff_for, member_row
from guildbank.features.members.rules import (
    CLEANUP,
    RESET,
    check_reset_confirmation,
    clean_display_name,
)
from guildbank.features.members.schemas import (
    CleanupMemberOut,
    CleanupOut,
    ReactivateOut,
    ResetOut,
)
from guildbank.ledger import posting
from guildbank.ledger.accounts import lock_mint
from guildbank.ledger.legs import transfer_legs
from guildbank.ledger.types import TransactionType
from guildbank.platform.uow import UnitOfWork

__all__ = ["cleanup", "reactivate", "remember_names", "reset_economy"]

CLEANUP_REASON = "Cleanup: member gone {days}+ days"
RESET_REASON = "Economy reset"


async def reactivate(uow: UnitOfWork, *, guild_id: str, user_id: str) -> ReactivateOut:
    """Show a member who left again (leaderboards count them); no new starting balance."""
    await get_config(uow, guild_id)
    row = await member_row(uow, guild_id=guild_id, user_id=user_id)
    if row is None:
        raise MemberNotFound(user_id)
    if not row.is_active:
        await set_member_active(uow, guild_id=guild_id, user_id=user_id, active=True)
    return ReactivateOut(guild_id=guild_id, user_id=user_id, active=True, was_active=row.is_active)


async def _return_to_mint(
    uow: UnitOfWork,
    *,
    guild_id: str,
    mint: int,
    holder: rows.Holder,
    type: TransactionType,
    reason: str,
    actor_id: str | None,
) -> int | None:
    """Post the holder's whole (locked) balance back to the mint; the transaction's id."""
    if holder.balance <= 0:
        return None
    posted = await posting.post(
        uow,
        guild_id=guild_id,
        type=type,
        legs=transfer_legs(
            source=holder.account_id, target=mint, amount=holder.balance, counts=False
        ),
        reason=reason,
        actor_id=actor_id,
    )
    return posted.id


async def cleanup(
    uow: UnitOfWork,
    *,
    guild_id: str,
    days: int,
    dry_run: bool = True,
    reason: str | None = None,
    actor_id: str | None = None,
) -> CleanupOut:
    """Return the balances of members gone at least ``days`` days to the mint and clear their
    streaks, one ``cleanup`` transaction each; ``dry_run`` says who and how much, changing
    nothing. The dry run and the real run select the same members the same way."""
    await get_config(uow, guild_id)
    cutoff = cutoff_for(uow, days)
    if dry_run:
        found = await rows.departed(uow, guild_id=guild_id, cutoff=cutoff)
    else:
        mint = await lock_mint(uow, guild_id)  # the mint first: see ledger/accounts.py
        found = await rows.departed(uow, guild_id=guild_id, cutoff=cutoff, lock=True)
    why = reason or CLEANUP_REASON.format(days=days)
    cleaned: list[CleanupMemberOut] = []
    for holder in found:
        transaction_id = None
        if not dry_run:
            transaction_id = await _return_to_mint(
                uow,
                guild_id=guild_id,
                mint=mint,
                holder=holder,
                type=CLEANUP,
                reason=why,
                actor_id=actor_id,
            )
        assert holder.left_at is not None
        cleaned.append(
            CleanupMemberOut(
                user_id=holder.user_id,
                display_name=holder.display_name,
                left_at=holder.left_at,
                amount=holder.balance,
                streak_count=holder.streak_count,
                transaction_id=transaction_id,
            )
        )
    amount = sum(member.amount for member in cleaned)
    if not dry_run:
        await rows.clear_streaks(uow, [holder.account_id for holder in found])
        if cleaned:
            uow.emit(
                MembersCleanedUp(
                    guild_id=guild_id,
                    days=days,
                    members=len(cleaned),
                    amount=amount,
                    actor_id=actor_id,
                )
            )
    return CleanupOut(
        guild_id=guild_id,
        days=days,
        dry_run=dry_run,
        cutoff=cutoff,
        members=len(cleaned),
        amount=amount,
        cleaned=cleaned,
    )


async def reset_economy(
    uow: UnitOfWork,
    *,
    guild_id: str,
    confirm: str,
    guild_name: str | None = None,
    dry_run: bool = False,
    reason: str | None = None,
    actor_id: str | None = None,
) -> ResetOut:
    """Return every member's balance to the mint (one ``reset`` transaction each) and clear
    every streak; the history stays. Refused unless ``confirm`` is "RESET" (or the server's
    name, when given)."""
    await get_config(uow, guild_id)
    if not dry_run:
        check_reset_confirmation(confirm, guild_name=guild_name)
        mint = await lock_mint(uow, guild_id)
    found = await rows.holders(uow, guild_id=guild_id, lock=not dry_run)
    paid = [holder for holder in found if holder.balance > 0]
    with_streak = [holder.account_id for holder in found if holder.streak_count > 0]
    amount = sum(holder.balance for holder in paid)
    transaction_ids: list[int] = []
    if not dry_run:
        for holder in paid:
            posted = await _return_to_mint(
                uow,
                guild_id=guild_id,
                mint=mint,
                holder=holder,
                type=RESET,
                reason=reason or RESET_REASON,
                actor_id=actor_id,
            )
            assert posted is not None
            transaction_ids.append(posted)
        await rows.clear_streaks(uow, with_streak)
        uow.emit(
            EconomyReset(
                guild_id=guild_id,
                members=len(paid),
                amount=amount,
                streaks_cleared=len(with_streak),
                actor_id=actor_id,
            )
        )
    return ResetOut(
        guild_id=guild_id,
        dry_run=dry_run,
        members=len(paid),
        amount=amount,
        streaks_cleared=len(with_streak),
        transaction_ids=transaction_ids,
    )


async def remember_names(uow: UnitOfWork, *, guild_id: str, names: Mapping[str, str]) -> int:
    """Store the names members go by (members without an account are skipped); how many
    changed. Search by name reads them."""
    await get_config(uow, guild_id)
    cleaned = {
        user_id: name
        for user_id, name in ((u, clean_display_name(n)) for u, n in names.items())
        if name is not None
    }
    return await rows.remember_names(uow, guild_id=guild_id, names=cleaned)
