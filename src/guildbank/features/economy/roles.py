"""Role rewards in Discord: the reconcile that catches up on reward roles members lack.

A credit that crosses a threshold writes its ``role.grant`` outbox jobs in its own
transaction (``economy/service.py``, the transfer's PostgreSQL function), and the outbox
worker grants them. The reconcile covers the rest (roles removed by hand, rewards configured
after the fact, members who came back): it compares the API's holders with the bot's member
cache and asks the API for a grant job per missing role; jobs coalesce on their key, so an
overlap with a pending grant costs nothing.
"""

from __future__ import annotations

import hikari
import structlog

from guildbank.bot.state import BotState
from guildbank.bot.transport import ApiError
from guildbank.features.economy.client import EconomyClient
from guildbank.outbox.client import OutboxClient
from guildbank.outbox.rules import ROLE_GRANT, role_grant_key

__all__ = ["RECONCILE_REASON", "RoleReconciler"]

log = structlog.get_logger(__name__)
RECONCILE_REASON = "guildbank role reward (reconcile)"


class RoleReconciler:
    """Asks for the reward roles that cached members earned but do not hold in Discord."""

    def __init__(self, state: BotState, bot: hikari.GatewayBot) -> None:
        self.state = state
        self.bot = bot

    async def reconcile(self, guild_id: str) -> int:
        """One guild's missing reward roles queued as outbox jobs; returns how many."""
        queued = 0
        outbox = self.state.client(OutboxClient)
        for holder in await self.state.client(EconomyClient).role_reward_holders(guild_id):
            member = self.bot.cache.get_member(int(guild_id), int(holder.user_id))
            if member is None:
                continue
            for role_id in holder.role_ids:
                if int(role_id) in member.role_ids:
                    continue
                await outbox.create_job(
                    guild_id,
                    kind=ROLE_GRANT,
                    payload={
                        "user_id": holder.user_id,
                        "role_id": role_id,
                        "reason": RECONCILE_REASON,
                    },
                    dedupe_key=role_grant_key(holder.user_id, role_id),
                )
                queued += 1
        return queued

    async def reconcile_logged(self, guild_id: str) -> None:
        """``reconcile`` with failures logged, not raised: one guild must not stop the rest."""
        try:
            queued = await self.reconcile(guild_id)
        except ApiError as error:
            log.warning("role reconcile failed", guild_id=guild_id, error=str(error))
            return
        except Exception:  # a bug must not end the timer for every guild
            log.exception("role reconcile crashed", guild_id=guild_id)
            return
        if queued:
            log.info("role reconcile queued grants", guild_id=guild_id, count=queued)

    async def reconcile_cached_guilds(self) -> None:
        """Every guild this process sees, one after the other."""
        for guild_id in list(self.bot.cache.get_guilds_view()):
            await self.reconcile_logged(str(guild_id))
