"""REST routes for application commands, interaction callbacks and interaction webhooks."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from tests.fakes.discord_rest import DiscordHTTPError, Reply, RestRequest, Route, route
from tests.fakes.discord_routes_core import apply_message_edit, attachments_for

if TYPE_CHECKING:
    from tests.fakes.discord_entities import FakeInteraction, Json
    from tests.fakes.discord_routes_core import CoreRoutes
    from tests.fakes.discord_state import DiscordState

__all__ = ["CallbackType", "InteractionRoutes"]

_NAME = re.compile(r"^[-_\w]{1,32}$")
_EPHEMERAL, _LOADING = 1 << 6, 1 << 7


class CallbackType:
    """Interaction callback (response) types."""

    PONG = 1
    MESSAGE = 4
    DEFERRED_MESSAGE = 5
    DEFERRED_UPDATE = 6
    UPDATE_MESSAGE = 7
    AUTOCOMPLETE = 8
    MODAL = 9


# Which callback types Discord accepts per interaction type (2 command, 3 component, 4
# autocomplete, 5 modal submit).
_ALLOWED = {
    2: {4, 5, 9},
    3: {4, 5, 6, 7, 9},
    4: {8},
    5: {4, 5, 6, 7},
}


class InteractionRoutes:
    """Handlers for commands, callbacks and follow-up webhooks."""

    def __init__(self, state: DiscordState, core: CoreRoutes) -> None:
        self.state, self.core = state, core

    def routes(self) -> list[Route]:
        """The route table."""
        app = "/applications/{app}"
        hook = "/webhooks/{app}/{token:str}"
        return [
            route("GET", "/oauth2/applications/@me", self.get_application),
            route("GET", f"{app}/commands", self.list_commands),
            route("PUT", f"{app}/commands", self.set_commands),
            route("POST", f"{app}/commands", self.create_command),
            route("DELETE", f"{app}/commands/{{command}}", self.delete_command),
            route("GET", f"{app}/guilds/{{guild}}/commands", self.list_commands),
            route("PUT", f"{app}/guilds/{{guild}}/commands", self.set_commands),
            route("POST", f"{app}/guilds/{{guild}}/commands", self.create_command),
            route("DELETE", f"{app}/guilds/{{guild}}/commands/{{command}}", self.delete_command),
            route(
                "POST", "/interactions/{interaction}/{token:str}/callback", self.callback, "none"
            ),
            route("POST", hook, self.follow_up, "none"),
            route("GET", f"{hook}/messages/@original", self.get_hook_message, "none"),
            route("PATCH", f"{hook}/messages/@original", self.edit_hook_message, "none"),
            route("DELETE", f"{hook}/messages/@original", self.delete_hook_message, "none"),
            route("GET", f"{hook}/messages/{{message}}", self.get_hook_message, "none"),
            route("PATCH", f"{hook}/messages/{{message}}", self.edit_hook_message, "none"),
            route("DELETE", f"{hook}/messages/{{message}}", self.delete_hook_message, "none"),
        ]

    # -- application and commands -------------------------------------------------------------

    async def get_application(self, _: RestRequest) -> Reply:
        return Reply(
            {
                "id": str(self.state.application_id),
                "name": self.state.bot_user.username,
                "description": "",
                "icon": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": self.state.bot_user.to_payload(),
                "verify_key": "00" * 32,
                "flags": 0,
                "approximate_guild_count": len(self.state.guilds),
                "approximate_user_install_count": 0,
                "integration_types_config": {"0": {}},
            }
        )

    def _scope(self, request: RestRequest) -> int | None:
        if request.id("app") != self.state.application_id:
            raise DiscordHTTPError(403, 50001, "Missing Access")
        if "guild" not in request.params:
            return None
        guild = self.state.guilds.get(request.id("guild"))
        if guild is None or self.state.bot_user.id not in guild.members:
            raise DiscordHTTPError(403, 50001, "Missing Access")
        return guild.id

    async def list_commands(self, request: RestRequest) -> Reply:
        return Reply(self.state.commands.get(self._scope(request), []))

    async def set_commands(self, request: RestRequest) -> Reply:
        scope = self._scope(request)
        if not isinstance(request.json, list):
            raise DiscordHTTPError(400, 50035, "Invalid Form Body: expected an array")
        existing = {(c["name"], c["type"]): c for c in self.state.commands.get(scope, [])}
        seen: set[tuple[str, int]] = set()
        stored = []
        for body in request.json:
            command = self._store(body, scope, existing)
            key = (command["name"], command["type"])
            if key in seen:
                raise DiscordHTTPError(400, 50035, f"Invalid Form Body: duplicate command {key}")
            seen.add(key)
            stored.append(command)
        self.state.commands[scope] = stored
        return Reply(stored)

    async def create_command(self, request: RestRequest) -> Reply:
        scope = self._scope(request)
        commands = self.state.commands.setdefault(scope, [])
        existing = {(c["name"], c["type"]): c for c in commands}
        command = self._store(request.body, scope, existing)
        commands[:] = [c for c in commands if c["id"] != command["id"]] + [command]
        return Reply(command, 201)

    async def delete_command(self, request: RestRequest) -> Reply:
        commands = self.state.commands.get(self._scope(request), [])
        if not any(c["id"] == request.params["command"] for c in commands):
            raise DiscordHTTPError(404, 10063, "Unknown application command")
        commands[:] = [c for c in commands if c["id"] != request.params["command"]]
        return Reply(status=204)

    def _store(self, body: Json, scope: int | None, existing: dict[tuple[str, int], Json]) -> Json:
        command_type = body.get("type", 1)
        _validate_command(body, command_type)
        previous = existing.get((body["name"], command_type))
        permissions = body.get("default_member_permissions")
        command: Json = {
            "id": previous["id"] if previous else str(self.state.next_id()),
            "application_id": str(self.state.application_id),
            "version": str(self.state.next_id()),
            "type": command_type,
            "name": body["name"],
            "name_localizations": body.get("name_localizations") or None,
            "description": body.get("description", ""),
            "description_localizations": body.get("description_localizations") or None,
            "options": body.get("options") or [],
            "default_member_permissions": None if permissions is None else str(permissions),
            "nsfw": bool(body.get("nsfw", False)),
        }
        if scope is not None:
            command["guild_id"] = str(scope)
        for key in ("integration_types", "contexts"):
            if key in body:
                command[key] = body[key]
        return command

    # -- interaction callbacks ----------------------------------------------------------------

    def _interaction(self, request: RestRequest) -> FakeInteraction:
        interaction = self.state.interactions.get(request.id("interaction"))
        if interaction is None or interaction.token != request.params["token"]:
            raise DiscordHTTPError(404, 10062, "Unknown interaction")
        return interaction

    async def callback(self, request: RestRequest) -> Reply:
        interaction = self._interaction(request)
        if interaction.acknowledged:
            raise DiscordHTTPError(400, 40060, "Interaction has already been acknowledged.")
        body = request.body
        callback_type = body.get("type")
        no_message = interaction.message_id is None and callback_type in (6, 7)
        if callback_type not in _ALLOWED[interaction.type] or no_message:
            raise DiscordHTTPError(400, 50035, f"Invalid Form Body: callback type {callback_type}")
        data: Json = body.get("data") or {}
        interaction.response_type, interaction.response = callback_type, body
        message: Json | None = None
        if callback_type in (CallbackType.MESSAGE, CallbackType.DEFERRED_MESSAGE):
            loading = _LOADING if callback_type == CallbackType.DEFERRED_MESSAGE else 0
            message = self._new_message(interaction, data, request, extra_flags=loading)
            interaction.original_message_id = int(message["id"])
            await self.core.echo("MESSAGE_CREATE", message)
        elif callback_type == CallbackType.DEFERRED_UPDATE:
            interaction.original_message_id = interaction.message_id
        elif callback_type == CallbackType.UPDATE_MESSAGE:
            assert interaction.message_id is not None
            message = apply_message_edit(self.state.messages[interaction.message_id], data)
            interaction.original_message_id = interaction.message_id
            await self.core.echo("MESSAGE_UPDATE", message)
        if request.query.get("with_response") != "true":
            return Reply(status=204)
        summary: Json = {
            "id": str(interaction.id),
            "type": interaction.type,
            "response_message_loading": callback_type == CallbackType.DEFERRED_MESSAGE,
            "response_message_ephemeral": bool((data.get("flags") or 0) & _EPHEMERAL),
        }
        if interaction.original_message_id is not None:
            summary["response_message_id"] = str(interaction.original_message_id)
        reply: Json = {"interaction": summary}
        if message is not None:
            reply["resource"] = {"type": callback_type, "message": message}
        return Reply(reply)

    def _new_message(
        self,
        interaction: FakeInteraction,
        data: Json,
        request: RestRequest,
        *,
        extra_flags: int = 0,
    ) -> Json:
        return self.state.make_message(
            interaction.channel_id,
            self.state.bot_user,
            data.get("content") or "",
            embeds=data.get("embeds"),
            components=data.get("components"),
            flags=(data.get("flags") or 0) | extra_flags,
            webhook_id=self.state.application_id,
            attachments=attachments_for(self.state, request),
        )

    # -- interaction webhooks -----------------------------------------------------------------

    def _hook_interaction(self, request: RestRequest) -> FakeInteraction:
        if request.id("app") == self.state.application_id:
            for interaction in self.state.interactions.values():
                if interaction.token == request.params["token"] and interaction.acknowledged:
                    return interaction
        raise DiscordHTTPError(404, 10015, "Unknown Webhook")

    def _hook_message(self, request: RestRequest) -> tuple[FakeInteraction, Json]:
        interaction = self._hook_interaction(request)
        message_id = (
            request.id("message")
            if "message" in request.params
            else interaction.original_message_id
        )
        allowed = {interaction.original_message_id, *interaction.followup_ids}
        message = self.state.messages.get(message_id or 0)
        if message is None or message_id not in allowed:
            raise DiscordHTTPError(404, 10008, "Unknown Message")
        return interaction, message

    async def follow_up(self, request: RestRequest) -> Reply:
        interaction = self._hook_interaction(request)
        original = self.state.messages.get(interaction.original_message_id or 0)
        if original is not None and original["flags"] & _LOADING:
            original["flags"] = (original["flags"] & ~_LOADING) | (request.body.get("flags") or 0)
            message = apply_message_edit(original, request.body)
            await self.core.echo("MESSAGE_UPDATE", message)
        else:
            message = self._new_message(interaction, request.body, request)
            interaction.followup_ids.append(int(message["id"]))
            await self.core.echo("MESSAGE_CREATE", message)
        return Reply(message) if request.query.get("wait") == "true" else Reply(status=204)

    async def get_hook_message(self, request: RestRequest) -> Reply:
        return Reply(self._hook_message(request)[1])

    async def edit_hook_message(self, request: RestRequest) -> Reply:
        _, message = self._hook_message(request)
        message["flags"] &= ~_LOADING
        apply_message_edit(message, request.body)
        await self.core.echo("MESSAGE_UPDATE", message)
        return Reply(message)

    async def delete_hook_message(self, request: RestRequest) -> Reply:
        _, message = self._hook_message(request)
        del self.state.messages[int(message["id"])]
        return Reply(status=204)


def _validate_command(body: Json, command_type: int) -> None:
    """Reject what Discord rejects with 50035 Invalid Form Body, so bad commands fail in tests."""
    name = body.get("name", "")
    problems = []
    if command_type == 1:
        if not _NAME.match(name) or name != name.lower():
            problems.append(f"name {name!r} must be 1-32 lowercase word characters")
        problems += _option_problems(body, name)
    elif not 1 <= len(name) <= 32:
        problems.append(f"context menu name {name!r} must be 1-32 characters")
    if problems:
        raise DiscordHTTPError(400, 50035, "Invalid Form Body: " + "; ".join(problems))


def _option_problems(item: Json, where: str) -> list[str]:
    problems = []
    if not 1 <= len(item.get("description", "")) <= 100:
        problems.append(f"{where}: description must be 1-100 characters")
    options = item.get("options") or []
    if len(options) > 25:
        problems.append(f"{where}: at most 25 options")
    required_seen_optional = False
    for option in options:
        name = option.get("name", "")
        if not _NAME.match(name) or name != name.lower():
            problems.append(f"{where}: option name {name!r} must be 1-32 lowercase word characters")
        if option.get("type") in (1, 2):
            problems += _option_problems(option, f"{where} {name}")
            continue
        if option.get("required") and required_seen_optional:
            problems.append(f"{where}: required option {name!r} after an optional one")
        required_seen_optional |= not option.get("required", False)
        if not 1 <= len(option.get("description", "")) <= 100:
            problems.append(f"{where} {name}: description must be 1-100 characters")
    return problems
