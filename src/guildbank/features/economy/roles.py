"""Role rewards in Discord: grant the roles a member's total received has earned.

Commands and the daily listener grant them as a credit crosses a threshold; the reconcile
catches up on what the bot did not see (money moved while it was away, or through the API
or the dashboard) when a guild is registered and on a timer.
"""

from __future__ import annotations

from collections.abc import Iterable

import hikari
import structlog

from guildbank.bot.state import BotState
from guildbank.bot.transport import ApiError
from guildbank.features.economy.client import EconomyClient

__all__ = ["RoleReconciler", "grant_roles"]

log = structlog.get_logger(__name__)


async def grant_roles(
    rest: hikari.api.RESTClient, guild_id: str, user_id: str, role_ids: Iterable[str]
) -> list[str]:
    """Add each role; returns those Discord refused (logged for an admin to fix)."""
    refused = []
    for role_id in role_ids:
        try:
            await rest.add_role_to_member(
                int(guild_id), int(user_id), int(role_id), reason="guildbank role reward"
            )
        except (hikari.ForbiddenError, hikari.NotFoundError) as error:
            refused.append(role_id)
            log.warning(
                "role reward refused by Discord",
                guild_id=guild_id,
                user_id=user_id,
                role_id=role_id,
                error=str(error),
            )
    return refused


class RoleReconciler:
    """Grants the reward roles that cached members hold in the ledger but not in Discord."""

    def __init__(self, state: BotState, bot: hikari.GatewayBot) -> None:
        self.state = state
        self.bot = bot

    async def reconcile(self, guild_id: str) -> int:
        """One guild's missing reward roles granted; returns how many."""
        granted = 0
        for holder in await self.state.client(EconomyClient).role_reward_holders(guild_id):
            member = self.bot.cache.get_member(int(guild_id), int(holder.user_id))
            if member is None:
                continue
            missing = [r for r in holder.role_ids if int(r) not in member.role_ids]
            if missing:
                refused = await grant_roles(self.bot.rest, guild_id, holder.user_id, missing)
                granted += len(missing) - len(refused)
        return granted

    async def reconcile_logged(self, guild_id: str) -> None:
        """``reconcile`` with failures logged, not raised: one guild must not stop the rest."""
        try:
            granted = await self.reconcile(guild_id)
        except (ApiError, hikari.HTTPError) as error:
            log.warning("role reconcile failed", guild_id=guild_id, error=str(error))
            return
        except Exception:  # a bug must not end the timer for every guild
            log.exception("role reconcile crashed", guild_id=guild_id)
            return
        if granted:
            log.info("role reconcile granted roles", guild_id=guild_id, count=granted)

    async def reconcile_cached_guilds(self) -> None:
        """Every guild this process sees, one after the other."""
        for guild_id in list(self.bot.cache.get_guilds_view()):
            await self.reconcile_logged(str(guild_id))
