"""A fake Discord on 127.0.0.1 that speaks the real HTTP API v10 and gateway protocol.

An unmodified discord.py client connects to it through `client_options()`: a
connector whose resolver maps Discord's hostnames to this server (and refuses every
other host), an SSL context trusting a throwaway CA (trustme), and an `http_trace`
guard that records any request to another host (aiohttp skips the resolver for IP
literals). The fake runs in its own thread and event loop, so a blocked bot loop is
seen, not hidden.

It enforces Discord's rules that matter to a bot: the 3-second acknowledgement
deadline (10062), no second acknowledgement (40060), message and embed limits
(50035), commands exist only once synced, and it records unknown routes.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import re
import socket
import ssl
import threading
import time
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable

import aiohttp
import trustme
from aiohttp import web
from aiohttp.abc import AbstractResolver

HOSTS = ("discord.com", "gateway.discord.gg", "cdn.discordapp.com", "media.discordapp.net")
API = "/api/v10"
ACK_DEADLINE_S = 3.0
_ids = itertools.count(1_300_000_000_000_000_000)


def snowflake() -> str:
    return str(next(_ids))


class DiscordError(Exception):
    def __init__(self, status: int, code: int, message: str, errors: dict | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.errors = status, code, message, errors or {}


def check_message(payload: dict) -> None:
    """Discord's message and embed limits; a violation is 50035 Invalid Form Body."""
    errors: dict[str, str] = {}
    content = payload.get("content") or ""
    if len(content) > 2000:
        errors["content"] = f"Must be 2000 or fewer in length (got {len(content)})."
    embeds = payload.get("embeds") or []
    if len(embeds) > 10:
        errors["embeds"] = "Must be 10 or fewer in length."
    for i, e in enumerate(embeds):
        total = 0
        for key, limit in (("title", 256), ("description", 4096)):
            value = e.get(key) or ""
            total += len(value)
            if len(value) > limit:
                errors[f"embeds.{i}.{key}"] = f"Must be {limit} or fewer in length (got {len(value)})."
        fields = e.get("fields") or []
        if len(fields) > 25:
            errors[f"embeds.{i}.fields"] = "Must be 25 or fewer in length."
        for j, f in enumerate(fields):
            if not f.get("name") or not f.get("value"):
                errors[f"embeds.{i}.fields.{j}"] = "Field name and value are required."
            if len(f.get("name") or "") > 256:
                errors[f"embeds.{i}.fields.{j}.name"] = "Must be 256 or fewer in length."
            if len(f.get("value") or "") > 1024:
                errors[f"embeds.{i}.fields.{j}.value"] = "Must be 1024 or fewer in length."
            total += len(f.get("name") or "") + len(f.get("value") or "")
        footer = (e.get("footer") or {}).get("text") or ""
        if len(footer) > 2048:
            errors[f"embeds.{i}.footer.text"] = "Must be 2048 or fewer in length."
        total += len(footer) + len((e.get("author") or {}).get("name") or "")
        if total > 6000:
            errors[f"embeds.{i}"] = f"Embed size exceeds maximum size of 6000 (got {total})."
    if errors:
        raise DiscordError(400, 50035, "Invalid Form Body", errors)


@dataclass
class Interaction:
    id: str
    token: str
    guild_id: str | None
    channel_id: str
    user: dict
    kind: int
    data: dict
    created: float = field(default_factory=time.monotonic)
    acked_at: float | None = None
    response: dict | None = None  # the callback body
    original: dict | None = None  # the message the response created or the followups edited
    followups: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    message: dict | None = None  # for component interactions: the message clicked

    @property
    def ephemeral(self) -> bool:
        data = (self.response or {}).get("data") or {}
        return bool(data.get("flags", 0) & 64)


class FakeResolver(AbstractResolver):
    """Discord's hostnames resolve to the fake; every other host is refused."""

    def __init__(self, port: int) -> None:
        self.port = port

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[dict[str, Any]]:
        if host not in HOSTS:
            raise OSError(f"fake Discord resolver refuses {host!r}")
        return [{"hostname": host, "host": "127.0.0.1", "port": self.port, "family": socket.AF_INET,
                 "proto": 0, "flags": socket.AI_NUMERICHOST}]

    async def close(self) -> None:
        pass


