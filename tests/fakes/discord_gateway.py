"""The fake's gateway: websocket sessions per shard, zlib-stream, READY/GUILD_CREATE, resume.

Discord's protocol, as hikari 2.6 speaks it: HELLO, IDENTIFY, READY, heartbeats answered with
op 11, dispatches as op 0 with an increasing sequence per session, RESUME replaying missed events.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

if TYPE_CHECKING:
    from tests.fakes.discord_entities import Json
    from tests.fakes.discord_state import DiscordState

__all__ = ["GatewayConnection", "GatewayHub", "GatewaySession", "Intent", "SentEvent"]

HEARTBEAT_INTERVAL_MS = 41_250


class Intent:
    """Gateway intent bits the fake enforces."""

    GUILDS = 1 << 0
    GUILD_MEMBERS = 1 << 1
    GUILD_MESSAGES = 1 << 9
    GUILD_MESSAGE_REACTIONS = 1 << 10
    DIRECT_MESSAGES = 1 << 12
    MESSAGE_CONTENT = 1 << 15


@dataclass(frozen=True)
class SentEvent:
    """A dispatch the fake sent (or, with `delivered=False`, dropped for missing intents)."""

    shard_id: int
    name: str
    seq: int | None
    data: Json
    delivered: bool


@dataclass(eq=False)
class GatewaySession:
    """An identified shard session; survives reconnects when the client resumes."""

    session_id: str
    shard_id: int
    shard_count: int
    intents: int
    identify: Json
    seq: int = 0
    history: list[tuple[int, str, Json]] = field(default_factory=list)
    connection: GatewayConnection | None = None
    replay_duplicates: int = 0
    ended: bool = False


@dataclass(eq=False)
class GatewayConnection:
    """One websocket; one zlib compressor for the whole connection (zlib-stream)."""

    ws: web.WebSocketResponse
    compress: bool
    session: GatewaySession | None = None
    received: list[Json] = field(default_factory=list)
    heartbeats: int = 0
    closed_by_server: bool = False
    _deflate: Any = field(default_factory=zlib.compressobj)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def send(self, payload: Json) -> None:
        """Send one payload (compressed frame flushed with Z_SYNC_FLUSH when zlib-stream)."""
        async with self._lock:
            await self._send_unlocked(payload)

    async def _send_unlocked(self, payload: Json) -> None:
        if self.ws.closed:
            return
        raw = json.dumps(payload).encode()
        if self.compress:
            await self.ws.send_bytes(
                self._deflate.compress(raw) + self._deflate.flush(zlib.Z_SYNC_FLUSH)
            )
        else:
            await self.ws.send_str(raw.decode())


class GatewayHub:
    """All gateway connections and sessions; routes dispatches to the shard owning a guild."""

    def __init__(self, state: DiscordState) -> None:
        self.state = state
        self.connections: list[GatewayConnection] = []
        self.sessions: dict[str, GatewaySession] = {}
        self.sent: list[SentEvent] = []
        self.resume_url = ""
        self._changed = asyncio.Event()

    # -- websocket endpoint -------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """aiohttp handler for `/gateway`."""
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        conn = GatewayConnection(ws, compress=request.query.get("compress") == "zlib-stream")
        self.connections.append(conn)
        try:
            await conn.send(
                {"op": 10, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}, "s": None, "t": None}
            )
            async for message in ws:
                if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    break
                payload = json.loads(message.data)
                conn.received.append(payload)
                await self._on_payload(conn, payload)
        finally:
            if conn.session is not None and conn.session.connection is conn:
                conn.session.connection = None
                # 1000/1001 from the client end the session (hikari's close); others may resume.
                conn.session.ended = not conn.closed_by_server and ws.close_code in (1000, 1001)
            self._notify()
        return ws

    async def _on_payload(self, conn: GatewayConnection, payload: Json) -> None:
        op = payload.get("op")
        data: Json = payload["d"] if isinstance(payload.get("d"), dict) else {}
        if op == 1:
            conn.heartbeats += 1
            await conn.send({"op": 11, "d": None, "s": None, "t": None})
        elif op == 2:
            await self._identify(conn, data)
        elif op == 6:
            await self._resume(conn, data)
        elif op == 8:
            await self._request_members(conn, data)
        self._notify()

    async def _identify(self, conn: GatewayConnection, data: Json) -> None:
        if data.get("token") != self.state.token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        shard_id, shard_count = data.get("shard") or [0, 1]
        session = GatewaySession(
            secrets.token_hex(16), shard_id, shard_count, data["intents"], data
        )
        self.sessions[session.session_id] = session
        session.connection = conn
        conn.session = session
        ready = {
            "v": 10,
            "user": self.state.bot_user.to_payload()
            | {"mfa_enabled": False, "flags": 0, "verified": True},
            "guilds": [{"id": str(g), "unavailable": True} for g in self.guild_ids_for(session)],
            "session_id": session.session_id,
            "resume_gateway_url": self.resume_url,
            "shard": [shard_id, shard_count],
            "application": {"id": str(self.state.application_id), "flags": 0},
        }
        await self.send_to_session(session, "READY", ready)
        if session.intents & Intent.GUILDS:
            for guild_id in self.guild_ids_for(session):
                await self.send_to_session(
                    session, "GUILD_CREATE", self.state.guilds[guild_id].to_gateway_payload()
                )

    async def _resume(self, conn: GatewayConnection, data: Json) -> None:
        session = self.sessions.get(data.get("session_id", ""))
        if session is None or session.ended or data.get("token") != self.state.token:
            await conn.send({"op": 9, "d": False, "s": None, "t": None})
            return
        session.connection = conn
        conn.session = session
        client_seq = data.get("seq") or 0
        async with conn._lock:
            missed = [entry for entry in session.history if entry[0] > client_seq]
            already = [entry for entry in session.history if entry[0] <= client_seq]
            replay = (
                already[len(already) - session.replay_duplicates :]
                if session.replay_duplicates
                else []
            )
            session.replay_duplicates = 0
            for seq, name, event_data in [*replay, *missed]:
                await conn._send_unlocked({"op": 0, "s": seq, "t": name, "d": event_data})
        await self.send_to_session(session, "RESUMED", {})

    async def _request_members(self, conn: GatewayConnection, data: Json) -> None:
        guild = self.state.guilds.get(int(data["guild_id"]))
        if guild is None or conn.session is None:
            return
        chunk: Json = {
            "guild_id": str(guild.id),
            "members": [member.to_payload() for member in guild.members.values()],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce"):
            chunk["nonce"] = data["nonce"]
        await self.send_to_session(conn.session, "GUILD_MEMBERS_CHUNK", chunk)

    # -- routing ------------------------------------------------------------------------------

    def guild_ids_for(self, session: GatewaySession) -> list[int]:
        """Guild ids (with the bot as member) that Discord would put on this session's shard."""
        bot_id = self.state.bot_user.id
        return [
            guild.id
            for guild in self.state.guilds.values()
            if bot_id in guild.members
            and (guild.id >> 22) % session.shard_count == session.shard_id
        ]

    def live_sessions(self) -> list[GatewaySession]:
        """Sessions not ended by the client nor replaced by a newer IDENTIFY for the same shard."""
        latest: dict[int, GatewaySession] = {}
        for session in self.sessions.values():
            latest[session.shard_id] = session
        return [session for session in latest.values() if not session.ended]

    async def dispatch(
        self,
        name: str,
        data: Json,
        *,
        guild_id: int | None = None,
        shard_id: int | None = None,
        intent: int = 0,
        repeat: int = 1,
    ) -> int:
        """Send an event to the shard of `guild_id` (or `shard_id`, else all); return deliveries.

        Sessions missing `intent` skip the event (recorded with `delivered=False`). Events for a
        disconnected session are kept and replayed when the client resumes.
        """
        delivered = 0
        for session in self.live_sessions():
            if guild_id is not None and (guild_id >> 22) % session.shard_count != session.shard_id:
                continue
            if shard_id is not None and session.shard_id != shard_id:
                continue
            if intent and not session.intents & intent:
                self.sent.append(SentEvent(session.shard_id, name, None, data, delivered=False))
                continue
            await self.send_to_session(session, name, data, repeat=repeat)
            delivered += 1
        return delivered

    async def dispatch_message(self, name: str, message: Json, *, repeat: int = 1) -> int:
        """Dispatch MESSAGE_CREATE/UPDATE like Discord: intents per guild/DM, DMs on shard 0, and
        content emptied for sessions without MESSAGE_CONTENT unless the bot wrote it, is
        mentioned, or it is a DM."""
        guild_id = int(message["guild_id"]) if "guild_id" in message else None
        intent = Intent.GUILD_MESSAGES if guild_id is not None else Intent.DIRECT_MESSAGES
        delivered = 0
        for session in self.live_sessions():
            if guild_id is None and session.shard_id != 0:
                continue
            if guild_id is not None and (guild_id >> 22) % session.shard_count != session.shard_id:
                continue
            if not session.intents & intent:
                self.sent.append(SentEvent(session.shard_id, name, None, message, delivered=False))
                continue
            data = message if self._may_read(session, message) else _without_content(message)
            await self.send_to_session(session, name, data, repeat=repeat)
            delivered += 1
        return delivered

    def _may_read(self, session: GatewaySession, message: Json) -> bool:
        bot_id = str(self.state.bot_user.id)
        return bool(
            session.intents & Intent.MESSAGE_CONTENT
            or "guild_id" not in message
            or message["author"]["id"] == bot_id
            or any(user["id"] == bot_id for user in message.get("mentions", ()))
        )

    async def send_to_session(
        self, session: GatewaySession, name: str, data: Json, *, repeat: int = 1
    ) -> None:
        """Assign the next sequence number and send (repeat > 1 re-sends the same frame)."""
        conn = session.connection
        lock = conn._lock if conn is not None else asyncio.Lock()
        async with lock:
            session.seq += 1
            session.history.append((session.seq, name, data))
            self.sent.append(
                SentEvent(session.shard_id, name, session.seq, data, delivered=conn is not None)
            )
            if conn is not None:
                for _ in range(repeat):
                    await conn._send_unlocked({"op": 0, "s": session.seq, "t": name, "d": data})
        self._notify()

    # -- control ------------------------------------------------------------------------------

    def session_for_shard(self, shard_id: int) -> GatewaySession:
        """The live session of a shard."""
        for session in self.live_sessions():
            if session.shard_id == shard_id:
                return session
        msg = f"no session for shard {shard_id}"
        raise LookupError(msg)

    async def drop(self, shard_id: int, *, code: int = 4000, replay_duplicates: int = 0) -> None:
        """Close a shard's websocket; hikari reconnects and resumes (close codes < 4000, 4000...).

        `replay_duplicates` re-sends that many already-delivered events on resume.
        """
        session = self.session_for_shard(shard_id)
        session.replay_duplicates = replay_duplicates
        if session.connection is not None:
            session.connection.closed_by_server = True
            await session.connection.ws.close(
                code=code, message=b"fake discord dropped the connection"
            )

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Wait until `predicate()` is true, re-checking on every gateway change."""
        while not predicate():
            self._changed.clear()
            await self._changed.wait()

    def _notify(self) -> None:
        self._changed.set()

    async def close(self) -> None:
        """Close every open websocket (server going away)."""
        for conn in self.connections:
            if not conn.ws.closed:
                await conn.ws.close(code=1001, message=b"fake discord shutting down")


def _without_content(message: Json) -> Json:
    return message | {"content": "", "embeds": [], "attachments": [], "components": []}
