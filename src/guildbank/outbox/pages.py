"""The dashboard's Sync page: what is waiting to reach Discord, what Discord refused, and
the buttons to try a failed job again or give it up.

Moderators may look; retry and cancel are admin actions (CSRF-checked like every form). The
page follows the outbox live: ``sync.js`` reloads its tables when an ``outbox.job`` or
``outbox.ready`` event of this server arrives on the stream.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from guildbank.features.guilds.permissions import Level
from guildbank.features.guilds.pickers import picker_for
from guildbank.outbox import queries, service
from guildbank.outbox.schemas import JobOut
from guildbank.platform.uow import unit_of_work
from guildbank.web.guard import Ctx, page

__all__ = ["routes"]

SHOWN = 100
MAX_ID_DIGITS = 18


def _job_id(ctx: Ctx) -> int:
    """The job id in the URL; 0 (no job has it, so: not found) when it is not an id."""
    raw = str(ctx.request.path_params["job_id"])
    return int(raw) if raw.isdigit() and len(raw) <= MAX_ID_DIGITS else 0


async def sync(ctx: Ctx) -> Response:
    async with unit_of_work(ctx.state.services, read_only=True) as uow:
        waiting = await queries.list_jobs(
            uow, guild_id=ctx.guild_id, statuses=("pending", "running"), limit=SHOWN
        )
        failed = await queries.list_jobs(
            uow, guild_id=ctx.guild_id, statuses=("failed",), limit=SHOWN
        )
        counts = await queries.status_counts(uow, guild_id=ctx.guild_id)
        await uow.commit()
    await ctx.lookup_people([_user(job) for job in waiting + failed if _user(job)])
    return await ctx.render(
        "sync.html",
        nav="sync",
        live=True,
        waiting=waiting,
        failed=failed,
        counts=counts,
        picker=await picker_for(ctx),
    )


def _user(job: JobOut) -> str:
    return str(job.payload.get("user_id") or "")


async def retry(ctx: Ctx) -> Response:
    async with unit_of_work(ctx.state.services) as uow:
        job = await service.retry_job(uow, guild_id=ctx.guild_id, job_id=_job_id(ctx))
        await uow.commit()
    return await ctx.redirect(
        f"{ctx.base}/sync", flash=("ok", f"Job #{job.id} will be tried again now.")
    )


async def cancel(ctx: Ctx) -> Response:
    async with unit_of_work(ctx.state.services) as uow:
        job = await service.cancel_job(uow, guild_id=ctx.guild_id, job_id=_job_id(ctx))
        await uow.commit()
    return await ctx.redirect(f"{ctx.base}/sync", flash=("ok", f"Job #{job.id} cancelled."))


routes = [
    Route("/guilds/{guild_id}/sync", page(sync, level=Level.MODERATOR), methods=["GET"]),
    Route("/guilds/{guild_id}/sync/{job_id}/retry", page(retry), methods=["POST"]),
    Route("/guilds/{guild_id}/sync/{job_id}/cancel", page(cancel), methods=["POST"]),
]
