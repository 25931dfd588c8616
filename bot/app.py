"""The Discord bot: a thin layer that parses, checks permissions, calls the engine
off the event loop, and renders.

Shape after discord.py's examples/advanced_startup.py: a `commands.Bot` that loads a Cog per
concern by name in `setup_hook` (`cogs/`: asking, library, admin, feeds) and syncs the command
tree; the Cogs see it through `services.Services`, their checks are in `checks.py`, their buttons
in `views.py`, their errors worded in `errors.py`. This module holds what belongs to the client:
the worker threads, the health report, the servers it may serve, and starting and stopping.
No privileged intent is needed: messages that mention the bot carry their content.
"""
from __future__ import annotations

import asyncio
import logging
import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands, tasks

from newsbot.index.engine import Engine
from newsbot.index.errors import NewsbotError
from newsbot.index.i18n.catalogue import Messages
from newsbot.index.records import Answer
from newsbot.index.service import health
from newsbot.index.service.remote import EngineServer
from newsbot.index.sources.feeds import FeedStore
from newsbot.index.storage import audit
from newsbot.index.storage.feedback import FeedbackStore

from . import locale, services
from .answer_log import AnswerLog
from .cogs import EXTENSIONS
from .errors import send_ephemeral
from .locale import CatalogueTranslator
from .ratelimit import RateLimiter
from .settings import BotSettings
from .views import AnswerView

if TYPE_CHECKING:
    from newsbot.index.settings import Settings

log = logging.getLogger("newsbot.bot")
# The bot never joins voice: discord.py's warnings about missing voice libraries are noise in its log.
discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False


