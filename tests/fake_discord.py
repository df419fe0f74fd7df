"""A fake Discord on 127.0.0.1: the REST routes and the gateway websocket that discord.py uses.

The bot's real discord.py client connects to it (through DISCORD_API_BASE_URL and
DISCORD_GATEWAY_URL); tests then play users: they dispatch gateway events (interactions,
messages) and read what the bot sent back over REST.

Facts this relies on (checked against discord.py 2.7):
- REST responses need `Content-Type: application/json` exactly (no charset), or discord.py
  reads them as text.
- A 429 needs a `Via` header and a JSON `retry_after`, or discord.py takes it for a Cloudflare
  ban.
- READY must carry `resume_gateway_url`, and INTERACTION_CREATE `attachment_size_limit`.

Shards: several bot processes (or one AutoShardedClient) may connect at once, each IDENTIFYing
its own `shard` [id, count]. Each shard gets only its guilds (Discord's rule: `shard_of`), its
own session id and its own sequence numbers; `dispatch` sends a guild's events on the socket of
the shard that owns it. `guild_on_shard` makes up guild ids that fall on a given shard.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

APP_ID = 100_000_000_000_000_001
BOT_ID = 100_000_000_000_000_002
GUILD_ID = 200_000_000_000_000_001
OTHER_GUILD_ID = 200_000_000_000_000_002  # a second server, with channels of its own
CHANNEL_ID = 300_000_000_000_000_001
OTHER_CHANNEL_ID = 300_000_000_000_000_002
MOD_LOG_CHANNEL_ID = 300_000_000_000_000_003
OTHER_GUILD_CHANNEL_ID = 300_000_000_000_000_004
NEWS_CHANNEL_ID = 300_000_000_000_000_005
FORUM_CHANNEL_ID = 300_000_000_000_000_006
ADMIN_ROLE_ID = 400_000_000_000_000_001
USER_ID = 500_000_000_000_000_001
TIMESTAMP = "2026-11-24T12:00:00.000000+00:00"

_ids = itertools.count(900_000_000_000_000_000)


def snowflake() -> str:
    return str(next(_ids))


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard Discord sends a guild's events on."""
    return (guild_id >> 22) % shard_count


# Guilds made up by `guild_on_shard` lie above the two fixed ones (no id is shared), and their
# channels in a range of their own (`channel_of`).
_EXTRA_GUILDS_FROM = (GUILD_ID >> 22) + 1
_EXTRA_CHANNELS_FROM = 310_000_000_000_000_000


def guild_on_shard(shard: int, shard_count: int, n: int = 0) -> int:
    """The `n`-th (from 0) made-up guild id that falls on `shard` of `shard_count`: the same
    for the same arguments, in the 2000... range like GUILD_ID, never GUILD_ID or
    OTHER_GUILD_ID. Put it in `FakeDiscord.guild_ids` to have the fake serve that guild."""
    if not 0 <= shard < shard_count:
        raise ValueError(f"shard {shard} is not one of {shard_count}")
    first = _EXTRA_GUILDS_FROM + (shard - _EXTRA_GUILDS_FROM) % shard_count
    return ((first + n * shard_count) << 22) | 1


def channel_of(guild_id: int) -> int:
    """The text channel ("general") of a guild: CHANNEL_ID and OTHER_GUILD_CHANNEL_ID for the
    two fixed guilds, a made-up id of its own for any other."""
    if guild_id == GUILD_ID:
        return CHANNEL_ID
    if guild_id == OTHER_GUILD_ID:
        return OTHER_GUILD_CHANNEL_ID
    return _EXTRA_CHANNELS_FROM + guild_id % 10**16


