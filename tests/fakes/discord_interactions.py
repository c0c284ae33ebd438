"""Builders for INTERACTION_CREATE payloads, shaped by the commands the bot registered.

Options are given as a mapping `{option name: value}` and typed from the registered command's
schema; user/member/channel/role options get their `resolved` data. Guild-registered commands
carry `data.guild_id`, global ones do not (lightbulb routes on it).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tests.fakes.discord_entities import ALL_PERMISSIONS, FakeInteraction

if TYPE_CHECKING:
    from tests.fakes.discord_entities import Json
    from tests.fakes.discord_state import DiscordState

__all__ = ["InteractionBuilder", "OptionType"]


class OptionType:
    """Application command option types."""

    SUB_COMMAND = 1
    SUB_COMMAND_GROUP = 2
    STRING = 3
    INTEGER = 4
    BOOLEAN = 5
    USER = 6
    CHANNEL = 7
    ROLE = 8
    MENTIONABLE = 9
    NUMBER = 10
    ATTACHMENT = 11


_SNOWFLAKE_TYPES = {OptionType.USER, OptionType.CHANNEL, OptionType.ROLE, OptionType.MENTIONABLE}


class InteractionBuilder:
    """Creates `FakeInteraction`s (payload + bookkeeping) from the fake's state."""

    def __init__(self, state: DiscordState) -> None:
        self.state = state

    def find_command(self, name: str, guild_id: int | None, command_type: int) -> Json:
        """The registered command a user would invoke: guild-scoped first, then global."""
        for scope in (guild_id, None) if guild_id is not None else (None,):
            for command in self.state.commands.get(scope, []):
                if command["name"] == name and command["type"] == command_type:
                    return command
        known = sorted(
            f"{c['name']}({scope})" for scope, cs in self.state.commands.items() for c in cs
        )
        msg = (
            f"command {name!r} (type {command_type}) not registered for {guild_id}; known: {known}"
        )
        raise LookupError(msg)

    def base(
        self, interaction_type: int, guild_id: int | None, user_id: int, channel_id: int
    ) -> FakeInteraction:
        """The fields every interaction has (member with permissions in guilds, user in DMs)."""
        state = self.state
        interaction_id, token = state.next_id(), secrets.token_urlsafe(48)
        channel = state.channels[channel_id]
        payload: Json = {
            "id": str(interaction_id),
            "application_id": str(state.application_id),
            "type": interaction_type,
            "token": token,
            "version": 1,
            "channel_id": str(channel_id),
            "channel": channel.to_payload(),
            "locale": "en-US",
            "entitlements": [],
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if guild_id is not None:
            member = state.get_member(guild_id, user_id)
            if member is None:
                msg = f"user {user_id} is not a member of guild {guild_id}"
                raise LookupError(msg)
            permissions = state.permissions_for(guild_id, user_id)
            payload["channel"]["permissions"] = str(permissions)
            payload |= {
                "guild_id": str(guild_id),
                "guild_locale": "en-US",
                "member": member.to_payload() | {"permissions": str(permissions)},
                "app_permissions": str(state.permissions_for(guild_id, state.bot_user.id)),
                "authorizing_integration_owners": {"0": str(guild_id)},
                "context": 0,
            }
        else:
            payload |= {
                "user": state.users[user_id].to_payload(),
                "app_permissions": str(ALL_PERMISSIONS),
                "authorizing_integration_owners": {"0": str(user_id)},
                "context": 1,
            }
        interaction = FakeInteraction(
            interaction_id, token, interaction_type, payload, channel_id, guild_id, user_id
        )
        state.interactions[interaction_id] = interaction
        return interaction

    def command(
        self,
        guild_id: int | None,
        user_id: int,
        name: str,
        options: Mapping[str, Any] | Sequence[Json],
        *,
        channel_id: int | None,
        focused: str | None = None,
    ) -> FakeInteraction:
        """A slash command (type 2) or, with `focused`, an autocomplete (type 4) interaction.

        `name` may include the subcommand path: "bytes send" or "admin economy set".
        """
        root, *path = name.split()
        command = self.find_command(root, guild_id, 1)
        resolved: Json = {}
        if isinstance(options, Mapping):
            built = self._options(
                command, path, dict(options), guild_id=guild_id, resolved=resolved, focused=focused
            )
        else:
            built = list(options)
        data: Json = {"id": command["id"], "name": root, "type": 1, "options": built}
        if resolved:
            data["resolved"] = resolved
        if "guild_id" in command:
            data["guild_id"] = command["guild_id"]
        channel_id = channel_id or self._channel_for(guild_id, user_id)
        interaction = self.base(4 if focused else 2, guild_id, user_id, channel_id)
        interaction.payload["data"] = data
        return interaction

    def user_context_menu(
        self, guild_id: int | None, user_id: int, name: str, target_id: int
    ) -> FakeInteraction:
        """A user context-menu command (type 2) on the user `target_id`."""
        command = self.find_command(name, guild_id, 2)
        resolved: Json = {}
        self._resolve(OptionType.USER, target_id, guild_id, resolved)
        data: Json = {
            "id": command["id"],
            "name": name,
            "type": 2,
            "target_id": str(target_id),
            "resolved": resolved,
        }
        if "guild_id" in command:
            data["guild_id"] = command["guild_id"]
        interaction = self.base(2, guild_id, user_id, self._channel_for(guild_id, user_id))
        interaction.payload["data"] = data
        return interaction

    def component(
        self,
        message_id: int,
        user_id: int,
        *,
        custom_id: str | None,
        label: str | None,
        values: Sequence[str],
    ) -> FakeInteraction:
        """A button press (or select choice) on a stored message, found by custom_id or label."""
        message = self.state.messages[message_id]
        found = _find_component(message.get("components", []), custom_id, label)
        if found is None:
            available = [
                (c.get("custom_id"), c.get("label")) for c in _walk(message.get("components", []))
            ]
            msg = f"no component {custom_id=} {label=} on message {message_id}: {available}"
            raise LookupError(msg)
        if found.get("disabled"):
            msg = f"component {found.get('custom_id')!r} is disabled; a user cannot use it"
            raise ValueError(msg)
        guild_id = int(message["guild_id"]) if "guild_id" in message else None
        interaction = self.base(3, guild_id, user_id, int(message["channel_id"]))
        data: Json = {"custom_id": found["custom_id"], "component_type": found["type"]}
        if found["type"] != 2:
            data["values"] = list(values)
        interaction.payload |= {"data": data, "message": message}
        interaction.message_id = message_id
        return interaction

    def modal_submit(
        self, opened_by: FakeInteraction, values: Mapping[str, str]
    ) -> FakeInteraction:
        """Submit the modal the bot opened in answer to `opened_by`, with text input values."""
        response = opened_by.response or {}
        if response.get("type") != 9:
            msg = f"interaction {opened_by.id} was not answered with a modal: {response}"
            raise ValueError(msg)
        modal = response["data"]
        inputs = [c for c in _walk(modal["components"]) if c.get("type") == 4]
        unknown = set(values) - {c["custom_id"] for c in inputs}
        if unknown:
            known = [c["custom_id"] for c in inputs]
            msg = f"modal has no text inputs {sorted(unknown)}; it has {known}"
            raise LookupError(msg)
        rows = []
        for index, text_input in enumerate(inputs):
            value = values.get(text_input["custom_id"], text_input.get("value") or "")
            _check_text_input(text_input, value)
            component = {
                "type": 4,
                "id": 2 * index + 2,
                "custom_id": text_input["custom_id"],
                "value": value,
            }
            rows.append({"type": 1, "id": 2 * index + 1, "components": [component]})
        interaction = self.base(5, opened_by.guild_id, opened_by.user_id, opened_by.channel_id)
        interaction.payload["data"] = {"custom_id": modal["custom_id"], "components": rows}
        if opened_by.message_id is not None:
            interaction.payload["message"] = self.state.messages[opened_by.message_id]
            interaction.message_id = opened_by.message_id
        return interaction

    # -- helpers ------------------------------------------------------------------------------

    def _channel_for(self, guild_id: int | None, user_id: int) -> int:
        if guild_id is not None:
            return self.state.default_channel(guild_id).id
        for channel in self.state.channels.values():
            if channel.recipient is not None and channel.recipient.id == user_id:
                return channel.id
        msg = f"no DM channel with user {user_id}; pass channel_id"
        raise LookupError(msg)

    def _options(
        self,
        command: Json,
        path: list[str],
        values: dict[str, Any],
        *,
        guild_id: int | None,
        resolved: Json,
        focused: str | None,
    ) -> list[Json]:
        schema: list[Json] = command.get("options") or []
        chain: list[Json] = []
        for part in path:
            sub = next((o for o in schema if o["name"] == part and o["type"] in (1, 2)), None)
            if sub is None:
                msg = f"{command['name']} has no subcommand {part!r}"
                raise LookupError(msg)
            chain.append(sub)
            schema = sub.get("options") or []
        leaf = [
            self._option(schema, key, value, guild_id=guild_id, resolved=resolved, focused=focused)
            for key, value in values.items()
        ]
        missing = [o["name"] for o in schema if o.get("required") and o["name"] not in values]
        if missing and focused is None:
            msg = f"required options missing: {missing}"
            raise ValueError(msg)
        for sub in reversed(chain):
            leaf = [{"name": sub["name"], "type": sub["type"], "options": leaf}]
        return leaf

    def _option(
        self,
        schema: list[Json],
        name: str,
        value: Any,
        *,
        guild_id: int | None,
        resolved: Json,
        focused: str | None,
    ) -> Json:
        spec = next((o for o in schema if o["name"] == name), None)
        if spec is None:
            msg = f"unknown option {name!r}; options are {[o['name'] for o in schema]}"
            raise LookupError(msg)
        kind = spec["type"]
        if name == focused:
            return {"name": name, "type": kind, "value": str(value), "focused": True}
        _check_bounds(spec, value)
        if kind in _SNOWFLAKE_TYPES:
            self._resolve(kind, int(value), guild_id, resolved)
            value = str(int(value))
        return {"name": name, "type": kind, "value": value}

    def _resolve(self, kind: int, target: int, guild_id: int | None, resolved: Json) -> None:
        state = self.state
        guild = state.guilds.get(guild_id) if guild_id is not None else None
        if kind in (OptionType.USER, OptionType.MENTIONABLE) and target in state.users:
            resolved.setdefault("users", {})[str(target)] = state.users[target].to_payload()
            member = guild.members.get(target) if guild else None
            if member is not None and guild is not None:
                permissions = str(state.permissions_for(guild.id, target))
                member_payload = member.to_payload(with_user=False) | {"permissions": permissions}
                resolved.setdefault("members", {})[str(target)] = member_payload
        elif kind in (OptionType.ROLE, OptionType.MENTIONABLE) and guild and target in guild.roles:
            resolved.setdefault("roles", {})[str(target)] = guild.roles[target].to_payload()
        elif kind == OptionType.CHANNEL and target in state.channels:
            channel = state.channels[target].to_payload()
            channel["permissions"] = str(ALL_PERMISSIONS)
            resolved.setdefault("channels", {})[str(target)] = channel
        else:
            msg = f"option target {target} is not a known {kind=} entity"
            raise LookupError(msg)


def _check_bounds(spec: Json, value: Any) -> None:
    """Discord's client enforces these; a test sending what no user can send is a test bug."""
    problems = []
    if isinstance(value, int | float) and not isinstance(value, bool):
        if spec.get("min_value") is not None and value < spec["min_value"]:
            problems.append(f"< min_value {spec['min_value']}")
        if spec.get("max_value") is not None and value > spec["max_value"]:
            problems.append(f"> max_value {spec['max_value']}")
    if isinstance(value, str):
        if spec.get("min_length") is not None and len(value) < spec["min_length"]:
            problems.append(f"shorter than {spec['min_length']}")
        if spec.get("max_length") is not None and len(value) > spec["max_length"]:
            problems.append(f"longer than {spec['max_length']}")
    choices = [choice["value"] for choice in spec.get("choices") or []]
    if choices and value not in choices:
        problems.append(f"not one of the choices {choices}")
    if problems:
        msg = f"option {spec['name']}={value!r} cannot be sent by Discord: {', '.join(problems)}"
        raise ValueError(msg)


def _check_text_input(text_input: Json, value: str) -> None:
    """Discord's client refuses to submit a modal violating these."""
    if text_input.get("required", True) and not value:
        msg = f"text input {text_input['custom_id']!r} is required"
        raise ValueError(msg)
    if value and not text_input.get("min_length", 0) <= len(value) <= text_input.get(
        "max_length", 4000
    ):
        msg = f"text input {text_input['custom_id']!r}: {value!r} violates its length limits"
        raise ValueError(msg)


def _walk(components: list[Json]) -> list[Json]:
    out: list[Json] = []
    for component in components:
        out.append(component)
        out += _walk(component.get("components") or [])
    return out


def _find_component(
    components: list[Json], custom_id: str | None, label: str | None
) -> Json | None:
    for component in _walk(components):
        if component.get("type") == 1 or "custom_id" not in component:
            continue
        if (custom_id is None or component["custom_id"] == custom_id) and (
            label is None or component.get("label") == label
        ):
            return component
    return None
