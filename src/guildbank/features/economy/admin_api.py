"""Admin tools of the bytes economy under ``/api/guilds/{guild_id}/bytes``: settings,
balance adjustments, reversals and the integrity check (admin scope, except reading the
settings)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from guildbank.api.deps import Admin, Caller, GuildId, RowId, api_state, read
from guildbank.api.idempotency import write
from guildbank.features.economy import admin as economy_admin
from guildbank.features.economy.integrity_log import log_integrity_problems
from guildbank.features.economy.schemas import (
    AdjustIn,
    AdjustOut,
    IntegrityOut,
    ReversalOut,
    ReverseIn,
)
from guildbank.features.guilds.api import AdminKey, IfMatch, acting, expected_version
from guildbank.features.guilds.gate import feature_on
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
    dependencies=[Admin, feature_on("economy")],
    status_code=201,
    responses={
        400: {"description": "`cannot_reverse_reversal`, or `insufficient_balance`"},
        404: {"description": "Unknown transaction (`transaction_not_found`)"},
        409: {"description": "Already reversed (`already_reversed`), or `balance_limit`"},
    },
)
async def reverse_transaction(
    request: Request, guild_id: GuildId, transaction_id: RowId, body: ReverseIn, key: AdminKey
) -> Response:
    """Undo a transaction with an opposite one (history is never edited). Without an
    ``actor_id``, the API key's name is recorded as who acted."""

    async def action(uow: UnitOfWork) -> ReversalOut:
        return await economy_admin.reverse_transaction(
            uow,
            guild_id=guild_id,
            transaction_id=transaction_id,
            reason=body.reason,
            actor_id=acting(body.actor_id, key),
        )

    return await write(request, guild_id, action, status_code=201)


@router.get("/config", response_model=ConfigOut)
async def get_economy_config(request: Request, guild_id: GuildId, _: Caller) -> Response:
    async def action(uow: UnitOfWork) -> ConfigOut:
        return ConfigOut.model_validate(await get_config(uow, guild_id))

    return await read(request, action)


@router.put(
    "/config",
    response_model=ConfigOut,
    dependencies=[Admin],
    responses={
        400: {
            "description": "`invalid_setting`, `unknown_setting`, `invalid_timezone`, `invalid_id`"
        },
    },
)
async def put_economy_config(
    request: Request,
    guild_id: GuildId,
    body: ConfigUpdate,
    key: AdminKey,
    if_match: IfMatch = None,
) -> Response:
    """Change some settings; the others keep their values (``PUT /api/guilds/{id}/settings``
    is the same, with an ``ETag``)."""
    expected = expected_version(if_match)

    async def action(uow: UnitOfWork) -> ConfigOut:
        config = await update_config(
            uow,
            guild_id=guild_id,
            changes=body.changes(),
            actor_id=acting(None, key),
            expected_version=expected,
        )
        return ConfigOut.model_validate(config)

    return await write(request, guild_id, action)


@router.post(
    "/adjust",
    response_model=AdjustOut,
    dependencies=[Admin, feature_on("economy")],
    responses={
        400: {"description": "`invalid_amount`, `reason_required`, `insufficient_balance`"},
        409: {"description": "`balance_limit`, `feature_disabled` or `idempotency_key_reused`"},
    },
)
async def adjust_balance(
    request: Request, guild_id: GuildId, body: AdjustIn, key: AdminKey
) -> Response:
    """Admin add / remove / set of a member's balance, with a mandatory reason. Without an
    ``actor_id``, the API key's name is recorded as who acted."""

    async def action(uow: UnitOfWork) -> AdjustOut:
        return await economy_admin.adjust_balance(
            uow,
            guild_id=guild_id,
            user_id=body.user_id,
            action=body.action,
            amount=body.amount,
            reason=body.reason,
            actor_id=acting(body.actor_id, key),
        )

    return await write(request, guild_id, action)


@router.get("/integrity", response_model=IntegrityOut, dependencies=[Admin])
async def get_integrity(request: Request, guild_id: GuildId) -> Response:
    """Verify the ledger: balances match entries, transactions and the guild sum to zero."""

    checked: list[integrity.IntegrityReport] = []

    async def action(uow: UnitOfWork) -> IntegrityOut:
        await get_config(uow, guild_id)  # an unknown guild is a 404, not an empty ledger
        checked.append(await integrity.check_integrity(uow, guild_id=guild_id))
        return IntegrityOut.model_validate(checked[0])  # the kernel's report, in the API's shape

    response = await read(request, action)
    await log_integrity_problems(api_state(request).services, checked[0])
    return response
