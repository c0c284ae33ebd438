"""Admin tools of the bytes economy under ``/api/guilds/{guild_id}/bytes``: settings,
balance adjustments, reversals and the integrity check (admin scope, except reading the
settings)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from guildbank.api.deps import Admin, Caller, GuildId, RowId, read
from guildbank.api.idempotency import write
from guildbank.features.economy import admin as economy_admin
from guildbank.features.economy.schemas import (
    AdjustIn,
    AdjustOut,
    IntegrityOut,
    ReversalOut,
    ReverseIn,
)
from guildbank.features.guilds.queries import get_config
from guildbank.features.guilds.schemas import ConfigOut, ConfigUpdate
from guildbank.features.guilds.service import update_config
from guildbank.ledger import integrity
from guildbank.platform.uow import UnitOfWork

__all__ = ["router"]

router = APIRouter(prefix="/guilds/{guild_id}/bytes", tags=["bytes"])


@router.post(
    "/transactions/{transaction_id}/reverse",
    response_model=ReversalOut,
    dependencies=[Admin],
    status_code=201,
)
async def reverse_transaction(
    request: Request, guild_id: GuildId, transaction_id: RowId, body: ReverseIn
) -> Response:
    """Undo a transaction with an opposite one (history is never edited)."""

    async def action(uow: UnitOfWork) -> ReversalOut:
        return await economy_admin.reverse_transaction(
            uow,
            guild_id=guild_id,
            transaction_id=transaction_id,
            reason=body.reason,
            actor_id=body.actor_id,
        )

    return await write(request, guild_id, action, status_code=201)


@router.get("/config", response_model=ConfigOut)
async def get_economy_config(request: Request, guild_id: GuildId, _: Caller) -> Response:
    async def action(uow: UnitOfWork) -> ConfigOut:
        return ConfigOut.model_validate(await get_config(uow, guild_id))

    return await read(request, action)


@router.put("/config", response_model=ConfigOut, dependencies=[Admin])
async def put_economy_config(request: Request, guild_id: GuildId, body: ConfigUpdate) -> Response:
    """Change some settings; the others keep their values."""

    async def action(uow: UnitOfWork) -> ConfigOut:
        config = await update_config(uow, guild_id=guild_id, changes=body.changes())
        return ConfigOut.model_validate(config)

    return await write(request, guild_id, action)


@router.post("/adjust", response_model=AdjustOut, dependencies=[Admin])
async def adjust_balance(request: Request, guild_id: GuildId, body: AdjustIn) -> Response:
    """Admin add / remove / set of a member's balance, with a mandatory reason."""

    async def action(uow: UnitOfWork) -> AdjustOut:
        return await economy_admin.adjust_balance(
            uow,
            guild_id=guild_id,
            user_id=body.user_id,
            action=body.action,
            amount=body.amount,
            reason=body.reason,
            actor_id=body.actor_id,
        )

    return await write(request, guild_id, action)


@router.get("/integrity", response_model=IntegrityOut, dependencies=[Admin])
async def get_integrity(request: Request, guild_id: GuildId) -> Response:
    """Verify the ledger: balances match entries, transactions and the guild sum to zero."""

    async def action(uow: UnitOfWork) -> IntegrityOut:
        await get_config(uow, guild_id)  # an unknown guild is a 404, not an empty ledger
        report = await integrity.check_integrity(uow, guild_id=guild_id)
        return IntegrityOut.model_validate(report)  # the kernel's report, in the API's shape

    return await read(request, action)
