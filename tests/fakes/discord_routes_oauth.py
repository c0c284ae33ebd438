"""OAuth2 authorization-code flow for the dashboard login: authorize, token, revoke, @me.

`/oauth2/authorize` logs in whichever user the test chose (`FakeDiscord.oauth_login_as(...)`,
or a `login_as` query parameter a browser test can append) and redirects back with a code.
"""

from __future__ import annotations

import base64
import secrets
import urllib.parse
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from tests.fakes.discord_entities import OAuthGrant
from tests.fakes.discord_rest import DiscordHTTPError, Reply, RestRequest, Route, route

if TYPE_CHECKING:
    from tests.fakes.discord_state import DiscordState

__all__ = ["OAuthRoutes"]

TOKEN_LIFETIME_S = 604_800


class OAuthRoutes:
    """Handlers for the OAuth2 endpoints."""

    def __init__(self, state: DiscordState) -> None:
        self.state = state
        self.deny_next = False

    def routes(self) -> list[Route]:
        """The route table."""
        return [
            route("GET", "/oauth2/authorize", self.authorize, "none"),
            route("POST", "/oauth2/token", self.token, "none"),
            route("POST", "/oauth2/token/revoke", self.revoke, "none"),
            route("GET", "/oauth2/@me", self.authorization, "bearer"),
        ]

    async def authorize(self, request: RestRequest) -> Reply:
        query = request.query
        if query.get("client_id") != str(self.state.application_id):
            raise _oauth_error(400, "invalid_client", "unknown client_id")
        if query.get("response_type", "code") != "code" or "redirect_uri" not in query:
            raise _oauth_error(
                400, "invalid_request", "response_type=code and redirect_uri required"
            )
        back: dict[str, str] = {"state": query["state"]} if "state" in query else {}
        if self.deny_next:
            self.deny_next = False
            return _redirect(query["redirect_uri"], {"error": "access_denied", **back})
        user_id = int(query["login_as"]) if "login_as" in query else self.state.oauth_login_user
        if user_id is None or user_id not in self.state.users:
            raise _oauth_error(
                400, "invalid_request", "no user to log in: call oauth_login_as(user_id)"
            )
        code = secrets.token_urlsafe(16)
        scopes = query.get("scope", "identify").split()
        self.state.oauth_codes[code] = OAuthGrant(user_id, scopes, query["redirect_uri"])
        return _redirect(query["redirect_uri"], {"code": code, **back})

    async def token(self, request: RestRequest) -> Reply:
        form = request.form
        client_id, secret = form.get("client_id"), form.get("client_secret")
        basic = request.headers.get("Authorization", "")
        if basic.startswith("Basic "):
            client_id, _, secret = (
                base64.b64decode(basic.removeprefix("Basic ")).decode().partition(":")
            )
        if client_id != str(self.state.application_id) or secret != self.state.client_secret:
            raise _oauth_error(401, "invalid_client", "bad client_id or client_secret")
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            grant = self.state.oauth_codes.pop(form.get("code", ""), None)
            if grant is None or grant.redirect_uri != form.get("redirect_uri"):
                raise _oauth_error(
                    400, "invalid_grant", "unknown or used code, or redirect_uri mismatch"
                )
        elif grant_type == "refresh_token":
            refresh = form.get("refresh_token", "")
            old = next(
                (t for t, g in self.state.oauth_tokens.items() if g.refresh_token == refresh), None
            )
            if old is None:
                raise _oauth_error(400, "invalid_grant", "unknown refresh_token")
            grant = self.state.oauth_tokens.pop(old)
        else:
            raise _oauth_error(400, "unsupported_grant_type", f"grant_type {grant_type!r}")
        access_token = secrets.token_urlsafe(24)
        grant.refresh_token = secrets.token_urlsafe(24)
        self.state.oauth_tokens[access_token] = grant
        return Reply(
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME_S,
                "refresh_token": grant.refresh_token,
                "scope": " ".join(grant.scopes),
            }
        )

    async def revoke(self, request: RestRequest) -> Reply:
        self.state.oauth_tokens.pop(request.form.get("token", ""), None)
        return Reply({})

    async def authorization(self, request: RestRequest) -> Reply:
        assert request.bearer_user is not None
        expires = datetime.now(UTC) + timedelta(seconds=TOKEN_LIFETIME_S)
        application = {
            "id": str(self.state.application_id),
            "name": self.state.bot_user.username,
            "description": "",
            "verify_key": "00" * 32,
        }
        return Reply(
            {
                "application": application,
                "scopes": request.bearer_scopes,
                "expires": expires.isoformat(),
                "user": request.bearer_user.to_payload(),
            }
        )


def _oauth_error(status: int, error: str, description: str) -> DiscordHTTPError:
    return DiscordHTTPError(status, 0, description, oauth_error=error)


def _redirect(uri: str, params: dict[str, str]) -> Reply:
    separator = "&" if urllib.parse.urlparse(uri).query else "?"
    return Reply(status=302, headers={"Location": uri + separator + urllib.parse.urlencode(params)})
