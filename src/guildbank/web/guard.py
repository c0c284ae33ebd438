"""The one way a dashboard page runs: session, permission, CSRF, then the handler.

Every page handler is wrapped by ``page``: no session → the login page (GET) or 403 (POST);
a server in the URL the user may not manage, or that is not registered → 404 (the same answer,
so ids of other servers leak nothing); a POST without this session's CSRF token → 403.
Domain errors a handler does not catch become an error page with the matching status.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from guildbank.core.errors import GuildbankError, NotFound
from guildbank.core.ids import is_snowflake
from guildbank.features.guilds.directory import list_guilds
from guildbank.platform.uow import unit_of_work
from guildbank.web.discord import DiscordMember
from guildbank.web.paging import Paging
from guildbank.web.sessions import Session
from guildbank.web.state import Access, AccessUnavailable, DashboardState, SessionEnded
from guildbank.web.templating import templates

__all__ = [
    "NOT_YOURS",
    "PREFIX",
    "Ctx",
    "Handler",
    "dashboard_state",
    "error_page",
    "page",
    "page_context",
]

log = structlog.get_logger(__name__)

PREFIX = "/admin"
STATUS_BY_KIND = {"invalid": 400, "not_found": 404, "conflict": 409, "forbidden": 403}
NOT_YOURS = "No such server, or you do not manage it."


def page_context(**context: Any) -> dict[str, Any]:
    """What every template may use, with neutral defaults for pages outside a server."""
    base: dict[str, Any] = {
        "session": None,
        "csrf": "",
        "guild_id": "",
        "guild_name": "",
        "base": "",
        "prefix": PREFIX,
        "flashes": [],
        "people": {},
        "nav": "",
        "live": False,
    }
    return base | context


def dashboard_state(request: Request) -> DashboardState:
    state: DashboardState = request.app.state.dashboard
    return state


@dataclass
class Ctx:
    """A request as a page handler sees it: who, which server, the posted form."""

    request: Request
    state: DashboardState
    session: Session
    access: Access
    guild_id: str = ""
    guild_name: str = ""
    form: FormData | None = None
    people: dict[str, DiscordMember] = field(default_factory=dict)

    def field(self, name: str) -> str:
        assert self.form is not None
        value = self.form.get(name, "")
        return value.strip() if isinstance(value, str) else ""

    def query(self, name: str) -> str:
        return self.request.query_params.get(name, "").strip()

    def paging(self, size: int) -> Paging:
        """The page of a ``size``-row list this request asks for (``?page=``)."""
        return Paging.parse(self.query("page"), size)

    @property
    def base(self) -> str:
        """The URL of the current server's pages."""
        return f"{PREFIX}/guilds/{self.guild_id}"

    async def lookup_people(self, user_ids: list[str]) -> None:
        """Fetch names and avatars for these members (pages show ids for the unknown ones)."""
        wanted = [u for u in dict.fromkeys(user_ids) if u not in self.people and is_snowflake(u)]
        if wanted and self.guild_id:
            self.people.update(await self.state.directory.members(self.guild_id, wanted))

    async def render(self, template: str, *, status: int = 200, **context: Any) -> Response:
        flashes = list(self.session.flashes)
        if flashes:
            self.session.flashes.clear()
            await self.state.sessions.save(self.session)
        html = templates.get_template(template).render(
            page_context(
                session=self.session,
                csrf=self.session.csrf,
                guild_id=self.guild_id,
                guild_name=self.guild_name,
                base=self.base,
                flashes=flashes,
                people=self.people,
                **context,
            )
        )
        return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})

    async def redirect(self, url: str, *, flash: tuple[str, str] | None = None) -> Response:
        """See Other after a POST, optionally with a message for the next page."""
        if flash is not None:
            self.session.flash(*flash)
            await self.state.sessions.save(self.session)
        return RedirectResponse(url, status_code=303)


Handler = Callable[[Ctx], Awaitable[Response]]


def error_page(message: str, status: int, *, session: Session | None = None) -> Response:
    html = templates.get_template("error.html").render(
        page_context(message=message, status=status, session=session)
    )
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(
        f"{PREFIX}/login?{urllib.parse.urlencode({'next': target})}", status_code=303
    )


async def _guild_name(ctx: Ctx) -> str | None:
    """The registered server's display name (Discord's, else the stored one), None if unknown."""
    async with unit_of_work(ctx.state.services, read_only=True) as uow:
        rows = await list_guilds(uow, ids=[ctx.guild_id])
        await uow.commit()
    if not rows:
        return None
    known = ctx.access.guilds.get(ctx.guild_id) or await ctx.state.directory.guild_name(
        ctx.guild_id
    )
    return known or rows[0].name or ctx.guild_id


async def _authorize(request: Request) -> Ctx | Response:
    """Session, permissions, CSRF and the server in the URL; a Response when refused."""
    state = dashboard_state(request)
    session = await state.session_of(request)
    if session is None:
        if request.method == "GET":
            return login_redirect(request)
        return error_page("You are not logged in (or your session expired).", 403)
    try:
        access = await state.access_for(session)
    except SessionEnded:
        return login_redirect(request)
    except AccessUnavailable:
        return error_page(
            "Discord could not confirm your server permissions; try again shortly.",
            503,
            session=session,
        )
    ctx = Ctx(request, state, session, access)
    if request.method == "POST":
        ctx.form = await request.form()
        token = ctx.form.get("csrf_token")
        if not session.csrf_ok(token if isinstance(token, str) else None):
            return error_page(
                "This form did not come from your dashboard session (CSRF check failed). "
                "Reload the page and try again.",
                403,
                session=session,
            )
    return ctx


async def _enter_guild(ctx: Ctx) -> Response | None:
    """Refuse (404) a server the user may not manage or that is not registered."""
    ctx.guild_id = str(ctx.request.path_params["guild_id"])
    if not is_snowflake(ctx.guild_id) or not ctx.access.allows(ctx.guild_id):
        return error_page(NOT_YOURS, 404, session=ctx.session)
    name = await _guild_name(ctx)
    if name is None:
        return error_page(NOT_YOURS, 404, session=ctx.session)
    ctx.guild_name = name
    return None


def page(handler: Handler, *, guild: bool = True) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler with the checks every dashboard request goes through."""

    async def endpoint(request: Request) -> Response:
        ctx = await _authorize(request)
        if isinstance(ctx, Response):
            return ctx
        if guild and (refused := await _enter_guild(ctx)) is not None:
            return refused
        try:
            return await handler(ctx)
        except NotFound as error:
            return error_page(error.message, 404, session=ctx.session)
        except GuildbankError as error:
            log.info("dashboard action refused", code=error.code, message=error.message)
            status = STATUS_BY_KIND.get(error.kind, 400)
            return error_page(error.message, status, session=ctx.session)

    return endpoint