@dataclass
class GatewaySession:
    """One gateway connection: a shard of the bot (shard [id, count] from its IDENTIFY), its socket and the
    events sent on it (for RESUME)."""

    ws: web.WebSocketResponse | None
    zlib: Any = None
    shard: tuple[int, int] = (0, 1)
    seq: int = 0
    session_id: str = ""
    sent: list[dict] = field(default_factory=list)

    def serves(self, guild_id: str | None) -> bool:
        """Discord's routing: a server's events go to shard (server id >> 22) % shard count."""
        return guild_id is None or (int(guild_id) >> 22) % self.shard[1] == self.shard[0]


class FakeDiscord:
    def __init__(self, heartbeat_interval_ms: int = 2000) -> None:
        self.ca = trustme.CA()
        self.cert = self.ca.issue_cert(*HOSTS)
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.token = "fake-token." + snowflake()
        self.app_id = snowflake()
        self.bot_user = {"id": self.app_id, "username": "newsbot", "discriminator": "0", "avatar": None,
                         "bot": True, "global_name": None, "public_flags": 0}
        self.guilds: dict[str, dict] = {}
        self.left_guilds: list[str] = []  # servers the bot left (DELETE /users/@me/guilds/{id})
        self.global_commands: list[dict] = []
        self.guild_commands: dict[str, list[dict]] = {}
        self.interactions: dict[str, Interaction] = {}
        self.channel_messages: list[dict] = []
        self.unknown_routes: list[str] = []
        self.foreign_hosts: list[str] = []
        self.requests: list[tuple[str, str]] = []
        self.heartbeats: list[float] = []
        self.identifies = 0
        self.resumes = 0
        self.attachments: dict[str, bytes] = {}
        self._sessions: list[GatewaySession] = []  # identified connections, one per shard
        self.shards_identified: list[tuple[int, int]] = []
        self.ready = threading.Event()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="fake-discord", daemon=True)
        self._started = threading.Event()
        self.port = 0

    # ------------------------------------------------------------ lifecycle

    def start(self) -> "FakeDiscord":
        self._thread.start()
        self._started.wait(10)
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._serve())
        self._started.set()
        self.loop.run_forever()

    async def _serve(self) -> None:
        app = web.Application(client_max_size=30 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.cert.configure_cert(ctx)
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=ctx)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        async def shutdown():
            for session in list(self._sessions):
                if session.ws is not None:
                    await session.ws.close()
            await self._runner.cleanup()

        if self.loop.is_running():
            asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(10)
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    def call(self, coro, timeout: float = 30) -> Any:
        """Run a coroutine on the fake's loop from the test thread."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    # ------------------------------------------------------------ client wiring

    def client_options(self) -> dict[str, Any]:
        """Options for discord.Client; call inside the bot's running event loop."""
        ctx = ssl.create_default_context()
        self.ca.configure_trust(ctx)
        trace = aiohttp.TraceConfig()

        async def on_start(session, context, params):
            if params.url.host not in HOSTS:
                self.foreign_hosts.append(str(params.url))
                raise aiohttp.ClientConnectionError(f"request to a non-Discord host {params.url.host}")

        trace.on_request_start.append(on_start)
        return {
            "connector": aiohttp.TCPConnector(resolver=FakeResolver(self.port), ssl=ctx),
            "http_trace": trace,
            "guild_ready_timeout": 0.2,
        }

    # ------------------------------------------------------------ world

    ADMIN = (1 << 3) | (1 << 5) | (1 << 10) | (1 << 11) | (1 << 31)  # administrator, manage server, ...
    MEMBER = (1 << 10) | (1 << 11) | (1 << 31)  # view channel, send messages, use application commands

    def add_guild(self, name: str, members: list[dict]) -> dict:
        gid = snowflake()
        channel = {"id": snowflake(), "type": 0, "name": "general", "position": 0, "permission_overwrites": [],
                   "guild_id": gid}
        roles = [{"id": gid, "name": "@everyone", "permissions": str(1 << 11 | 1 << 10 | 1 << 31), "position": 0,
                  "color": 0, "hoist": False, "managed": False, "mentionable": False, "flags": 0}]
        guild = {"id": gid, "name": name, "channels": [channel], "roles": roles, "members": [],
                 "owner_id": members[0]["user"]["id"] if members else self.app_id}
        self.guilds[gid] = guild
        for m in members:
            self.add_member(gid, m)
        self.add_member(gid, {"user": self.bot_user, "permissions": 0})
        return guild

    @property
    def _ws(self) -> web.WebSocketResponse | None:
        """A connected gateway socket, if any (whether the bot is connected at all)."""
        return next((s.ws for s in self._sessions if s.ws is not None), None)

    def join_guild(self, name: str, members: list[dict]) -> dict:
        """The bot is invited to a server while connected: GUILD_CREATE, as Discord sends it."""
        guild = self.add_guild(name, members)
        if self._ws is not None:  # a join carries no "unavailable" key (a server coming back has it false)
            payload = {k: v for k, v in self._guild_payload(guild).items() if k != "unavailable"}
            self.call(self.dispatch("GUILD_CREATE", payload))
        return guild

    def add_channel(self, gid: str, name: str) -> dict:
        channel = {"id": snowflake(), "type": 0, "name": name, "position": len(self.guilds[gid]["channels"]),
                   "permission_overwrites": [], "guild_id": gid}
        self.guilds[gid]["channels"].append(channel)
        if self._ws is not None:
            self.call(self.dispatch("CHANNEL_CREATE", channel))
        return channel

    def add_role(self, gid: str, name: str) -> str:
        """Create a role; a connected bot is told by GUILD_ROLE_CREATE, as Discord does."""
        rid = snowflake()
        role = {"id": rid, "name": name, "permissions": "0", "position": 1, "color": 0,
                "hoist": False, "managed": False, "mentionable": False, "flags": 0}
        self.guilds[gid]["roles"].append(role)
        if self._ws is not None:
            self.call(self.dispatch("GUILD_ROLE_CREATE", {"guild_id": gid, "role": role}))
        return rid

    def add_member(self, gid: str, member: dict) -> None:
        self.guilds[gid]["members"].append({
            "user": member["user"], "roles": member.get("roles", []), "flags": 0, "joined_at": "2025-01-01T00:00:00+00:00",
            "deaf": False, "mute": False, "_permissions": member.get("permissions", 0)})

    @staticmethod
    def user(name: str) -> dict:
        return {"id": snowflake(), "username": name, "discriminator": "0", "avatar": None, "global_name": name,
                "public_flags": 0}

    def _guild_payload(self, guild: dict) -> dict:
        members = [{k: v for k, v in m.items() if not k.startswith("_")} for m in guild["members"]]
        return {"id": guild["id"], "name": guild["name"], "icon": None, "owner_id": guild["owner_id"],
                "unavailable": False, "member_count": len(members), "large": False, "features": [],
                "channels": guild["channels"], "roles": guild["roles"], "members": members, "threads": [],
                "emojis": [], "stickers": [], "presences": [], "voice_states": [], "stage_instances": [],
                "guild_scheduled_events": [], "premium_tier": 0, "preferred_locale": guild.get("preferred_locale", "en-US"),
                "verification_level": 0, "default_message_notifications": 0, "explicit_content_filter": 0,
                "mfa_level": 0, "nsfw_level": 0, "system_channel_flags": 0,
                "system_channel_id": guild["channels"][0]["id"]}

    def commands_for(self, gid: str | None) -> list[dict]:
        return self.global_commands + (self.guild_commands.get(gid, []) if gid else [])

    # ------------------------------------------------------------ HTTP

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        host = (request.host or "").split(":")[0]
        path = request.path
        self.requests.append((request.method, f"{host}{path}"))
        if host == "gateway.discord.gg" or (request.headers.get("Upgrade", "").lower() == "websocket"):
            return await self._gateway(request)
        if host == "cdn.discordapp.com" and path.startswith("/attachments/"):
            key = path.rsplit("/", 2)[-2]
            if key in self.attachments:
                return web.Response(body=self.attachments[key], content_type="application/octet-stream")
        if host != "discord.com" or not path.startswith(API):
            return self._unknown(request)
        route = path[len(API):]
        try:
            body = await self._json_body(request)
            for pattern, method, handler, auth in self.ROUTES:
                m = _match(pattern, route)
                if m is not None and method == request.method:
                    if auth and request.headers.get("Authorization") != f"Bot {self.token}":
                        raise DiscordError(401, 0, "401: Unauthorized")
                    if not auth and "Authorization" in request.headers:
                        raise DiscordError(400, 0, "interaction and webhook calls carry no Authorization header")
                    result = await handler(self, request, body, **m)
                    if result is None:
                        return web.Response(status=204)
                    return _json(result)
            return self._unknown(request)
        except DiscordError as exc:
            return _json({"code": exc.code, "message": exc.message, "errors": exc.errors}, status=exc.status)

    def _unknown(self, request: web.Request) -> web.Response:
        self.unknown_routes.append(f"{request.method} {request.host}{request.path}")
        return _json({"code": 0, "message": "404: Not Found"}, status=404)

    async def _json_body(self, request: web.Request) -> Any:
        if request.method in ("GET", "DELETE") or not request.can_read_body:
            return None
        ctype = request.headers.get("Content-Type", "")
        if ctype.startswith("multipart/"):
            reader = await request.multipart()
            body: dict = {}
            async for part in reader:
                if part.name == "payload_json":
                    body = json.loads(await part.text())
            return body
        if ctype != "application/json":
            raise DiscordError(400, 50035, f"Content-Type must be exactly application/json, got {ctype!r}")
        return json.loads(await request.read() or b"null")

    # --- routes: (pattern, method, handler, needs bot auth)

    async def r_me(self, request, body):
        return self.bot_user

    async def r_application(self, request, body):
        return {"id": self.app_id, "name": "newsbot", "icon": None, "description": "", "bot_public": True,
                "bot_require_code_grant": False, "verify_key": "00", "flags": 0,
                "owner": {**self.user("owner"), "id": snowflake()}, "team": None}

    async def r_put_commands(self, request, body, app):
        check_commands(body)
        commands = [{**c, "id": snowflake(), "application_id": self.app_id, "version": snowflake()} for c in body]
        self.global_commands = commands
        return commands

    async def r_put_guild_commands(self, request, body, app, guild):
        check_commands(body)
        commands = [{**c, "id": snowflake(), "application_id": self.app_id, "guild_id": guild, "version": snowflake()}
                    for c in body]
        self.guild_commands[guild] = commands
        return commands

    async def r_gateway(self, request, body):
        return {"url": "wss://gateway.discord.gg"}

    async def r_callback(self, request, body, iid, token):
        inter = self.interactions.get(iid)
        if inter is None or inter.token != token:
            raise DiscordError(404, 10062, "Unknown interaction")
        if time.monotonic() - inter.created > ACK_DEADLINE_S:
            inter.errors.append({"code": 10062})
            raise DiscordError(404, 10062, "Unknown interaction")
        if inter.acked_at is not None:
            inter.errors.append({"code": 40060})
            raise DiscordError(400, 40060, "Interaction has already been acknowledged.")
        rtype = body["type"]
        data = body.get("data") or {}
        if rtype in (4, 7):
            check_message(data)
        inter.acked_at = time.monotonic()
        inter.response = body
        resource: dict[str, Any] = {"type": rtype}
        if rtype in (4, 5):
            inter.original = self._message(inter.channel_id, data, flags=data.get("flags", 0),
                                           interaction=inter, loading=rtype == 5)
            resource["message"] = inter.original
        elif rtype in (6, 7) and inter.message is not None:
            if rtype == 7:
                inter.message.update({k: v for k, v in self._message(inter.channel_id, data).items()
                                      if k in ("content", "embeds", "components") and k in data})
            resource["message"] = inter.message
        callback = {"id": iid, "type": inter.kind, "response_message_loading": rtype == 5,
                    "response_message_ephemeral": bool(data.get("flags", 0) & 64)}
        if inter.original:
            callback["response_message_id"] = inter.original["id"]
        return {"interaction": callback, **({"resource": resource} if rtype != 8 else {})}

    def _interaction_by_token(self, token: str) -> Interaction:
        for inter in self.interactions.values():
            if inter.token == token:
                return inter
        raise DiscordError(404, 10015, "Unknown Webhook")

    async def r_followup(self, request, body, app, token):
        inter = self._interaction_by_token(token)
        if inter.acked_at is None:
            raise DiscordError(404, 10015, "Unknown Webhook")
        check_message(body)
        message = self._message(inter.channel_id, body, flags=body.get("flags", 0), interaction=inter)
        inter.followups.append(message)
        return message

    async def r_edit_original(self, request, body, app, token):
        inter = self._interaction_by_token(token)
        check_message(body)
        if inter.original is None:
            raise DiscordError(404, 10008, "Unknown Message")
        inter.original.update({k: v for k, v in body.items() if k in ("content", "embeds", "components")})
        return inter.original

    async def r_get_original(self, request, body, app, token):
        inter = self._interaction_by_token(token)
        if inter.original is None:
            raise DiscordError(404, 10008, "Unknown Message")
        return inter.original

    async def r_channel_message(self, request, body, channel):
        check_message(body)
        message = self._message(channel, body)
        ref = body.get("message_reference")
        if ref:
            message["message_reference"] = ref
        self.channel_messages.append(message)
        return message

    async def r_typing(self, request, body, channel):
        return None

    async def r_leave_guild(self, request, body, guild):
        if guild not in self.guilds:
            raise DiscordError(404, 10004, "Unknown Guild")
        del self.guilds[guild]
        self.left_guilds.append(guild)
        await self.dispatch("GUILD_DELETE", {"id": guild})
        return None

    ROUTES = [
        ("/users/@me", "GET", r_me, True),
        ("/oauth2/applications/@me", "GET", r_application, True),
        ("/applications/{app}/commands", "PUT", r_put_commands, True),
        ("/applications/{app}/guilds/{guild}/commands", "PUT", r_put_guild_commands, True),
        ("/gateway", "GET", r_gateway, False),
        ("/gateway/bot", "GET", r_gateway, True),
        ("/interactions/{iid}/{token}/callback", "POST", r_callback, False),
        ("/webhooks/{app}/{token}", "POST", r_followup, False),
        ("/webhooks/{app}/{token}/messages/@original", "PATCH", r_edit_original, False),
        ("/webhooks/{app}/{token}/messages/@original", "GET", r_get_original, False),
        ("/channels/{channel}/messages", "POST", r_channel_message, True),
        ("/channels/{channel}/typing", "POST", r_typing, True),
        ("/users/@me/guilds/{guild}", "DELETE", r_leave_guild, True),
    ]

    def _message(self, channel_id: str, data: dict, flags: int = 0, interaction: Interaction | None = None,
                 loading: bool = False) -> dict:
        message = {
            "id": snowflake(), "channel_id": channel_id, "author": self.bot_user, "content": data.get("content") or "",
            "timestamp": "2025-02-22T12:00:00+00:00", "edited_timestamp": None, "tts": False,
            "mention_everyone": False, "mentions": [], "mention_roles": [], "attachments": [],
            "embeds": data.get("embeds") or [], "components": data.get("components") or [], "pinned": False,
            "type": 20 if interaction else 0, "flags": flags | (128 if loading else 0),
        }
        if interaction and interaction.guild_id:
            message["guild_id"] = interaction.guild_id
        if data.get("allowed_mentions") is not None:
            message["_allowed_mentions"] = data["allowed_mentions"]
        return message

    # ------------------------------------------------------------ gateway

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        compress = request.query.get("compress")
        if compress == "zstd-stream":  # discord.py asks for it when `zstandard` is importable
            import zstandard

            packer: Any = _ZstdStream(zstandard)
        elif compress in (None, "zlib-stream"):
            packer = zlib.compressobj() if compress == "zlib-stream" else None
        else:
            await ws.close(code=4000, message=b"unsupported compression")
            return ws
        session = GatewaySession(ws, packer)
        await self._send(session, {"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            payload = json.loads(msg.data)
            op = payload.get("op")
            if op == 1:
                self.heartbeats.append(time.monotonic())
                await self._send(session, {"op": 11})
            elif op == 2:
                self.identifies += 1
                if payload["d"].get("token") != self.token:
                    await ws.close(code=4004, message=b"Authentication failed.")
                    break
                shard = tuple(payload["d"].get("shard") or (0, 1))
                session.shard, session.session_id, session.seq, session.sent = shard, snowflake(), 0, []
                self._sessions = [s for s in self._sessions if s.shard != shard] + [session]
                self.shards_identified.append(shard)
                mine = [g for g in self.guilds.values() if session.serves(g["id"])]
                await self._dispatch_to(session, "READY", {
                    "v": 10, "user": self.bot_user, "guilds": [{"id": g["id"], "unavailable": True} for g in mine],
                    "session_id": session.session_id, "shard": list(shard),
                    "resume_gateway_url": "wss://gateway.discord.gg", "application": {"id": self.app_id, "flags": 0},
                    "private_channels": [], "relationships": [], "presences": [], "user_settings": {}})
                for guild in mine:
                    await self._dispatch_to(session, "GUILD_CREATE", self._guild_payload(guild))
                self.ready.set()
            elif op == 6:
                self.resumes += 1
                d = payload["d"]
                old = next((s for s in self._sessions if s.session_id == d.get("session_id")), None)
                if old is None or d.get("token") != self.token:
                    await self._send(session, {"op": 9, "d": False})
                    continue
                old.ws, old.zlib, session = ws, session.zlib, old
                for event in [e for e in session.sent if e["s"] > (d.get("seq") or 0)]:
                    await self._send(session, event)
                await self._dispatch_to(session, "RESUMED", {})
                self.ready.set()
        if session.ws is ws:
            session.ws = None
        return ws

    async def _send(self, session: GatewaySession, payload: dict) -> None:
        ws = session.ws
        if ws is None or ws.closed:
            return
        data = json.dumps(payload).encode()
        if isinstance(session.zlib, _ZstdStream):
            await ws.send_bytes(session.zlib.frame(data))
        elif session.zlib is not None:
            await ws.send_bytes(session.zlib.compress(data) + session.zlib.flush(zlib.Z_SYNC_FLUSH))
        else:
            await ws.send_str(data.decode())

    async def dispatch(self, event: str, data: dict) -> None:
        """An event, on the shard that serves its server (Discord's routing)."""
        guild = data.get("guild_id") or (data.get("id") if event.startswith("GUILD_") and "id" in data else None)
        session = next((s for s in self._sessions if s.serves(guild)), None)
        if session is not None:
            await self._dispatch_to(session, event, data)

    async def _dispatch_to(self, session: GatewaySession, event: str, data: dict) -> None:
        session.seq += 1
        payload = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.sent.append(payload)
        await self._send(session, payload)

    async def drop_connection(self) -> None:
        """Close the gateway sockets abnormally, as a network failure would."""
        self.ready.clear()
        for session in list(self._sessions):
            if session.ws is not None:
                await session.ws.close(code=4000, message=b"fake disconnect")

    # ------------------------------------------------------------ driving the bot

    def member_payload(self, gid: str, user: dict) -> dict:
        guild = self.guilds[gid]
        member = next(m for m in guild["members"] if m["user"]["id"] == user["id"])
        return {"user": user, "roles": member["roles"], "flags": 0, "joined_at": member["joined_at"],
                "deaf": False, "mute": False, "permissions": str(member["_permissions"])}

    def slash(self, gid: str, user: dict, name: str, options: dict[str, Any] | None = None,
              attachments: dict[str, dict] | None = None, locale: str = "en-US") -> Interaction:
        """Send an INTERACTION_CREATE for a slash command, as Discord does when a user runs it (with the
        command's and options' default names, whatever language the member's client shows them in)."""
        command, types = self._command(gid, name)
        opts = []
        for key, value in (options or {}).items():
            if types[key] == 1:  # a subcommand: its own options nest inside it, as Discord sends them
                sub = next(o for o in command["options"] if o["name"] == key)
                sub_types = {o["name"]: o["type"] for o in sub.get("options", [])}
                opts.append({"name": key, "type": 1,
                             "options": [{"name": k, "type": sub_types[k], "value": v} for k, v in value.items()]})
            else:
                opts.append({"name": key, "type": types[key], "value": value})
        data: dict[str, Any] = {"id": command["id"], "name": name, "type": 1, "options": opts}
        if attachments:
            data["resolved"] = {"attachments": attachments}
        return self._interact(gid, user, 2, data, locale=locale)

    def autocomplete(self, gid: str, user: dict, name: str, option: str, value: str) -> Interaction:
        command, types = self._command(gid, name)
        data = {"id": command["id"], "name": name, "type": 1,
                "options": [{"name": option, "type": types[option], "value": value, "focused": True}]}
        return self._interact(gid, user, 4, data)

    def _command(self, gid: str | None, name: str) -> tuple[dict, dict[str, int]]:
        """A synced command and its options' types; Discord shows no command that was never synced."""
        command = next((c for c in self.commands_for(gid) if c["name"] == name), None)
        if command is None:
            raise AssertionError(f"/{name} was never synced: Discord would not show it")
        return command, {o["name"]: o["type"] for o in command.get("options", [])}

    def click(self, inter: Interaction, user: dict, label: str, message: dict | None = None,
              locale: str = "en-US") -> Interaction:
        """Click a button (by label or emoji) on a message the bot sent."""
        message = message or (inter.followups[-1] if inter.followups else inter.original)
        for row in message.get("components", []):
            for comp in row.get("components", []):
                if comp.get("label") == label or (comp.get("emoji") or {}).get("name") == label:
                    data = {"custom_id": comp["custom_id"], "component_type": comp["type"]}
                    return self._interact(inter.guild_id, user, 3, data, message=message, locale=locale)
        raise AssertionError(f"no button {label!r} on the message")

    def _interact(self, gid: str | None, user: dict, kind: int, data: dict, message: dict | None = None,
                  locale: str = "en-US") -> Interaction:
        guild = self.guilds.get(gid) if gid else None
        channel_id = guild["channels"][0]["id"] if guild else snowflake()
        inter = Interaction(id=snowflake(), token="itoken-" + snowflake(), guild_id=gid, channel_id=channel_id,
                            user=user, kind=kind, data=data, message=message)
        payload: dict[str, Any] = {
            "id": inter.id, "application_id": self.app_id, "type": kind, "token": inter.token, "version": 1,
            "data": data, "channel_id": channel_id, "locale": locale, "app_permissions": "0",
            "entitlements": [], "authorizing_integration_owners": {"0": gid or "0"}, "context": 0 if gid else 1,
            "attachment_size_limit": 10 * 1024 * 1024,
            "channel": {"id": channel_id, "type": 0 if gid else 1, "name": "general", "guild_id": gid} if gid else
            {"id": channel_id, "type": 1},
        }
        if gid:
            payload["guild_id"] = gid
            payload["guild_locale"] = guild.get("preferred_locale", "en-US")
            payload["member"] = self.member_payload(gid, user)
        else:
            payload["user"] = user
        if message is not None:
            payload["message"] = message
        self.interactions[inter.id] = inter
        self.call(self.dispatch("INTERACTION_CREATE", payload))
        return inter

    def mention(self, gid: str, user: dict, text: str, reply_to: dict | None = None, channel_id: str | None = None) -> dict:
        """A member posts a message mentioning the bot (content is delivered for mentions)."""
        guild = self.guilds[gid]
        message = {"id": snowflake(), "channel_id": channel_id or guild["channels"][0]["id"], "guild_id": gid, "author": user,
                   "member": {k: v for k, v in self.member_payload(gid, user).items() if k != "user"},
                   "content": f"<@{self.app_id}> {text}", "timestamp": "2025-02-22T12:00:00+00:00",
                   "edited_timestamp": None, "tts": False, "mention_everyone": False, "mentions": [self.bot_user],
                   "mention_roles": [], "attachments": [], "embeds": [], "pinned": False, "type": 0, "flags": 0,
                   "components": []}
        if reply_to is not None:
            message["type"] = 19
            message["message_reference"] = {"message_id": reply_to["id"], "channel_id": reply_to["channel_id"],
                                            "guild_id": gid}
            message["referenced_message"] = reply_to
        self.call(self.dispatch("MESSAGE_CREATE", message))
        return message

    def wait_until(self, predicate: Callable[[], Any], timeout: float = 60, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}")

    def wait_reply(self, inter: Interaction, count: int = 1, timeout: float = 60) -> dict:
        """The `count`-th visible reply: a followup, or the original edited in place."""
        return self.wait_until(lambda: inter.followups[count - 1] if len(inter.followups) >= count else None,
                               timeout, f"a reply to interaction {inter.data.get('name') or inter.data.get('custom_id')}")


class _ZstdStream:
    """One zstd stream for the whole connection, flushed after each message (zstd-stream)."""

    def __init__(self, zstandard) -> None:
        self._zstd = zstandard
        self._obj = zstandard.ZstdCompressor().compressobj()

    def frame(self, data: bytes) -> bytes:
        return self._obj.compress(data) + self._obj.flush(self._zstd.COMPRESSOBJ_FLUSH_BLOCK)


def _json(data: Any, status: int = 200) -> web.Response:
    """Discord answers with Content-Type exactly `application/json` (discord.py checks for it)."""
    response = web.Response(body=json.dumps(data).encode(), status=status)
    response.headers["Content-Type"] = "application/json"
    return response


def _match(pattern: str, route: str) -> dict[str, str] | None:
    p_parts, r_parts = pattern.strip("/").split("/"), route.strip("/").split("/")
    if len(p_parts) != len(r_parts):
        return None
    out = {}
    for p, r in zip(p_parts, r_parts):
        if p.startswith("{") and p.endswith("}"):
            out[p[1:-1]] = r
        elif p != r:
            return None
    return out


LOCALES = {"id", "da", "de", "en-GB", "en-US", "es-ES", "es-419", "fr", "hr", "it", "lt", "hu", "nl", "no", "pl",
           "pt-BR", "ro", "fi", "sv-SE", "vi", "tr", "cs", "el", "bg", "ru", "uk", "hi", "th", "zh-CN", "ja", "zh-TW", "ko"}
_NAME = re.compile(r"^[-_'\w]{1,32}$")


def check_commands(commands: list[dict]) -> None:
    """Discord's rules for a command schema (names, descriptions and their localizations), as the
    bulk-overwrite endpoint enforces them with a 400 / 50035."""
    def names(obj: dict, where: str) -> None:
        for value in [obj.get("name", ""), *(obj.get("name_localizations") or {}).values()]:
            if not _NAME.match(value) or value != value.lower():
                raise DiscordError(400, 50035, f"Invalid Form Body: {where} name {value!r}")
        for value in [obj.get("description", ""), *(obj.get("description_localizations") or {}).values()]:
            if not 1 <= len(value) <= 100:
                raise DiscordError(400, 50035, f"Invalid Form Body: {where} description {value!r} (1-100 characters)")
        for field_ in ("name_localizations", "description_localizations"):
            unknown = set(obj.get(field_) or {}) - LOCALES
            if unknown:
                raise DiscordError(400, 50035, f"Invalid Form Body: {where} {field_} has unknown locales {unknown}")

    for command in commands:
        names(command, f"command {command.get('name')}")
        for option in command.get("options", []):
            names(option, f"option {option.get('name')}")
            for choice in option.get("choices", []):
                for value in [choice["name"], *(choice.get("name_localizations") or {}).values()]:
                    if not 1 <= len(value) <= 100:
                        raise DiscordError(400, 50035, f"Invalid Form Body: choice name {value!r}")


class ClientThread:
    """Runs a discord.py client, made by `factory(**client_options)`, in its own thread and loop."""

    def __init__(self, fake: FakeDiscord, factory: Callable[..., Any]) -> None:
        self.fake, self.factory = fake, factory
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="discord-client", daemon=True)
        self.client: Any = None
        self.crashed: BaseException | None = None
        self._stopping: asyncio.Event | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def main():
            self.client = self.factory(**self.fake.client_options())
            self._stopping = asyncio.Event()
            running = asyncio.create_task(self.client.start(self.fake.token))
            stop = asyncio.create_task(self._stopping.wait())
            await asyncio.wait({running, stop}, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            # close() whole, in this loop: started from another thread it ended start(), and with it the
            # loop, before its own last steps ran (the bot's health file, its executor)
            await self.client.close()
            others = [t for t in asyncio.all_tasks() if t not in (asyncio.current_task(), running)]
            for task in others:  # views' timeout tasks: cancelled here, while the loop still runs them
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)
            await running

        try:
            self.loop.run_until_complete(main())
        except BaseException as exc:  # surfaced by the tests
            self.crashed = exc

    def start(self) -> "ClientThread":
        self.thread.start()
        assert self.fake.ready.wait(60), f"the client did not connect: {self.crashed!r}"
        self.fake.wait_until(lambda: self.client and self.client.is_ready(), 30, "the client to be ready")
        return self

    def stop(self) -> None:
        if self.client is not None and self.loop.is_running():
            self.loop.call_soon_threadsafe(self._stopping.set)  # main() closes the client and ends the loop
        self.thread.join(30)