def user_payload(user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
    return {
        "id": str(user_id),
        "username": name,
        "global_name": name,
        "discriminator": "0",
        "avatar": None,
        "bot": bot,
        "public_flags": 0,
    }


BOT_USER = user_payload(BOT_ID, "quotebot", bot=True)
# A token the fake treats as revoked: login gets 401, as from Discord.
REJECTED_TOKEN = "rejected-token-000000000000000000"


def member_payload(user_id: int, name: str, roles: list[int] | None = None) -> dict[str, Any]:
    return {
        "user": user_payload(user_id, name),
        "roles": [str(r) for r in roles or []],
        "joined_at": TIMESTAMP,
        "deaf": False,
        "mute": False,
        "nick": None,
        "flags": 0,
        "pending": False,
    }


def channel_payload(channel_id: int, name: str, guild_id: int = GUILD_ID) -> dict[str, Any]:
    return {
        "id": str(channel_id),
        "type": 0,
        "guild_id": str(guild_id),
        "name": name,
        "position": 0,
        "permission_overwrites": [],
        "nsfw": False,
        "parent_id": None,
        "topic": None,
        "last_message_id": None,
        "rate_limit_per_user": 0,
    }


def guild_payload(guild_id: int = GUILD_ID) -> dict[str, Any]:
    everyone = {
        "id": str(guild_id),
        "name": "@everyone",
        # view, send, embed links, use app commands
        "permissions": str(0x400 | 0x800 | 0x4000 | 0x80000000),
        "position": 0,
        "color": 0,
        "hoist": False,
        "managed": False,
        "mentionable": False,
        "flags": 0,
    }
    if guild_id not in (GUILD_ID, OTHER_GUILD_ID):  # one made up for more guilds or shards
        return _guild_fields(
            guild_id,
            f"Guild {guild_id}",
            [everyone],
            [channel_payload(channel_of(guild_id), "general", guild_id)],
        )
    admin_role = {**everyone, "id": str(ADMIN_ROLE_ID), "name": "quote-admins", "position": 1}
    channels = (
        [
            channel_payload(CHANNEL_ID, "general"),
            channel_payload(OTHER_CHANNEL_ID, "off-topic"),
            channel_payload(MOD_LOG_CHANNEL_ID, "mod-log"),
            channel_payload(NEWS_CHANNEL_ID, "news"),
            {**channel_payload(FORUM_CHANNEL_ID, "questions"), "type": 15, "available_tags": []},
        ]
        if guild_id == GUILD_ID
        else [channel_payload(OTHER_GUILD_CHANNEL_ID, "general", OTHER_GUILD_ID)]
    )
    return _guild_fields(
        guild_id,
        "Test Guild" if guild_id == GUILD_ID else "Other Guild",
        [everyone, admin_role] if guild_id == GUILD_ID else [everyone],
        channels,
    )


def _guild_fields(
    guild_id: int, name: str, roles: list[dict[str, Any]], channels: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "id": str(guild_id),
        "name": name,
        "icon": None,
        "owner_id": str(USER_ID + 99),
        "roles": roles,
        "channels": channels,
        "threads": [],
        "members": [member_payload(BOT_ID, "quotebot")],
        "member_count": 3,
        "large": False,
        "unavailable": False,
        "features": [],
        "emojis": [],
        "stickers": [],
        "voice_states": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "premium_tier": 0,
        "preferred_locale": "en-US",
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "nsfw_level": 0,
        "system_channel_flags": 0,
        "joined_at": TIMESTAMP,
    }


def application_payload() -> dict[str, Any]:
    return {
        "id": str(APP_ID),
        "name": "quotebot",
        "icon": None,
        "description": "Answers by quoting articles",
        "bot_public": False,
        "bot_require_code_grant": False,
        "owner": user_payload(USER_ID + 99, "owner"),
        "verify_key": "0" * 64,
        "flags": 0,
        "team": None,
        "summary": "",
        "rpc_origins": [],
        "interactions_endpoint_url": None,
        "redirect_uris": [],
        "tags": [],
    }


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int = 200
    received_at: float = field(default_factory=time.monotonic)
    response: Any = None  # what the fake answered (JSON), for ids it made up

    @property
    def allowed_mentions(self) -> Any:
        payload = self.body.get("data", self.body) if isinstance(self.body, dict) else {}
        return payload.get("allowed_mentions") if isinstance(payload, dict) else None


@dataclass
class RateLimit:
    method: str
    pattern: re.Pattern[str]
    retry_after: float
    times: int = 1


@dataclass
class Failure:
    method: str
    pattern: re.Pattern[str]
    status: int
    body: dict[str, Any]
    times: int = 1


@dataclass
class _Connection:
    """One gateway connection: the shard it IDENTIFYed (or RESUMEd) as, and its numbering."""

    socket: web.WebSocketResponse
    shard: int
    shard_count: int
    session_id: str
    sequence: int = 0  # the last `s` sent on this session

    @property
    def open(self) -> bool:
        return not self.socket.closed


@dataclass
class FakeDiscord:
    """Start with `await fake.start()`; stop with `await fake.stop()`."""

    requests: list[Request] = field(default_factory=list)
    gateway_log: list[dict[str, Any]] = field(default_factory=list)  # what the client sent
    sessions: int = 0  # gateway connections accepted
    registered_commands: list[dict[str, Any]] = field(default_factory=list)
    # The guilds the bot is in; each shard is told of those that fall on it (`shard_of`).
    guild_ids: list[int] = field(default_factory=lambda: [GUILD_ID, OTHER_GUILD_ID])
    # Shard id -> the guild ids its last READY listed, once their GUILD_CREATEs were sent.
    ready_shards: dict[int, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._app = web.Application()
        self._app.router.add_route("GET", "/gateway", self._gateway)
        self._app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        self._app.router.add_route("GET", "/attachments/{id}/{name}", self._attachment)
        self._attachments: dict[str, bytes] = {}
        self._runner: web.AppRunner | None = None
        self._last: _Connection | None = None  # the connection identified or resumed last
        self._shards: dict[int, _Connection] = {}  # shard id -> its current connection
        self._sessions: dict[str, _Connection] = {}  # session id -> its latest connection
        self._changed = asyncio.Condition()
        self._rate_limits: list[RateLimit] = []
        self._failures: list[Failure] = []
        self.port = 0

    # Life cycle

    async def start(self) -> None:
        self._runner = web.AppRunner(self._app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        for connection in self._sessions.values():
            if connection.open:
                await connection.socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def _socket(self) -> web.WebSocketResponse | None:
        """The socket identified or resumed last (the only one, unless sharded)."""
        return self._last.socket if self._last is not None else None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    # What tests call

    def rate_limit(self, method: str, path_regex: str, retry_after: float = 0.05) -> None:
        """The next matching request gets a 429 (Discord's kind, with Via and retry_after)."""
        self._rate_limits.append(RateLimit(method, re.compile(path_regex), retry_after))

    def fail(
        self,
        method: str,
        path_regex: str,
        status: int = 500,
        *,
        times: int = 1,
        body: dict[str, Any] | None = None,
    ) -> None:
        """The next `times` matching requests get this status (a server error by default)."""
        body = body or {"message": f"{status}: fake failure", "code": 0}
        self._failures.append(Failure(method, re.compile(path_regex), status, body, times))

    async def wait_for(
        self, predicate: Callable[[], Any], timeout: float = 5.0, what: str = "condition"
    ) -> Any:
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(predicate), timeout)
            except TimeoutError:
                raise AssertionError(f"fake Discord: timed out waiting for {what}") from None
        return predicate()

    async def wait_ready(self) -> None:
        await self.wait_for(lambda: self.registered_commands, what="command sync")
        await self.wait_for(lambda: self._socket is not None and self.sessions, what="gateway")

    async def wait_ready_shards(self, count: int, timeout: float = 30.0) -> None:
        """Wait until `count` distinct shards have identified and been sent their guilds, and
        the commands were synced."""
        await self.wait_for(
            lambda: self.registered_commands and len(self.ready_shards) >= count,
            timeout,
            what=f"{count} shard(s) ready and command sync",
        )

    def guilds_on_shard(self, shard: int, shard_count: int) -> list[int]:
        """Which of `guild_ids` Discord would send on this shard."""
        return [g for g in self.guild_ids if shard_of(g, shard_count) == shard]

    @property
    def connected_shards(self) -> set[int]:
        """The shard ids whose current connection is open."""
        return {shard for shard, c in self._shards.items() if c.open}

    def sent(self, method: str, path_regex: str) -> list[Request]:
        pattern = re.compile(path_regex)
        return [r for r in self.requests if r.method == method and pattern.fullmatch(r.path)]

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a gateway event: on the socket of the shard that owns its guild (`guild_id`,
        or `id` for GUILD_* events) when several shards are connected, direct messages on
        shard 0 as Discord does; otherwise on the socket identified last."""
        connection = self._connection_for(event, data)
        assert connection is not None, "the bot is not connected"
        await self._send(connection, event, data)

    def _connection_for(self, event: str, data: dict[str, Any]) -> _Connection | None:
        connected = [c for c in self._shards.values() if c.open]
        if len(connected) > 1:
            guild = data.get("guild_id") if isinstance(data, dict) else None
            if guild is None and event.startswith("GUILD_") and isinstance(data, dict):
                guild = data.get("id")
            for connection in connected:
                if guild is None and connection.shard == 0:
                    return connection
                if guild is not None and shard_of(int(guild), connection.shard_count) == (
                    connection.shard
                ):
                    return connection
        return self._last

    async def _send(self, connection: _Connection, event: str, data: Any) -> None:
        connection.sequence += 1
        await connection.socket.send_str(
            json.dumps({"op": 0, "t": event, "s": connection.sequence, "d": data})
        )

    async def request_reconnect(self, shard: int | None = None) -> None:
        """Gateway op 7: the client must reconnect and RESUME (the shard's connection, or the
        one identified last)."""
        connection = self._last if shard is None else self._shards.get(shard)
        assert connection is not None
        await connection.socket.send_str(json.dumps({"op": 7, "d": None}))

    async def interact(self, data: dict[str, Any], **fields: Any) -> list[Request]:
        """Send an interaction (on the shard of its `guild_id`); return the callback and
        follow-ups the bot sent for it."""
        interaction = interaction_payload(data, **fields)
        token = interaction["token"]
        await self.dispatch("INTERACTION_CREATE", interaction)
        callback = f"/interactions/{interaction['id']}/{token}/callback"
        await self.wait_for(lambda: self.sent("POST", re.escape(callback)), what=callback)
        return self.responses_to(token)

    def attachment(
        self, filename: str, body: bytes, content_type: str = "text/plain"
    ) -> dict[str, Any]:
        """A file a member attached, served by this fake as Discord's CDN serves it; pass the
        result as an option value to `slash`."""
        attachment_id = snowflake()
        self._attachments[attachment_id] = body
        url = f"http://127.0.0.1:{self.port}/attachments/{attachment_id}/{filename}"
        return {
            "id": attachment_id,
            "filename": filename,
            "size": len(body),
            "url": url,
            "proxy_url": url,
            "content_type": content_type,
        }

    async def _attachment(self, request: web.Request) -> web.Response:
        body = self._attachments.get(request.match_info["id"])
        if body is None:
            return web.Response(status=404)
        return web.Response(body=body, content_type="application/octet-stream")

    def responses_to(self, token: str) -> list[Request]:
        return [r for r in self.requests if token in r.path]

    # Gateway

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        await socket.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}}))
        async for message in socket:
            if message.type != WSMsgType.TEXT:
                break
            payload = json.loads(message.data)
            await self._on_gateway_message(socket, payload)
        return socket

    async def _on_gateway_message(self, socket: web.WebSocketResponse, payload: dict) -> None:
        op = payload.get("op")
        async with self._changed:
            self.gateway_log.append(payload)
            self._changed.notify_all()
        if op == 1:
            await socket.send_str(json.dumps({"op": 11}))
        elif op == 2:
            shard, count = payload["d"].get("shard") or [0, 1]
            # One shard keeps the session id tests know; each of several has its own.
            session_id = "fake-session" if count == 1 else f"fake-session-{shard}"
            connection = _Connection(socket, shard, count, session_id)
            self._last = self._shards[shard] = self._sessions[session_id] = connection
            guilds = self.guilds_on_shard(shard, count)
            ready = {
                "v": 10,
                "user": BOT_USER,
                "guilds": [{"id": str(g), "unavailable": True} for g in guilds],
                "session_id": session_id,
                "resume_gateway_url": self.gateway_url,
                "application": {"id": str(APP_ID), "flags": 0},
                "shard": [shard, count],
                "private_channels": [],
                "relationships": [],
            }
            await self._send(connection, "READY", ready)
            for guild_id in guilds:
                await self._send(connection, "GUILD_CREATE", guild_payload(guild_id))
            self.ready_shards[shard] = guilds
            await self._count_session()  # wakes those waiting for ready_shards too
        elif op == 6:
            resumed = self._sessions.get(payload["d"].get("session_id"))
            if resumed is None:  # as Discord answers: identify again
                await socket.send_str(json.dumps({"op": 9, "d": False}))
                return
            # The same session on a new connection: its numbering goes on.
            connection = _Connection(
                socket, resumed.shard, resumed.shard_count, resumed.session_id, resumed.sequence
            )
            self._last = self._shards[connection.shard] = connection
            self._sessions[connection.session_id] = connection
            await self._send(connection, "RESUMED", {})
            await self._count_session()

    async def _count_session(self) -> None:
        async with self._changed:
            self.sessions += 1
            self._changed.notify_all()

    # REST

    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        body: Any = None
        if request.can_read_body:
            raw = await request.read()
            body = _parse_body(raw, request.content_type)
        recorded = Request(request.method, path, dict(request.query), body)
        limit = self._take_rate_limit(request.method, path)
        failure = self._take_failure(request.method, path) if limit is None else None
        if failure is not None:
            recorded.status = failure.status
            response = _json(failure.body, status=failure.status)
        elif request.headers.get("Authorization") == f"Bot {REJECTED_TOKEN}":
            recorded.status = 401
            response = _json({"message": "401: Unauthorized", "code": 0}, status=401)
        elif limit is not None:
            recorded.status = 429
            response = _json(
                {
                    "message": "You are being rate limited.",
                    "retry_after": limit.retry_after,
                    "global": False,
                },
                status=429,
                headers={"Via": "1.1 google", "Retry-After": str(limit.retry_after)},
            )
        else:
            response = self._route(request.method, path, body)
            recorded.status = response.status
            if response.body:
                recorded.response = json.loads(response.body)
        async with self._changed:
            self.requests.append(recorded)
            self._changed.notify_all()
        return response

    def _take_failure(self, method: str, path: str) -> Failure | None:
        for failure in self._failures:
            if failure.method == method and failure.pattern.fullmatch(path) and failure.times:
                failure.times -= 1
                return failure
        return None

    def _take_rate_limit(self, method: str, path: str) -> RateLimit | None:
        for limit in self._rate_limits:
            if limit.method == method and limit.pattern.fullmatch(path) and limit.times > 0:
                limit.times -= 1
                return limit
        return None

    def _route(self, method: str, path: str, body: Any) -> web.Response:
        if path == "/users/@me":
            return _json(BOT_USER)
        if path == "/oauth2/applications/@me":
            return _json(application_payload())
        if path == "/gateway":  # no token needed: what `quotebot health` asks
            return _json({"url": self.gateway_url})
        if path == "/gateway/bot":
            limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
            return _json({"url": self.gateway_url, "shards": 1, "session_start_limit": limit})
        if method == "PUT" and re.fullmatch(r"/applications/\d+(/guilds/\d+)?/commands", path):
            self.registered_commands = [
                {
                    "description": "",
                    "options": [],
                    "default_member_permissions": None,
                    "nsfw": False,
                    **command,
                    "id": snowflake(),
                    "application_id": str(APP_ID),
                    "version": "1",
                }
                for command in body
            ]
            return _json(self.registered_commands)
        if re.fullmatch(r"/interactions/\d+/[\w-]+/callback", path):
            interaction_id = path.split("/")[2]
            return _json(_callback_response(interaction_id, body))
        if method == "POST" and re.fullmatch(r"/webhooks/\d+/[\w-]+", path):
            return _json(message_payload(_message_data(body), author=BOT_USER))
        if method == "PATCH" and re.fullmatch(r"/webhooks/\d+/[\w-]+/messages/@original", path):
            return _json(message_payload(_message_data(body), author=BOT_USER))
        if method == "DELETE" and re.fullmatch(r"/channels/\d+/messages/\d+", path):
            return web.Response(status=204)
        match = re.fullmatch(r"/channels/(\d+)/messages", path)
        if method == "POST" and match:
            return _json(message_payload(body, author=BOT_USER, channel_id=int(match.group(1))))
        return _json(
            {"message": f"fake Discord has no route {method} {path}", "code": 0}, status=404
        )


def _parse_body(raw: bytes, content_type: str) -> Any:
    if not raw:
        return None
    if content_type == "application/json":
        return json.loads(raw)
    # multipart (messages with files or components): find the payload_json part
    match = re.search(rb'name="payload_json"\r\n(?:[^\r\n]+\r\n)*\r\n(.*?)\r\n--', raw, re.S)
    return json.loads(match.group(1)) if match else {"raw": raw.decode("utf-8", "replace")}


def _message_data(body: Any) -> dict[str, Any]:
    return body if isinstance(body, dict) else {}


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def _callback_response(interaction_id: str, body: dict[str, Any]) -> dict[str, Any]:
    kind = body.get("type")
    data = body.get("data") or {}
    ephemeral = bool((data.get("flags") or 0) & 64)
    interaction = {
        "id": interaction_id,
        "type": 2,
        "response_message_loading": kind == 5,
        "response_message_ephemeral": ephemeral,
    }
    if kind in (4, 5):
        message = message_payload(data, author=BOT_USER)
        interaction["response_message_id"] = message["id"]
        return {"interaction": interaction, "resource": {"type": kind, "message": message}}
    return {"interaction": interaction}


def message_payload(
    data: dict[str, Any],
    *,
    author: dict[str, Any],
    channel_id: int = CHANNEL_ID,
    message_id: str | None = None,
    mentions: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "id": message_id or snowflake(),
        "channel_id": str(channel_id),
        "author": author,
        "content": data.get("content") or "",
        "timestamp": TIMESTAMP,
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": mentions or [],
        "mention_roles": [],
        "attachments": [],
        "embeds": data.get("embeds") or [],
        "components": data.get("components") or [],
        "pinned": False,
        "type": 0,
        "flags": data.get("flags") or 0,
        **extra,
    }


def interaction_payload(
    data: dict[str, Any],
    *,
    kind: int = 2,
    user_id: int = USER_ID,
    roles: list[int] | None = None,
    permissions: int = 0x400 | 0x800 | 0x80000000,
    channel_id: int = CHANNEL_ID,
    message: dict[str, Any] | None = None,
    dm: bool = False,
    thread_of: int | None = None,
    guild_id: int = GUILD_ID,
) -> dict[str, Any]:
    """An interaction in a server channel (give `channel_id=channel_of(guild_id)` for a guild
    other than GUILD_ID); with `dm`, in the member's direct messages; with `thread_of`, in a
    thread (`channel_id`) of that channel."""
    member = member_payload(user_id, f"user{user_id % 1000}", roles)
    member["permissions"] = str(permissions)
    payload = {
        "id": snowflake(),
        "application_id": str(APP_ID),
        "type": kind,
        "token": f"token-{snowflake()}",
        "version": 1,
        "guild_id": str(guild_id),
        "channel_id": str(channel_id),
        "channel": channel_payload(channel_id, "general", guild_id),
        "member": member,
        "data": data,
        "locale": "en-US",
        "guild_locale": "en-US",
        "app_permissions": str(0x400 | 0x800 | 0x4000),
        "entitlements": [],
        "authorizing_integration_owners": {"0": str(guild_id)},
        "context": 0,
        "attachment_size_limit": 8 * 1024 * 1024,
    }
    if message is not None:
        payload["message"] = message
    if thread_of is not None:
        payload["channel"] = {
            **channel_payload(channel_id, "a-thread", guild_id),
            "type": 11,
            "parent_id": str(thread_of),
            "owner_id": str(user_id),
            "message_count": 1,
            "member_count": 1,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": TIMESTAMP,
                "locked": False,
            },
        }
    if dm:
        for key in ("guild_id", "member", "guild_locale"):
            payload.pop(key)
        payload["user"] = member["user"]
        payload["channel"] = {"id": str(channel_id), "type": 1, "recipients": [member["user"]]}
        payload["context"] = 1
        payload["authorizing_integration_owners"] = {"1": str(user_id)}
    return payload


@dataclass(frozen=True)
class Channel:
    """A channel given as a slash command option (type 15: a forum)."""

    id: int
    name: str = "news"
    type: int = 0
    guild_id: int = GUILD_ID


def thread_payload(
    thread_id: int, name: str, *, parent_id: int, owner_id: int = USER_ID
) -> dict[str, Any]:
    """A thread (a forum post, when its parent is a forum) as THREAD_CREATE carries it."""
    return {
        **channel_payload(thread_id, name),
        "type": 11,
        "parent_id": str(parent_id),
        "owner_id": str(owner_id),
        "message_count": 0,
        "member_count": 1,
        "newly_created": True,
        "flags": 0,
        "applied_tags": [],
        "thread_metadata": {
            "archived": False,
            "auto_archive_duration": 1440,
            "archive_timestamp": TIMESTAMP,
            "locked": False,
        },
    }


def slash(name: str, *subcommand: str, **options: Any) -> dict[str, Any]:
    """The `data` of a chat-input interaction, options typed the way Discord sends them:
    `slash("article", "add", url=...)` for a subcommand; an attachment (from
    `FakeDiscord.attachment`) goes in `resolved`, as Discord sends it."""
    kinds = {str: 3, bool: 5, int: 4}
    resolved: dict[str, Any] = {}
    typed = []
    for key, value in options.items():
        if isinstance(value, dict) and "filename" in value:
            resolved.setdefault("attachments", {})[value["id"]] = value
            typed.append({"name": key, "type": 11, "value": value["id"]})
        elif isinstance(value, Channel):
            payload = {
                **channel_payload(value.id, value.name, value.guild_id),
                "type": value.type,
                "permissions": "1049600",
            }
            resolved.setdefault("channels", {})[str(value.id)] = payload
            typed.append({"name": key, "type": 7, "value": str(value.id)})
        else:
            typed.append({"name": key, "type": kinds[type(value)], "value": value})
    if subcommand:
        typed = [{"name": subcommand[0], "type": 1, "options": typed}]
    data: dict[str, Any] = {"id": snowflake(), "name": name, "type": 1, "options": typed}
    if resolved:
        data["resolved"] = resolved
    return data
