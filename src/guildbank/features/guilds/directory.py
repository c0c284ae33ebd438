"""The registered guilds a dashboard user may open, with member counts and money supply:
the dashboard kit's guard asks it whether a server in a URL exists at all."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import func, select

from guildbank.platform.models.guilds import Guild
from guildbank.platform.models.ledger import Account
from guildbank.platform.uow import UnitOfWork

__all__ = ["GuildRow", "list_guilds"]


@dataclass(frozen=True, slots=True)
class GuildRow:
    id: str
    name: str
    is_active: bool
    members: int
    money_supply: int


async def list_guilds(uow: UnitOfWork, *, ids: Collection[str] | None = None) -> list[GuildRow]:
    """Registered guilds (all, or those in ``ids``) with their active members and money supply."""
    query = select(Guild.id, Guild.name, Guild.is_active).order_by(Guild.name, Guild.id)
    if ids is not None:
        query = query.where(Guild.id.in_(list(ids)))
    guilds = (await uow.session.execute(query)).all()
    if not guilds:
        return []
    totals = {
        row[0]: (row[1], row[2])
        for row in (
            await uow.session.execute(
                select(
                    Account.guild_id,
                    func.count().filter(Account.is_active),
                    func.coalesce(func.sum(Account.balance), 0),
                )
                .where(~Account.is_system, Account.guild_id.in_([g[0] for g in guilds]))
                .group_by(Account.guild_id)
            )
        ).all()
    }
    return [GuildRow(gid, name, active, *totals.get(gid, (0, 0))) for gid, name, active in guilds]
