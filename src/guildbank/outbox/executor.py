"""Performing one outbox job in Discord with hikari's REST client, and judging the outcome.

Every effect is idempotent, because a job may run again after a lost lease: adding a role the
member holds (or removing one they lack) changes nothing, and a post carries a nonce Discord
enforces (the same job posting twice within minutes gets its first message back). The member
cache, when the bot has one, spares calls that would change nothing.

How a failure is judged: a rate limit longer than the worker waits for comes back with
Discord's ``retry_after``; 5xx, timeouts and dropped connections are tried again with
backoff; 403 and 404 on a role or channel are permanent, with a reason an admin can act on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import hikari
from hikari.api.special_endpoints import ComponentBuilder
from hikari.impl import MessageActionRowBuilder

from guildbank.outbox.rules import (
    DM_SEND,
    MESSAGE_DELETE,
    MESSAGE_PIN,
    MESSAGE_POST,
    MESSAGE_UNPIN,
    ROLE_ADD,
    ROLE_GRANT,
    ROLE_REMOVE,
)
from guildbank.outbox.schemas import (
    LINK_STYLE,
    ActionRow,
    DmPayload,
    LeasedJob,
    MessageDeletePayload,
    MessagePayload,
    MessagePinPayload,
    RolePayload,
)

__all__ = ["DMS_CLOSED", "Executor", "Outcome", "build_components", "judge"]

UNKNOWN_MEMBER, UNKNOWN_ROLE, UNKNOWN_MESSAGE, UNKNOWN_CHANNEL = 10007, 10011, 10008, 10003
UNKNOWN_USER, CANNOT_MESSAGE_USER = 10013, 50007
MAX_PINS_REACHED = 30003
# The skip recorded for a DM Discord refuses because of the member's privacy settings.
DMS_CLOSED = "the member does not accept direct messages from the bot (their DMs are closed)"
TOO_MANY_REQUESTS = 429


@dataclass(frozen=True, slots=True)
class Outcome:
    """Done (with ``result``), or failed with ``error`` (retried unless ``permanent``)."""

    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    retry_after: float | None = None
    permanent: bool = False

    @property
    def done(self) -> bool:
        return self.error is None


def _said(error: hikari.HTTPResponseError) -> str:
    return f"{int(error.status)} {error.message or ''}".strip() + (
        f" (code {error.code})" if error.code else ""
    )


def judge(error: BaseException, *, what: str) -> Outcome:
    """A failure of ``what`` (e.g. "adding the role") as the worker reports it."""
    if isinstance(error, hikari.RateLimitTooLongError):
        return Outcome(error=f"Rate limited by Discord while {what}", retry_after=error.retry_after)
    if isinstance(error, hikari.ForbiddenError):
        return Outcome(
            error=f"Discord refused {what}: {_said(error)}. The bot lacks a permission here "
            "(or the role is above the bot's highest role). Fix it in Discord, then retry.",
            permanent=True,
        )
    if isinstance(error, hikari.NotFoundError):
        return Outcome(
            error=f"Discord does not know something needed for {what}: {_said(error)}. "
            "It was probably deleted; change the setting that names it, then retry.",
            permanent=True,
        )
    if isinstance(error, hikari.InternalServerError) or (
        isinstance(error, hikari.HTTPResponseError) and int(error.status) == TOO_MANY_REQUESTS
    ):
        return Outcome(error=f"Discord failed while {what}: {_said(error)}")
    if isinstance(error, hikari.ClientHTTPResponseError):
        return Outcome(error=f"Discord refused {what}: {_said(error)}", permanent=True)
    # Timeouts and connection errors (hikari.HTTPError, TimeoutError): try again later.
    return Outcome(error=f"No answer from Discord while {what}: {error!r}")


class Executor:
    """Runs leased jobs against Discord; never raises for a Discord failure, only judges it."""

    def __init__(self, rest: hikari.api.RESTClient, cache: hikari.api.Cache | None = None) -> None:
        self.rest = rest
        self.cache = cache

    async def run(self, job: LeasedJob) -> Outcome:
        if job.kind in (ROLE_GRANT, ROLE_ADD, ROLE_REMOVE):
            return await self._role(job, RolePayload.model_validate(job.payload))
        if job.kind == MESSAGE_POST:
            return await self._post(job, MessagePayload.model_validate(job.payload))
        if job.kind == MESSAGE_DELETE:
            return await self._delete(job, MessageDeletePayload.model_validate(job.payload))
        if job.kind in (MESSAGE_PIN, MESSAGE_UNPIN):
            return await self._pin(job, MessagePinPayload.model_validate(job.payload))
        if job.kind == DM_SEND:
            return await self._dm(job, DmPayload.model_validate(job.payload))
        return Outcome(error=f"This bot does not know job kind {job.kind!r}", permanent=True)

    def _holds(self, guild_id: str, user_id: str, role_id: str) -> bool | None:
        """Whether the cached member holds the role; None when the cache cannot tell."""
        member = None if self.cache is None else self.cache.get_member(int(guild_id), int(user_id))
        return None if member is None else int(role_id) in member.role_ids

    async def _role(self, job: LeasedJob, p: RolePayload) -> Outcome:
        adding = job.kind != ROLE_REMOVE
        # Only a reward grant trusts the cache: a squad move's add and remove follow each
        # other within seconds, faster than the gateway's member updates reach the cache,
        # and Discord's own PUT/DELETE of a role are harmless when already so.
        if job.kind == ROLE_GRANT and self._holds(job.guild_id, p.user_id, p.role_id):
            return Outcome({"skipped": "already so in Discord"})
        # Without ids: the job's payload (and the Sync page's "what" column) names them.
        what = "adding the role" if adding else "removing the role"
        reason = p.reason or "guildbank"
        try:
            if adding:
                await self.rest.add_role_to_member(
                    int(job.guild_id), int(p.user_id), int(p.role_id), reason=reason
                )
            else:
                await self.rest.remove_role_from_member(
                    int(job.guild_id), int(p.user_id), int(p.role_id), reason=reason
                )
        except hikari.NotFoundError as error:
            return _role_not_found(error, p.role_id, adding=adding, what=what)
        except (hikari.HTTPError, TimeoutError) as error:
            return judge(error, what=what)
        return Outcome()

    async def _post(self, job: LeasedJob, p: MessagePayload) -> Outcome:
        what = "posting the message"
        embeds = [self.rest.entity_factory.deserialize_embed(e) for e in p.embeds]
        # Always sent, empty too: an edit without buttons removes the ones the post had.
        components = build_components(p.components or [])
        content = p.content or None
        known = job.message
        try:
            if known is not None and known.channel_id == p.channel_id:
                try:
                    edited = await self.rest.edit_message(
                        int(p.channel_id),
                        int(known.message_id),
                        content,
                        embeds=embeds,
                        components=components,
                        mentions_everyone=False,
                        user_mentions=False,
                        role_mentions=False,
                    )
                except hikari.NotFoundError as error:
                    if error.code != UNKNOWN_MESSAGE:
                        raise
                else:
                    return Outcome(_message_result(edited))
            message = await self.rest.create_message(
                int(p.channel_id),
                content,
                embeds=embeds,
                components=components,
                # Discord returns the first message for a repeated nonce: never a duplicate.
                nonce=f"outbox-{job.id}",
                mentions_everyone=False,
                user_mentions=False,
                role_mentions=False,
            )
            # A retry may have got the first post of an older revision back (the nonce):
            # bring its content, embeds and buttons up to this one.
            if job.attempts > 1 or message.content != content:
                message = await self.rest.edit_message(
                    message.channel_id, message.id, content, embeds=embeds, components=components
                )
        except hikari.NotFoundError as error:
            if error.code == UNKNOWN_CHANNEL:
                return Outcome(
                    error=f"The channel {p.channel_id} no longer exists in Discord: pick "
                    "another channel in the settings, then retry.",
                    permanent=True,
                )
            return judge(error, what=what)
        except (hikari.HTTPError, TimeoutError) as error:
            return judge(error, what=what)
        if known is not None and known.channel_id != p.channel_id:
            await self._forget(known.channel_id, known.message_id)
        return Outcome(_message_result(message))

    async def _forget(self, channel_id: str, message_id: str) -> None:
        """Best effort: the message of a key that moved to another channel."""
        try:
            await self.rest.delete_message(int(channel_id), int(message_id))
        except hikari.HTTPError:
            return

    async def _delete(self, job: LeasedJob, p: MessageDeletePayload) -> Outcome:
        known = job.message
        if known is None:
            return Outcome({"skipped": f"no message is known for {p.key}"})
        try:
            await self.rest.delete_message(int(known.channel_id), int(known.message_id))
        except hikari.NotFoundError:
            return Outcome({"skipped": "the message was already gone"})
        except (hikari.HTTPError, TimeoutError) as error:
            return judge(error, what="deleting the message")
        return Outcome()

    async def _pin(self, job: LeasedJob, p: MessagePinPayload) -> Outcome:
        """Pin or unpin the key's message. Discord's PUT and DELETE of a pin are harmless when
        already so; a message that is gone (or never posted) has nothing to pin."""
        pinning = job.kind == MESSAGE_PIN
        what = "pinning the message" if pinning else "unpinning the message"
        known = job.message
        if known is None:
            return Outcome({"skipped": f"no message is known for {p.key}"})
        try:
            if pinning:
                await self.rest.pin_message(int(known.channel_id), int(known.message_id))
            else:
                await self.rest.unpin_message(int(known.channel_id), int(known.message_id))
        except (hikari.HTTPError, TimeoutError) as error:
            return _pin_refused(error, known.channel_id, what=what)
        return Outcome(
            {"channel_id": known.channel_id, "message_id": known.message_id, "pinned": pinning}
        )

    async def _dm(self, job: LeasedJob, p: DmPayload) -> Outcome:
        """Open the member's DM channel and post; closed DMs are skipped, never retried."""
        what = "sending the direct message"
        embeds = [self.rest.entity_factory.deserialize_embed(e) for e in p.embeds]
        try:
            channel = await self.rest.create_dm_channel(int(p.user_id))
            message = await self.rest.create_message(
                channel.id,
                p.content or None,
                embeds=embeds,
                nonce=f"outbox-{job.id}",
                mentions_everyone=False,
                user_mentions=False,
                role_mentions=False,
            )
            if job.attempts > 1:  # the nonce may have returned an older revision's DM
                message = await self.rest.edit_message(
                    channel.id, message.id, p.content or None, embeds=embeds
                )
        except hikari.ForbiddenError as error:
            if error.code == CANNOT_MESSAGE_USER:
                return Outcome({"skipped": DMS_CLOSED})
            return judge(error, what=what)
        except hikari.NotFoundError as error:
            if error.code == UNKNOWN_USER:
                return Outcome({"skipped": "the user no longer exists in Discord"})
            return judge(error, what=what)
        except (hikari.HTTPError, TimeoutError) as error:
            return judge(error, what=what)
        return Outcome(_message_result(message))


