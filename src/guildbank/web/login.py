"""Logging in and out: the local admin form (argon2, rate limited) and Discord OAuth2.

The login form has no session yet, so its CSRF token is a double-submit nonce: a signed
cookie and the same nonce in the form. The OAuth ``state`` works the same way. A new session
id is issued at every login (no fixation); logging out deletes the server-side record.
"""

from __future__ import annotations

import secrets
import time

import structlog
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from guildbank.web.discord import OAuthFailed
from guildbank.web.guard import PREFIX, Ctx, dashboard_state, error_page, page, page_context
from guildbank.web.sessions import COOKIE, Session
from guildbank.web.state import DashboardState
from guildbank.web.templating import templates

__all__ = ["routes"]

log = structlog.get_logger(__name__)

LOGIN_COOKIE = "gb_login"
OAUTH_COOKIE = "gb_oauth"
NONCE_SECONDS = 600


def _safe_next(target: str | None) -> str:
    """Only dashboard paths: an open redirect would make the login a phishing tool."""
    if target and target.startswith(f"{PREFIX}/") and not target.startswith("//"):
        return target
    return f"{PREFIX}/"


def _cookie(state: DashboardState, response: Response, name: str, value: str, age: float) -> None:
    response.set_cookie(
        name,
        value,
        max_age=int(age),
        httponly=True,
        samesite="lax",
        secure=state.secure_cookies,
        path="/",
    )


async def _start_session(state: DashboardState, session: Session, target: str) -> Response:
    await state.sessions.save(session)
    response = RedirectResponse(_safe_next(target), status_code=303)
    _cookie(state, response, COOKIE, state.codec.sign(session.id, "session"), state.session_seconds)
    response.delete_cookie(LOGIN_COOKIE, path="/")
    response.delete_cookie(OAUTH_COOKIE, path="/")
    return response


def _login_page(
    request: Request,
    state: DashboardState,
    *,
    error: str = "",
    status: int = 200,
    target: str | None = None,
) -> Response:
    nonce = secrets.token_urlsafe(24)
    html = templates.get_template("login.html").render(
        page_context(
            login_csrf=nonce,
            error=error,
            next=_safe_next(target or request.query_params.get("next")),
            local_enabled=state.local_login_enabled,
            discord_enabled=state.oauth.enabled,
        )
    )
    response = HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})
    _cookie(state, response, LOGIN_COOKIE, state.codec.sign(nonce, "login"), NONCE_SECONDS)
    return response


async def login_form(request: Request) -> Response:
    state = dashboard_state(request)
    if await state.session_of(request) is not None:
        return RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
    return _login_page(request, state)


async def login(request: Request) -> Response:
    """The local admin's login: CSRF, then the rate limit, then the argon2 check."""
    state = dashboard_state(request)
    form = await request.form()
    token, username, password = (
        str(form.get("csrf_token", "")),
        str(form.get("username", "")).strip(),
        str(form.get("password", "")),
    )
    expected = state.codec.unsign(request.cookies.get(LOGIN_COOKIE), "login", NONCE_SECONDS)
    if expected is None or not secrets.compare_digest(expected, token):
        return error_page("The login form expired (CSRF check failed); reload it.", 403)
    if not state.local_login_enabled:
        return _login_page(request, state, error="Local login is not enabled.", status=403)
    target = str(form.get("next", ""))
    client = request.client.host if request.client else "unknown"
    key = ("login", client, username.lower()[:100])
    if not await state.limiter.test(state.login_limit, *key):
        stats = await state.limiter.get_window_stats(state.login_limit, *key)
        retry = max(1, int(stats.reset_time - time.time()) + 1)
        response = error_page(
            f"Too many failed logins; try again in {retry} seconds.", 429, session=None
        )
        response.headers["Retry-After"] = str(retry)
        return response
    if not state.verify_local_admin(username, password):
        await state.limiter.hit(state.login_limit, *key)
        log.info("dashboard login failed", client=client, username=username[:100])
        return _login_page(
            request, state, error="Wrong username or password.", status=401, target=target
        )
    session = Session.new(
        kind="local",
        user_id="local",
        username=username,
        lifetime_seconds=state.session_seconds,
    )
    return await _start_session(state, session, target)


def _redirect_uri(request: Request, state: DashboardState) -> str:
    configured = state.settings.discord_redirect_uri
    return configured or f"{str(request.base_url).rstrip('/')}{PREFIX}/oauth/callback"


async def discord_login(request: Request) -> Response:
    """Send the browser to Discord's consent page with a fresh ``state`` nonce."""
    state = dashboard_state(request)
    if not state.oauth.enabled:
        return error_page("Discord login is not configured on this server.", 404)
    nonce = secrets.token_urlsafe(24)
    target = _safe_next(request.query_params.get("next"))
    response = RedirectResponse(
        state.oauth.authorize_url(redirect_uri=_redirect_uri(request, state), state=nonce),
        status_code=303,
    )
    _cookie(
        state, response, OAUTH_COOKIE, state.codec.sign(f"{nonce} {target}", "oauth"), NONCE_SECONDS
    )
    return response


async def oauth_callback(request: Request) -> Response:
    """Discord sends the browser back here with a code (or an error) and our nonce."""
    state = dashboard_state(request)
    stored = state.codec.unsign(request.cookies.get(OAUTH_COOKIE), "oauth", NONCE_SECONDS)
    nonce, _, target = (stored or "").partition(" ")
    given = request.query_params.get("state", "")
    if not stored or not secrets.compare_digest(nonce, given):
        return error_page("This login link expired or was not started here; try again.", 403)
    if "error" in request.query_params or "code" not in request.query_params:
        return _login_page(request, state, error="Discord login was cancelled.", status=401)
    try:
        identity = await state.oauth.exchange(
            code=request.query_params["code"], redirect_uri=_redirect_uri(request, state)
        )
        access = await state.verified_guilds(identity.access_token, identity.user_id)
    except OAuthFailed as error:
        log.warning("discord login failed", error=str(error))
        return _login_page(
            request, state, error="Discord refused the login; try again.", status=502
        )
    session = Session.new(
        kind="discord",
        user_id=identity.user_id,
        username=identity.username,
        avatar_url=identity.avatar_url,
        access_token=identity.access_token,
        lifetime_seconds=state.session_seconds,
    )
    session.guilds, session.moderated = access.guilds, sorted(access.moderated)
    session.guilds_checked_at = time.time()
    return await _start_session(state, session, target)


async def logout(ctx: Ctx) -> Response:
    await ctx.state.sessions.delete(ctx.session.id)
    response = RedirectResponse(f"{PREFIX}/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


routes = [
    Route("/login", login_form, methods=["GET"], name="login"),
    Route("/login", login, methods=["POST"]),
    Route("/login/discord", discord_login, methods=["GET"], name="discord_login"),
    Route("/oauth/callback", oauth_callback, methods=["GET"], name="oauth_callback"),
    Route("/logout", page(logout, guild=False), methods=["POST"], name="logout"),
]