class NewsBot(commands.Bot):
    """The client, and the `services.Services` its Cogs use."""

    def __init__(self, engine: Engine, settings: BotSettings, **client_options: Any) -> None:
        intents = discord.Intents.default()
        intents.message_content = False  # mentions carry their content without it
        # No prefix commands: a mention is a question (the asking Cog's listener), never a command name.
        super().__init__(command_prefix=commands.when_mentioned, help_command=None, tree_cls=NewsTree,
                         intents=intents, allowed_mentions=discord.AllowedMentions.none(), **client_options)
        self.engine = engine
        self.settings = settings
        pool = max(2, settings.workers)
        self.executor = ThreadPoolExecutor(max_workers=pool, thread_name_prefix="newsbot-engine")
        self._long_work = asyncio.Semaphore(pool - 1)  # long jobs never take the last worker: it is kept for questions
        self.limiter = RateLimiter(settings.ask_rate, settings.ask_window_s)
        self.feedback = FeedbackStore(Path(engine.settings.data_dir) / "feedback.jsonl")
        # every answer shown, by message id: for its buttons and follow-up replies, across restarts
        self.answers = AnswerLog(Path(engine.settings.data_dir) / "answers.sqlite")
        self.answer_view = AnswerView(self)
        self.locales: dict[str, str] = {}  # namespace -> its /language choice ("" none, "auto", "en", "id")
        # `newsbot ask` etc. while the bot runs
        self.engine_server = EngineServer(engine, self.run_engine, self.run_long)
        self.feeds = FeedStore(engine.settings.data_dir)  # the feeds servers follow, polled by the feeds Cog

    async def setup_hook(self) -> None:
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        await self.tree.set_translator(CatalogueTranslator())  # before sync: the schema carries the localizations
        self.add_view(self.answer_view)  # buttons of answers sent before a restart route here too
        self.report_health.change_interval(seconds=self.settings.health_interval_s)
        self.report_health.start()
        try:
            if not self.engine.settings.server_mode:  # with a Chroma server the CLI opens the index itself
                await self.engine_server.start()
        except OSError as exc:  # e.g. a data directory path too long for a Unix socket
            log.warning("the command line cannot reach this bot's engine (%s); stop the bot to use the CLI", exc)
        if self.settings.guild_id:
            guild = discord.Object(id=self.settings.guild_id)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
        else:
            await self.tree.sync()

    async def close(self) -> None:
        self.report_health.cancel()
        await self.engine_server.close()
        await super().close()
        self._write_health()
        self.executor.shutdown(wait=False, cancel_futures=True)

    def _write_health(self) -> None:
        connected = self.is_ready() and not self.is_closed() and math.isfinite(self.latency)
        try:
            health.write_status(self.engine.settings.data_dir, health.ServeStatus(
                pid=os.getpid(), written_at=time.time(), connected=connected,
                latency_ms=round(self.latency * 1000, 1) if connected else None, guilds=len(self.guilds),
                data_dir=str(self.engine.settings.data_dir)))
        except OSError:
            log.warning("cannot write the health status to %s", self.engine.settings.data_dir, exc_info=True)

    async def on_ready(self) -> None:
        self._write_health()
        for guild in list(self.guilds):
            if not self.settings.allows_guild(guild.id):
                await self.leave(guild)

    async def on_guild_join(self, guild: discord.Guild) -> None:
        if not self.settings.allows_guild(guild.id):
            await self.leave(guild)

    async def leave(self, guild: discord.Guild) -> None:
        """A server not on NEWSBOT_GUILDS: say why, politely, where the server lets the bot speak; then leave."""
        channel = guild.system_channel
        if channel is not None and channel.permissions_for(guild.me).send_messages:
            m = Messages(locale.pick(self.settings.locale,
                                     guild.preferred_locale.value if guild.preferred_locale else None))
            try:
                await channel.send(m.t("bot.leaving", id=guild.id))
            except discord.HTTPException:
                pass
        try:
            await guild.leave()
        except discord.HTTPException:
            log.exception("could not leave server %s", guild.id)
            return
        await self.run_engine(audit.record, self.engine.settings.data_dir, f"guild-{guild.id}", "bot", "leave",
                              reason="not in NEWSBOT_GUILDS", guild=str(guild.id), guild_name=guild.name)

    async def on_resumed(self) -> None:
        self._write_health()

    @tasks.loop(seconds=30)
    async def report_health(self) -> None:
        """`newsbot health --bot` reads this: the gateway's state, every NEWSBOT_HEALTH_INTERVAL_S."""
        self._write_health()

    async def run_engine(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        """Engine calls are blocking (embedding, Chroma): run them in worker threads."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, partial(fn, *args, **kwargs))

    async def run_long(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        """Adds, page fetches, feed polls, exports and reindexes: at most all workers but one at a time,
        so a question never waits behind them (two slow socket adds once stalled every /ask for 40 s)."""
        async with self._long_work:
            return await self.run_engine(fn, *args, **kwargs)

    async def remember(self, message_id: int, namespace: str, answer: Answer, context: str = "") -> None:
        await self.run_engine(self.answers.record, message_id, namespace, answer, context)

    async def on_error(self, event: str, *args: Any, **kwargs: Any) -> None:
        log.exception("unhandled error in %s", event)

    async def on_message(self, message: discord.Message) -> None:
        """Not `commands.Bot`'s: no prefix commands. Mentions are questions, for the asking Cog's listener."""


class NewsTree(app_commands.CommandTree):
    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """No command runs in a server not on NEWSBOT_GUILDS (in the moment before the bot leaves it)."""
        if services.of(interaction.client).settings.allows_guild(interaction.guild_id):
            return True
        await send_ephemeral(interaction,
                             Messages(locale.pick(None, interaction.locale.value)).t("bot.not_this_server"))
        return False


SERVE_LOCK_WAIT_S = 120.0  # a short command (a cron job, a health probe) may hold the index as the service starts


def open_when_free(settings: "Settings", wait_s: float) -> Engine:
    """The engine, once another process holding the embedded index lets go (up to `wait_s`):
    a service must not die because `newsbot sources` ran at the moment it started."""
    from newsbot.index.storage.data_lock import when_free

    return when_free(lambda: Engine.open(settings), wait_s,
                     lambda busy: log.warning("waiting up to %.0f s for the index: %s", wait_s, busy))


def run(env_file: str | None = None, engine_settings: "Settings | None" = None) -> None:
    """`newsbot serve`: start the bot with DISCORD_TOKEN from .env; the engine's settings as the CLI
    read them (its --data-dir and --namespace included), else from .env and the environment."""
    from newsbot.index.settings import Settings

    settings = BotSettings.load(env_file)
    engine_settings = engine_settings or Settings.load(env_file)
    if not settings.token:
        raise NewsbotError("DISCORD_TOKEN is not set (see .env.example and the README's Discord section)")
    log.info("data directory: %s", engine_settings.data_dir)
    engine = open_when_free(engine_settings, SERVE_LOCK_WAIT_S)
    try:
        asyncio.run(serve(engine, settings))
    finally:
        engine.close()


class ShardedNewsBot(NewsBot, commands.AutoShardedBot):
    """The bot on some of Discord's shards (discord.py's AutoShardedBot): NEWSBOT_SHARD_IDS of
    NEWSBOT_SHARD_COUNT, one gateway connection each, so that several processes share a bot in many servers."""

    def __init__(self, engine: Engine, settings: BotSettings, **client_options: Any) -> None:
        super().__init__(engine, settings, shard_count=settings.shard_count,
                         shard_ids=list(settings.shard_ids) or None, **client_options)


def bot_for(engine: Engine, settings: BotSettings, **client_options: Any) -> NewsBot:
    """The bot the settings ask for: sharded where NEWSBOT_SHARD_COUNT is set, else one connection."""
    if settings.shard_count is not None:
        return ShardedNewsBot(engine, settings, **client_options)
    return NewsBot(engine, settings, **client_options)


async def serve(engine: Engine, settings: BotSettings, **client_options: Any) -> None:
    """Run the bot until it is closed; Discord refusing the token or being unreachable is one clear
    NewsbotError, not a traceback."""
    async with bot_for(engine, settings, **client_options) as bot:
        try:
            await bot.start(settings.token)
        except discord.LoginFailure:
            raise NewsbotError("Discord refused DISCORD_TOKEN (401 Unauthorized): copy the bot's token again from the "
                               "developer portal (Bot → Reset Token) into .env") from None
        except discord.PrivilegedIntentsRequired:
            raise NewsbotError("Discord refused an intent the bot asked for; newsbot needs no privileged "
                               "intent") from None
        except (OSError, aiohttp.ClientError, discord.GatewayNotFound, asyncio.TimeoutError) as exc:
            raise NewsbotError(f"cannot reach Discord ({exc.__class__.__name__}: {str(exc)[:200]}); check the network "
                               "and try again") from None