def build_components(rows: Sequence[ActionRow]) -> list[ComponentBuilder]:
    """hikari's builders for the payload's rows of buttons (Discord's component JSON)."""
    built: list[ComponentBuilder] = []
    for row in rows:
        builder = MessageActionRowBuilder()
        for button in row.components:
            label = hikari.UNDEFINED if button.label is None else button.label
            if button.style == LINK_STYLE:
                assert button.url is not None  # the schema checked it
                builder.add_link_button(button.url, label=label, is_disabled=button.disabled)
            else:
                assert button.custom_id is not None
                builder.add_interactive_button(
                    hikari.ButtonStyle(button.style),  # type: ignore[arg-type]
                    button.custom_id,
                    label=label,
                    is_disabled=button.disabled,
                )
        built.append(builder)
    return built


def _message_result(message: hikari.Message) -> dict[str, Any]:
    return {"channel_id": str(message.channel_id), "message_id": str(message.id)}


def _pin_refused(error: BaseException, channel_id: str, *, what: str) -> Outcome:
    """A message deleted in Discord has nothing to pin; a full channel needs an admin."""
    if isinstance(error, hikari.NotFoundError) and error.code == UNKNOWN_MESSAGE:
        return Outcome({"skipped": "the message was deleted in Discord"})
    if isinstance(error, hikari.BadRequestError) and error.code == MAX_PINS_REACHED:
        return Outcome(
            error=f"The channel {channel_id} already has the most pinned messages Discord "
            "allows (50): unpin one in Discord, then retry.",
            permanent=True,
        )
    return judge(error, what=what)


def _role_not_found(
    error: hikari.NotFoundError, role_id: str, *, adding: bool, what: str
) -> Outcome:
    """A member who left needs nothing, nor does removing a deleted role; adding one fails."""
    if error.code == UNKNOWN_MEMBER:
        return Outcome({"skipped": "the member is not in the server"})
    if error.code == UNKNOWN_ROLE and not adding:
        return Outcome({"skipped": "the role no longer exists"})
    if error.code == UNKNOWN_ROLE:
        return Outcome(
            error=f"The role {role_id} no longer exists in Discord: pick another role "
            "in the settings, then retry.",
            permanent=True,
        )
    return judge(error, what=what)
