"""The bytes economy under ``/api/guilds/{guild_id}/bytes``: what members and the bot use;
plus, through ``router``, the transaction log's statistics and CSV export under
``/api/guilds/{guild_id}/transactions`` (``statistics_api``).

The admin tools under the ``bytes`` prefix are in ``admin_api``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from guildbank.api.deps import (
    Caller,
    DateTimeQuery,
    GuildId,
    RowId,
    UserId,
    Writer,
    authorize,
    parse_body,
    read,
)
from guildbank.api.idempotency import idempotent_request, write, write_recording
from guildbank.api.lean import lean_route
from guildbank.core.ids import MAX_SNOWFLAKE, SNOWFLAKE_PATTERN
from guildbank.core.schemas import SingleLine
from guildbank.features.economy import queries as reports
from guildbank.features.economy import service as economy
from guildbank.features.economy import statistics_api
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
from guildbank.features.guilds.gate import check_feature, feature_on
from guildbank.platform.uow import UnitOfWork

__all__ = ["TRANSFER_ROUTE", "bytes_router", "router"]

# Every route here refuses (409 feature_disabled) while the guild has the economy off.
bytes_router = APIRouter(
    prefix="/guilds/{guild_id}/bytes", tags=["bytes"], dependencies=[feature_on("economy")]
)
Offset = Annotated[int, Query(ge=0, le=MAX_SNOWFLAKE)]


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@bytes_router.get("/balance/{user_id}", response_model=BalanceOut)
async def get_balance(request: Request, guild_id: GuildId, user_id: UserId, _: Caller) -> Response:
    """A member's balance; an unknown member reads as the starting balance."""

    async def action(uow: UnitOfWork) -> BalanceOut:
        return await reports.get_balance(uow, guild_id=guild_id, user_id=user_id)

    return await read(request, action)


@bytes_router.post(
    "/daily/{user_id}",
    response_model=DailyOut,
    dependencies=[Writer],
    responses={
        409: {
            "description": "Already claimed today (`already_claimed`); a reward past the bounds "
            "(`amount_out_of_range`, `balance_limit`)"
        },
        429: {"description": "Too many balance changes for this member (`rate_limited`)"},
    },
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
    await check_feature(request, guild_id, "economy")
    raw = await request.body()
    body = parse_body(TransferIn, raw, request.headers.get("content-type"))
    # The transfer records its Idempotency-Key itself: in the same statement on PostgreSQL.
    keyed = idempotent_request(request, guild_id, raw)

    async def action(uow: UnitOfWork) -> TransferOut:
        return await economy.transfer(
            uow,
            guild_id=guild_id,
            giver_id=body.giver_id,
            receiver_id=body.receiver_id,
            amount=body.amount,
            reason=body.reason,
            keyed=keyed,
        )

    return await write_recording(request, keyed, action, model=TransferOut)


TRANSFER_ROUTE = lean_route(
    f"{bytes_router.prefix}/transactions",
    create_transfer,
    methods=["POST"],
    tags=["bytes"],
    response_model=TransferOut,
    responses={
        400: {
            "description": "A transfer rule was broken: `self_transfer`, `invalid_amount`, "
            "`amount_over_limit`, `insufficient_balance`, `reason_too_long`, `invalid_text`"
        },
        409: {
            "description": "`transfer_cooldown`, `balance_limit`, `feature_disabled` or "
            "`idempotency_key_reused`"
        },
        429: {"description": "Too many balance changes for this member (`rate_limited`)"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": TransferIn.model_json_schema()}},
        }
    },
)


@bytes_router.get("/transactions", response_model=list[TransactionOut])
async def list_transactions(
    request: Request,
    guild_id: GuildId,
    _: Caller,
    user_id: Annotated[str | None, Query(pattern=SNOWFLAKE_PATTERN)] = None,
    type: Annotated[SingleLine | None, Query(max_length=32)] = None,
    start: DateTimeQuery | None = None,
    end: DateTimeQuery | None = None,
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


@bytes_router.get("/transactions/{transaction_id}", response_model=TransactionOut)
async def get_transaction(
    request: Request, guild_id: GuildId, transaction_id: RowId, _: Caller
) -> Response:
    async def action(uow: UnitOfWork) -> TransactionOut:
        return await reports.get_transaction(uow, guild_id=guild_id, transaction_id=transaction_id)

    return await read(request, action)


@bytes_router.get("/history/{user_id}", response_model=list[TransactionOut])
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


@bytes_router.get("/leaderboard", response_model=list[LeaderboardEntryOut])
async def get_leaderboard(
    request: Request, guild_id: GuildId, _: Caller, limit: Annotated[int, Query(ge=1, le=100)] = 10
) -> Response:
    """Richest active members; ties go to the earliest account."""

    async def action(uow: UnitOfWork) -> list[LeaderboardEntryOut]:
        return await reports.leaderboard(uow, guild_id=guild_id, limit=limit)

    return await read(request, action)


@bytes_router.get("/leaderboard/rank/{user_id}", response_model=RankOut)
async def get_rank(request: Request, guild_id: GuildId, user_id: UserId, _: Caller) -> Response:
    """The member's rank (null when they have no active account) and the member count.

    Exact near the top and in small guilds; deep in a large guild the rank is an estimate and
    the count is a recent one (``rank_exact``, ``members_exact``; docs/hot-paths.md)."""

    async def action(uow: UnitOfWork) -> RankOut:
        found = await reports.member_standing(uow, guild_id=guild_id, user_id=user_id)
        entry = found.entry
        if entry is None:
            balance = await reports.get_balance(uow, guild_id=guild_id, user_id=user_id)
            return RankOut(
                rank=None,
                user_id=user_id,
                balance=balance.balance,
                total_received=balance.total_received,
                members=found.members,
                members_exact=found.members_exact,
            )
        return RankOut(
            rank=entry.rank,
            user_id=user_id,
            balance=entry.balance,
            total_received=entry.total_received,
            members=found.members,
            rank_exact=entry.rank_exact,
            members_exact=found.members_exact,
        )

    return await read(request, action)


@bytes_router.get("/role-rewards/holders", response_model=list[RoleRewardHolderOut])
async def get_role_reward_holders(request: Request, guild_id: GuildId, _: Caller) -> Response:
    """Active members and the reward roles their total received earns (the bot reconciles)."""

    async def action(uow: UnitOfWork) -> list[RoleRewardHolderOut]:
        return await reports.role_reward_holders(uow, guild_id=guild_id)

    return await read(request, action)


# What the feature mounts: the bytes routes and the transaction statistics and export.
router = APIRouter()
router.include_router(bytes_router)
router.include_router(statistics_api.router)
