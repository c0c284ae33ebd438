"""The one way a dashboard page runs: session, permission, CSRF, then the handler.

Every page handler is wrapped by ``page``: no session → the login page (GET) or 403 (POST);
a server in the URL the user may not manage, or that is not registered → 404 (the same answer,
so ids of other servers leak nothing); a POST without this session's CSRF token → 403.
Permission levels (docs/permissions.md): a page needs the admin level unless it says
``level=Level.MODERATOR`` (the reading pages); a moderator on an admin page → 403. A page of a
feature the server turned off (``feature=``) → 409, like the API's ``feature_disabled``.
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

from guildbank.core.errors import GuildbankError, InvalidInput, NotFound
from guildbank.core.ids import is_snowflake
from guildbank.features.guilds.directory import list_guilds
from guildbank.features.guilds.permissions import Level
from guildbank.features.guilds.queries import get_config
from guildbank.features.guilds.rules import EconomyConfig
from guildbank.ledger.members import stored_names
from guildbank.platform.uow import unit_of_work
from guildbank.web.discord import DiscordMember
from guildbank.web.paging import Paging
from guildbank.web.sessions import Session
from guildbank.web.state import Access, AccessUnavailable, DashboardState, SessionEnded
from guildbank.web.templating import nav_badges, templates

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
        # The user's level in this server ("admin", "moderator"), and the features it has off.
        "staff_level": "",
        "is_admin": False,
        "features_off": (),
        # Counts on the server's tabs, by tab key (say, failed outbox jobs on "sync").
        "badges": {},
        "names_unavailable": False,
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
    level: Level = Level.MEMBER
    config: EconomyConfig | None = None
    form: FormData | None = None
    people: dict[str, DiscordMember] = field(default_factory=dict)
    # Set when the page wanted names but nothing can give them (no bot token): said once.
    names_unavailable: bool = False

    @property
    def actor(self) -> str:
        """Who acts on this request, for the records (``Session.actor``)."""
        return self.session.actor

    def field(self, name: str) -> str:
        assert self.form is not None
        value = self.form.get(name, "")
        return value.strip() if isinstance(value, str) else ""

    def query(self, name: str) -> str:
        return self.request.query_params.get(name, "").strip()

    def paging(self, size: int) -> Paging:
        """The page of a ``size``-row list this request asks for (``?page=``); a page that is
        no whole number from 1 is refused with a message (400), not silently page 1."""
        raw = self.query("page")
        if raw and not Paging.valid(raw):
            shown = raw if len(raw) <= 12 else raw[:12] + "…"
            raise InvalidInput(
                f"Page must be a whole number from 1 (got {shown!r}).", code="invalid_page"
            )
        return Paging.parse(raw, size)

    @property
    def base(self) -> str:
        """The URL of the current server's pages."""
        return f"{PREFIX}/guilds/{self.guild_id}"

    async def lookup_people(self, user_ids: list[str]) -> None:
        """Fetch names and avatars for these members from Discord, then the names the bot
        reported for the rest (pages show ids for members known by neither)."""
        wanted = [u for u in dict.fromkeys(user_ids) if u not in self.people and is_snowflake(u)]
        if not wanted or not self.guild_id:
            return
        self.people.update(await self.state.directory.members(self.guild_id, wanted))
        if unknown := [u for u in wanted if u not in self.people]:
            async with unit_of_work(self.state.services, read_only=True) as uow:
                names = await stored_names(uow, guild_id=self.guild_id, user_ids=unknown)
            self.people.update({u: DiscordMember(u, name, None) for u, name in names.items()})
        if not self.state.directory.enabled and any(u not in self.people for u in wanted):
            self.names_unavailable = True

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
                staff_level=self.level.label if self.guild_id else "",
                is_admin=self.level >= Level.ADMIN,
                features_off=self.config.disabled_features if self.config else (),
                badges=await nav_badges(self.state.services, self.guild_id),
                names_unavailable=self.names_unavailable,
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
    """The registered server's display name (Discord's, else the stored one), None if unknown;
    its settings land in ``ctx.config``."""
    async with unit_of_work(ctx.state.services, read_only=True) as uow:
        rows = await list_guilds(uow, ids=[ctx.guild_id])
        if rows:
            ctx.config = await get_config(uow, ctx.guild_id)
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


async def _enter_guild(ctx: Ctx, level: Level, feature: str | None) -> Response | None:
    """Refuse a server the user may not open or that is not registered (404), a page above
    the user's level there (403), a page of a feature the server turned off (409)."""
    ctx.guild_id = str(ctx.request.path_params["guild_id"])
    if not is_snowflake(ctx.guild_id) or not ctx.access.allows(ctx.guild_id):
        return error_page(NOT_YOURS, 404, session=ctx.session)
    name = await _guild_name(ctx)
    if name is None:
        return error_page(NOT_YOURS, 404, session=ctx.session)
    ctx.guild_name = name
    ctx.level = ctx.access.level(ctx.guild_id)
    if ctx.level < level:
        return error_page(
            f"This page is for {level.label}s of {name}; you are a {ctx.level.label} there.",
            403,
            session=ctx.session,
        )
    if feature is not None and ctx.config is not None and not ctx.config.enabled(feature):
        return error_page(
            f"The {feature} feature is disabled on this server; an admin can turn it on in "
            "Settings.",
            409,
            session=ctx.session,
        )
    return None


def page(
    handler: Handler,
    *,
    guild: bool = True,
    level: Level = Level.ADMIN,
    feature: str | None = None,
) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler with the checks every dashboard request goes through. ``level``: the
    least permission level the page needs (admin unless said); ``feature``: the feature
    toggle the page belongs to."""

    async def endpoint(request: Request) -> Response:
        ctx = await _authorize(request)
        if isinstance(ctx, Response):
            return ctx
        if guild and (refused := await _enter_guild(ctx, level, feature)) is not None:
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
