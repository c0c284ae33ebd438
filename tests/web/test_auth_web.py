"""Dashboard authentication over HTTP: login, sessions, CSRF, rate limiting, logout, headers."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from guildbank.platform.uow import Services
from guildbank.web.sessions import COOKIE
from guildbank.web.state import DashboardState
from tests.conftest import GUILD_ID, OTHER_GUILD_ID
from tests.factories import db_snapshot, member, send
from tests.web.fixtures import client_for, running_app
from tests.web.helpers import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    csrf_from,
    login_local,
    page_csrf,
)

G = f"/admin/guilds/{GUILD_ID}"
PAGES = [
    "/admin/",
    G,
    f"{G}/settings",
    f"{G}/members",
    f"{G}/members/{member(1)}",
    f"{G}/transactions",
    f"{G}/transactions/1",
    f"{G}/transactions.csv",
    f"{G}/integrity",
]


@pytest.fixture
def backend() -> str:
    """Authentication does not depend on the database: SQLite is enough here."""
    return "sqlite"


FORMS = [
    (f"{G}/settings", {"daily_amount": "999"}),
    (f"{G}/members/{member(1)}/adjust", {"action": "add", "amount": "50", "reason": "x"}),
    (f"{G}/transactions/1/reverse", {"reason": "x", "confirm": "yes"}),
    ("/admin/logout", {}),
]


async def test_logged_out_pages_redirect_to_the_login(web: httpx.AsyncClient, guild: str) -> None:
    for path in PAGES:
        response = await web.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/admin/login?next="), path
    login = await web.get("/admin/login")
    assert login.status_code == 200
    assert 'name="username"' in login.text
    assert 'name="password"' in login.text
    assert 'name="csrf_token"' in login.text


async def test_logged_out_posts_are_refused_and_change_nothing(
    web: httpx.AsyncClient, services: Services, guild: str
) -> None:
    await send(services, guild, member(1), member(2), 5)
    before = await db_snapshot(services)
    for path, data in FORMS:
        response = await web.post(path, data={**data, "csrf_token": "guess"})
        assert response.status_code == 403, path
    assert await db_snapshot(services) == before


async def test_local_admin_logs_in_with_a_hardened_cookie(
    web: httpx.AsyncClient, guild: str
) -> None:
    response = await login_local(web)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith(f"{COOKIE}="))
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert "httponly" in flags
    assert "samesite=lax" in flags
    assert "path=/" in flags
    assert "secure" not in flags  # development serves plain HTTP
    servers = await web.get("/admin/")
    assert servers.status_code == 200
    assert "Test guild" in servers.text
    assert f"/admin/guilds/{GUILD_ID}" in servers.text


async def test_the_password_is_checked_against_an_argon2_hash(dashboard_app: FastAPI) -> None:
    state: DashboardState = dashboard_app.state.dashboard
    stored = state._admin_hash
    assert stored is not None
    assert stored.startswith("$argon2id$")
    assert ADMIN_PASSWORD not in stored
    assert state.verify_local_admin(ADMIN_USER, ADMIN_PASSWORD)
    assert not state.verify_local_admin(ADMIN_USER, ADMIN_PASSWORD + " ")
    assert not state.verify_local_admin("someone", ADMIN_PASSWORD)


@pytest.mark.parametrize(
    ("username", "password"),
    [(ADMIN_USER, "wrong"), ("root", ADMIN_PASSWORD), (ADMIN_USER, ""), ("", "")],
)
async def test_wrong_credentials_are_refused(
    web: httpx.AsyncClient, guild: str, username: str, password: str
) -> None:
    response = await login_local(web, username, password)
    assert response.status_code == 401
    assert "Wrong username or password" in response.text
    assert COOKIE not in response.cookies
    assert (await web.get("/admin/")).status_code == 303


async def test_login_without_a_valid_csrf_token_is_refused(web: httpx.AsyncClient) -> None:
    credentials = {"username": ADMIN_USER, "password": ADMIN_PASSWORD}
    assert (await web.post("/admin/login", data=credentials)).status_code == 403
    form = await web.get("/admin/login")
    token = csrf_from(form.text)
    forged = await web.post("/admin/login", data={**credentials, "csrf_token": token + "x"})
    assert forged.status_code == 403
    # A token from another browser's form does not match this browser's cookie.
    async with httpx.AsyncClient(
        transport=web._transport, base_url="http://testserver"
    ) as other_browser:
        stolen = await other_browser.post("/admin/login", data={**credentials, "csrf_token": token})
        assert stolen.status_code == 403
    ok = await web.post("/admin/login", data={**credentials, "csrf_token": token})
    assert ok.status_code == 303


async def test_failed_logins_are_rate_limited_per_ip_and_username(web: httpx.AsyncClient) -> None:
    for _ in range(5):
        assert (await login_local(web, ADMIN_USER, "wrong")).status_code == 401
    blocked = await login_local(web, ADMIN_USER, ADMIN_PASSWORD)
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) >= 1
    assert COOKIE not in blocked.cookies
    # Another username from the same address is counted separately.
    assert (await login_local(web, "someone-else", "wrong")).status_code == 401


async def test_a_successful_login_before_the_limit_still_works(web: httpx.AsyncClient) -> None:
    for _ in range(4):
        assert (await login_local(web, ADMIN_USER, "wrong")).status_code == 401
    assert (await login_local(web)).status_code == 303


async def test_login_never_redirects_off_site(web: httpx.AsyncClient) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "/api/docs"):
        form = await web.get("/admin/login", params={"next": target})
        assert f'value="{target}"' not in form.text
        response = await web.post(
            "/admin/login",
            data={
                "username": ADMIN_USER,
                "password": ADMIN_PASSWORD,
                "csrf_token": csrf_from(form.text),
                "next": target,
            },
        )
        assert response.headers["location"] == "/admin/", target
        web.cookies.clear()


async def test_login_returns_to_the_page_asked_for(web: httpx.AsyncClient, guild: str) -> None:
    redirect = await web.get(f"{G}/members")
    form = await web.get(redirect.headers["location"])
    response = await web.post(
        "/admin/login",
        data={
            "username": ADMIN_USER,
            "password": ADMIN_PASSWORD,
            "csrf_token": csrf_from(form.text),
            "next": f"{G}/members",
        },
    )
    assert response.headers["location"] == f"{G}/members"


async def test_tampered_or_foreign_session_cookies_are_ignored(
    admin: httpx.AsyncClient, web: httpx.AsyncClient, guild: str
) -> None:
    cookie = admin.cookies[COOKIE]
    assert (await admin.get("/admin/")).status_code == 200
    for forged in (cookie[:-2] + "xx", cookie.replace(".", "a", 1), "random"):
        web.cookies.set(COOKIE, forged)
        assert (await web.get("/admin/")).status_code == 303, forged


async def test_csrf_less_posts_are_refused_when_logged_in(
    admin: httpx.AsyncClient, services: Services, guild: str
) -> None:
    await send(services, guild, member(1), member(2), 5)
    before = await db_snapshot(services)
    for path, data in FORMS:
        missing = await admin.post(path, data=data)
        assert missing.status_code == 403, path
        assert "CSRF" in missing.text
        wrong = await admin.post(path, data={**data, "csrf_token": "not-the-token"})
        assert wrong.status_code == 403, path
    assert await db_snapshot(services) == before
    assert (await admin.get("/admin/")).status_code == 200  # still logged in: logout refused too


async def test_the_same_post_with_the_token_goes_through(
    admin: httpx.AsyncClient, services: Services, guild: str
) -> None:
    """The control for the refusals above."""
    token = await page_csrf(admin, f"{G}/settings")
    response = await admin.post(
        f"{G}/members/{member(1)}/adjust",
        data={"action": "add", "amount": "50", "reason": "bonus", "csrf_token": token},
    )
    assert response.status_code == 303
    balance = await admin.get(f"{G}/members/{member(1)}")
    assert "150" in balance.text


async def test_logout_ends_the_session_everywhere(admin: httpx.AsyncClient, guild: str) -> None:
    cookie = admin.cookies[COOKIE]
    token = await page_csrf(admin, "/admin/")
    response = await admin.post("/admin/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/login"
    assert (await admin.get("/admin/")).status_code == 303
    admin.cookies.set(COOKIE, cookie)  # a copy of the old cookie is dead as well
    assert (await admin.get("/admin/")).status_code == 303


async def test_sessions_are_per_login(dashboard_app: FastAPI, guild: str) -> None:
    async with client_for(dashboard_app) as one, client_for(dashboard_app) as two:
        await login_local(one)
        await login_local(two)
        assert one.cookies[COOKIE] != two.cookies[COOKIE]
        token = await page_csrf(one, "/admin/")
        await one.post("/admin/logout", data={"csrf_token": token})
        assert (await two.get("/admin/")).status_code == 200


@pytest.mark.parametrize("path", ["/", "/admin/login", "/admin/", f"{G}", f"{G}/transactions"])
async def test_security_headers_on_pages(
    admin: httpx.AsyncClient, web: httpx.AsyncClient, guild: str, path: str
) -> None:
    response = await (web if path == "/admin/login" else admin).get(path)
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in response.headers
    assert "<script>" not in response.text  # only <script src=...>
    assert " style=" not in response.text


async def test_static_files_are_served_with_the_headers(web: httpx.AsyncClient) -> None:
    for asset, kind in (("app.js", "javascript"), ("app.css", "text/css")):
        response = await web.get(f"/admin/static/{asset}")
        assert response.status_code == 200
        assert kind in response.headers["content-type"]
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_production_adds_hsts_and_secure_cookies(
    services: Services, database_url: str, guild: str
) -> None:
    app = await running_app(services, database_url, env="production")
    async with app.router.lifespan_context(app), client_for(app, "https://testserver") as client:
        response = await login_local(client)
        cookie = next(
            c for c in response.headers.get_list("set-cookie") if c.startswith(f"{COOKIE}=")
        )
        assert "secure" in {part.strip().lower() for part in cookie.split(";")}
        page = await client.get("/admin/login")
        assert page.headers["strict-transport-security"].startswith("max-age=")
        assert "strict-transport-security" not in (await client.get("/health")).headers


async def test_local_login_can_be_disabled(services: Services, database_url: str) -> None:
    app = await running_app(services, database_url, admin_username="", admin_password="")
    state: DashboardState = app.state.dashboard
    async with app.router.lifespan_context(app), client_for(app) as client:
        page = await client.get("/admin/login")
        assert 'name="password"' not in page.text
        assert "No login is configured" in page.text
        nonce = state.codec.unsign(client.cookies["gb_login"], "login", 600)
        assert nonce is not None
        response = await client.post(
            "/admin/login", data={"username": "", "password": "", "csrf_token": nonce}
        )
        assert response.status_code == 403
        assert "not enabled" in response.text
        assert (await client.get("/admin/")).status_code == 303


async def test_unknown_guild_ids_are_not_found(admin: httpx.AsyncClient, guild: str) -> None:
    for path in (f"/admin/guilds/{OTHER_GUILD_ID}", "/admin/guilds/not-a-number/settings"):
        response = await admin.get(path)
        assert response.status_code == 404, path
