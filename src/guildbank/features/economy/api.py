"""The bytes economy under ``/api/guilds/{guild_id}/bytes``: what members and the bot use.

The admin tools under the same prefix are in ``admin_api``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from guildbank.api.deps import Caller, GuildId, RowId, UserId, Writer, authorize, parse_body, read
from guildbank.api.idempotency import write
from guildbank.api.lean import lean_route
from guildbank.core.ids import MAX_SNOWFLAKE, SNOWFLAKE_PATTERN
from guildbank.features.economy import queries as reports
from guildbank.features.economy import service as economy
from guildbank.features.economy.schemas import (
    BalanceOut,
    DailyIn,
    DailyOut,
    LeaderboardEntryOut,
    RankOut,
    RoleRewardHolderOut,
    TransactionOut,
    TransferIn,
    TransferOut,
)
from guildbank.platform.uow import UnitOfWork

__all__ = ["TRANSFER_ROUTE", "router"]

router = APIRouter(prefix="/guilds/{guild_id}/bytes", tags=["bytes"])
Offset = Annotated[int, Query(ge=0, le=MAX_SNOWFLAKE)]


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@router.get("/balance/{user_id}", response_model=BalanceOut)
async def get_balance(request: Request, guild_id: GuildId, user_id: UserId, _: Caller) -> Response:
    """A member's balance; an unknown member reads as the starting balance."""

    async def action(uow: UnitOfWork) -> BalanceOut:
        return await reports.get_balance(uow, guild_id=guild_id, user_id=user_id)

    return await read(request, action)


@router.post(
    "/daily/{user_id}",
    response_model=DailyOut,
    dependencies=[Writer],
    responses={409: {"description": "Already claimed today"}},
)
async def claim_daily(
    request: Request, guild_id: GuildId, user_id: UserId, body: DailyIn | None = None
) -> Response:
    """Claim the daily reward (streak multiplier applied); 409 on a second claim."""

    async def action(uow: UnitOfWork) -> DailyOut:
        return await economy.claim_daily(uow, guild_id=guild_id, user_id=user_id)

    return await write(request, guild_id, action)


async def create_transfer(request: Request, guild_id: GuildId) -> Response:
    """Send bytes from one member to another, atomically (needs the ``write`` scope).

    The busiest route, so it is a ``LeanRoute``: the key is checked and the body validated
    here rather than through FastAPI's dependency machinery (same rules, same errors).
    """
    await authorize(request, "write")
    body = parse_body(TransferIn, await request.body())

    async def action(uow: UnitOfWork) -> TransferOut:
        return await economy.transfer(
            uow,
            guild_id=guild_id,
            giver_id=body.giver_id,
            receiver_id=body.receiver_id,
            amount=body.amount,
            reason=body.reason,
        )

    return await write(request, guild_id, action)


TRANSFER_ROUTE = lean_route(
    f"{router.prefix}/transactions",
    create_transfer,
    methods=["POST"],
    tags=["bytes"],
    response_model=TransferOut,
    responses={400: {"description": "A transfer rule was broken"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": TransferIn.model_json_schema()}},
        }
    },
)


@router.get("/transactions", response_model=list[TransactionOut])
async def list_transactions(
    request: Request,
    guild_id: GuildId,
    _: Caller,
    user_id: Annotated[str | None, Query(pattern=SNOWFLAKE_PATTERN)] = None,
    type: Annotated[str | None, Query(max_length=32)] = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
    sort: reports.TransactionSort = "newest",
) -> Response:
    """The transaction log, filtered by member, type and date range, paged and sorted."""

    async def action(uow: UnitOfWork) -> list[TransactionOut]:
        return await reports.list_transactions(
            uow,
            guild_id=guild_id,
            user_id=user_id,
            type=type,
            start=_utc(start),
            end=_utc(end),
            limit=limit,
            offset=offset,
            sort=sort,
        )

    return await read(request, action)


@router.get("/transactions/{transaction_id}", response_model=TransactionOut)
async def get_transaction(
    request: Request, guild_id: GuildId, transaction_id: RowId, _: Caller
) -> Response:
    async def action(uow: UnitOfWork) -> TransactionOut:
        return await reports.get_transaction(uow, guild_id=guild_id, transaction_id=transaction_id)

    return await read(request, action)


@router.get("/history/{user_id}", response_model=list[TransactionOut])
async def get_history(
    request: Request,
    guild_id: GuildId,
    user_id: UserId,
    _: Caller,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    offset: Offset = 0,
) -> Response:
    """A member's own transactions, newest first."""

    async def action(uow: UnitOfWork) -> list[TransactionOut]:
        return await reports.history(
            uow, guild_id=guild_id, user_id=user_id, limit=limit, offset=offset
        )

    return await read(request, action)


@router.get("/leaderboard", response_model=list[LeaderboardEntryOut])
async def get_leaderboard(
    request: Request, guild_id: GuildId, _: Caller, limit: Annotated[int, Query(ge=1, le=100)] = 10
) -> Response:
    """Richest active members; ties go to the earliest account."""

    async def action(uow: UnitOfWork) -> list[LeaderboardEntryOut]:
        return await reports.leaderboard(uow, guild_id=guild_id, limit=limit)

    return await read(request, action)


@router.get("/leaderboard/rank/{user_id}", response_model=RankOut)
async def get_rank(request: Request, guild_id: GuildId, user_id: UserId, _: Caller) -> Response:
    """The member's rank (null when they have no active account) and the member count."""

    async def action(uow: UnitOfWork) -> RankOut:
        entry = await reports.rank_of(uow, guild_id=guild_id, user_id=user_id)
        members = await reports.count_members(uow, guild_id=guild_id)
        if entry is None:
            balance = await reports.get_balance(uow, guild_id=guild_id, user_id=user_id)
            return RankOut(
                rank=None,
                user_id=user_id,
                balance=balance.balance,
                total_received=balance.total_received,
                members=members,
            )
        return RankOut(
            rank=entry.rank,
            user_id=user_id,
            balance=entry.balance,
            total_received=entry.total_received,
            members=members,
        )

    return await read(request, action)


@router.get("/role-rewards/holders", response_model=list[RoleRewardHolderOut])
async def get_role_reward_holders(request: Request, guild_id: GuildId, _: Caller) -> Response:
    """Active members and the reward roles their total received earns (the bot reconciles)."""

    async def action(uow: UnitOfWork) -> list[RoleRewardHolderOut]:
        return await reports.role_reward_holders(uow, guild_id=guild_id)

    return await read(request, action)
