"""The Discord bot: a thin layer that parses, checks permissions, calls the engine
off the event loop, and renders.

Shape after discord.py's examples/app_commands: a Client with a CommandTree synced
in `setup_hook`, one function per command. No privileged intent is needed:
messages that mention the bot carry their content.
"""
from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import discord
from discord import app_commands

from newsbot.index.engine import Engine
from newsbot.index.records import AddError
from newsbot.index.errors import InputError, NewsbotError
from newsbot.index.records import Answer

from . import render
from newsbot.index.feedback import FeedbackStore
from .ratelimit import RateLimiter
from .settings import BotSettings

if TYPE_CHECKING:
    from newsbot.index.settings import Settings

log = logging.getLogger("newsbot.bot")
PER_PAGE = 10
ERROR_TEXT = "Sorry, something went wrong while doing that. The error was logged."


def namespace_for(guild_id: int | None, settings: BotSettings) -> str | None:
    """Each server has its own namespace; DMs only if a namespace is configured for them."""
    if guild_id is not None:
        return f"guild-{guild_id}"
    return settings.dm_namespace or None


class NewsBot(discord.Client):
    def __init__(self, engine: Engine, settings: BotSettings, **client_options: Any) -> None:
        intents = discord.Intents.default()
        intents.message_content = False  # mentions carry their content without it
        super().__init__(intents=intents, allowed_mentions=discord.AllowedMentions.none(), **client_options)
        self.engine = engine
        self.settings = settings
        self.tree = app_commands.CommandTree(self)
        self.tree.on_error = self.on_app_command_error
        self.executor = ThreadPoolExecutor(max_workers=max(1, settings.workers), thread_name_prefix="newsbot-engine")
        self.limiter = RateLimiter(settings.ask_rate, settings.ask_window_s)
        self.feedback = FeedbackStore(Path(engine.settings.data_dir) / "feedback.jsonl")
        # answer message id -> (question, cited article ids), for follow-up replies
        self.asked: OrderedDict[int, tuple[str, list[str]]] = OrderedDict()
        register_commands(self)

    async def setup_hook(self) -> None:
        if self.settings.guild_id:
            guild = discord.Object(id=self.settings.guild_id)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
        else:
            await self.tree.sync()

    async def close(self) -> None:
        await super().close()
        self.executor.shutdown(wait=False, cancel_futures=True)

    async def run_engine(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        """Engine calls are blocking (embedding, Chroma): run them in worker threads."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, partial(fn, *args, **kwargs))

    def remember(self, message_id: int, question: str, answer: Answer) -> None:
        self.asked[message_id] = (question, [c.article_id for c in answer.citations])
        while len(self.asked) > 5000:
            self.asked.popitem(last=False)

    async def on_app_command_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        """Every command's failures, worded once: a failed check says why, an engine error says what."""
        if isinstance(error, app_commands.CheckFailure):
            await send_ephemeral(interaction, str(error) or "You can't use this command here.")
            return
        original = getattr(error, "original", error)
        if isinstance(original, NewsbotError):
            text = f"⚠️ {render.trim(render.clean(str(original)), 1900)}"
        else:
            log.error("command %s failed", interaction.command and interaction.command.name, exc_info=original)
            text = ERROR_TEXT
        await send_ephemeral(interaction, text)

    async def on_error(self, event: str, *args: Any, **kwargs: Any) -> None:
        log.exception("unhandled error in %s", event)

    # ---------------------------------------------------------------- mentions

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or self.user is None or self.user not in message.mentions:
            return
        try:
            await self.answer_mention(message)
        except Exception:
            log.exception("mention from %s failed", message.author.id)
            try:
                await message.reply(ERROR_TEXT, mention_author=False)
            except discord.HTTPException:
                pass

    async def answer_mention(self, message: discord.Message) -> None:
        question = re.sub(rf"<@!?{self.user.id}>", " ", message.content).strip()
        ns = namespace_for(message.guild.id if message.guild else None, self.settings)
        if ns is None:
            await message.reply("I only answer in servers here.", mention_author=False)
            return
        if not question:
            await message.reply("Ask me a question about the news, e.g. `@newsbot what did Zelenskyy say?`",
                                mention_author=False)
            return
        wait = self.limiter.hit(message.author.id)
        if wait:
            await message.reply(f"You're asking quickly! Try again in {wait:.0f} s.", mention_author=False)
            return
        earlier, sources = None, []
        if message.reference and message.reference.message_id:
            earlier, sources = self.asked.get(message.reference.message_id, (None, []))
        started = time.perf_counter()
        async with message.channel.typing():
            try:
                answer = await self.run_engine(self.engine.ask, question, namespace=ns, context=earlier or "",
                                               context_articles=sources)
            except NewsbotError as exc:
                await message.reply(f"⚠️ {render.trim(render.clean(str(exc)), 1900)}", mention_author=False)
                return
        embed = render.answer_embed(answer, time.perf_counter() - started)
        reply = await message.reply(embed=embed, view=AnswerView(self, ns, answer), mention_author=False)
        self.remember(reply.id, f"{earlier} {question}" if earlier else question, answer)


async def send_ephemeral(interaction: discord.Interaction, text: str) -> None:
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True)
        else:
            await interaction.response.send_message(text, ephemeral=True)
    except discord.HTTPException:
        log.exception("could not report an error to the user")


def is_admin(interaction: discord.Interaction, settings: BotSettings) -> bool:
    """Manage Server (as Discord resolved it for this interaction), or the configured role."""
    member = interaction.user
    if not isinstance(member, discord.Member):
        return False
    if interaction.permissions.manage_guild or member.guild_permissions.manage_guild:
        return True
    return bool(settings.admin_role) and any(r.name == settings.admin_role for r in member.roles)


class NotAdmin(app_commands.CheckFailure):
    """A member without Manage Server (or the admin role) used /add or /remove."""


class NoNamespace(app_commands.CheckFailure):
    """Outside a server, with no NEWSBOT_DM_NAMESPACE."""


def admins_only(what: str):
    """The check behind /add and /remove. Discord already hides them from members without Manage
    Server (`default_permissions`); a server can show them to a role in its Integrations settings, and
    this check is what lets that role's members in only if it is NEWSBOT_ADMIN_ROLE."""
    def predicate(interaction: discord.Interaction) -> bool:
        settings = interaction.client.settings
        if is_admin(interaction, settings):
            return True
        role = f" or the {settings.admin_role} role" if settings.admin_role else ""
        raise NotAdmin(f"Only members with Manage Server{role} can {what}.")
    return app_commands.check(predicate)


def in_a_namespace():
    def predicate(interaction: discord.Interaction) -> bool:
        if namespace_for(interaction.guild_id, interaction.client.settings) is None:
            raise NoNamespace("I only answer in servers here.")
        return True
    return app_commands.check(predicate)


# -------------------------------------------------------------------- views

class AnswerView(discord.ui.View):
    """Buttons under every answer: the full passages, and 👍 / 👎 feedback."""

    def __init__(self, bot: NewsBot, namespace: str, answer: Answer) -> None:
        super().__init__(timeout=24 * 3600)
        self.bot, self.namespace, self.answer = bot, namespace, answer

    @discord.ui.button(label="Show passages", style=discord.ButtonStyle.secondary)
    async def show_passages(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        messages = render.passages_messages(self.answer)
        await interaction.response.send_message(messages[0], ephemeral=True)
        for extra in messages[1:5]:
            await interaction.followup.send(extra, ephemeral=True)

    @discord.ui.button(emoji="👍", style=discord.ButtonStyle.secondary)
    async def thumbs_up(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        await self._vote(interaction, "up")

    @discord.ui.button(emoji="👎", style=discord.ButtonStyle.secondary)
    async def thumbs_down(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        await self._vote(interaction, "down")

    async def _vote(self, interaction: discord.Interaction, vote: str) -> None:
        await self.bot.run_engine(self.bot.feedback.record, namespace=self.namespace, answer=self.answer,
                                  user_id=interaction.user.id, vote=vote)
        await interaction.response.send_message("Thanks for the feedback!", ephemeral=True)


class SourcesView(discord.ui.View):
    def __init__(self, articles: list, search: str, owner_id: int) -> None:
        super().__init__(timeout=600)
        self.articles, self.search, self.owner_id, self.page = articles, search, owner_id, 0
        self.pages = max(1, -(-len(articles) // PER_PAGE))
        self._sync_buttons()

    def embed(self) -> discord.Embed:
        return render.sources_embed(self.articles, self.page, PER_PAGE, self.search)

    def _sync_buttons(self) -> None:
        self.previous.disabled = self.page == 0
        self.next.disabled = self.page >= self.pages - 1

    async def _turn(self, interaction: discord.Interaction, step: int) -> None:
        self.page = max(0, min(self.pages - 1, self.page + step))
        self._sync_buttons()
        await interaction.response.edit_message(embed=self.embed(), view=self)

    @discord.ui.button(label="◀ Previous", style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        await self._turn(interaction, -1)

    @discord.ui.button(label="Next ▶", style=discord.ButtonStyle.secondary)
    async def next(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        await self._turn(interaction, 1)


class ConfirmRemove(discord.ui.View):
    def __init__(self, bot: NewsBot, namespace: str, article_id: str, user_id: int) -> None:
        super().__init__(timeout=120)
        self.bot, self.namespace, self.article_id, self.user_id = bot, namespace, article_id, user_id

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return interaction.user.id == self.user_id

    @discord.ui.button(label="Remove", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        try:
            article = await self.bot.run_engine(self.bot.engine.remove, self.article_id, namespace=self.namespace)
            text = f"Removed `{article.id}` — **{render.clean(article.title)}** ({article.chunks} chunks)."
        except NewsbotError as exc:
            text = f"⚠️ {render.clean(str(exc))}"
        self.stop()
        await interaction.response.edit_message(content=render.trim(text, render.CONTENT), view=None)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        self.stop()
        await interaction.response.edit_message(content="Nothing was removed.", view=None)


# -------------------------------------------------------------------- commands

def register_commands(bot: NewsBot) -> None:
    tree = bot.tree

    @tree.command(name="ask", description="Ask a question about the indexed news articles")
    @app_commands.describe(question="Your question, in any language", private="Only you see the answer")
    @in_a_namespace()
    async def ask(interaction: discord.Interaction, question: app_commands.Range[str, 1, 1000], private: bool = False) -> None:
        ns = namespace_for(interaction.guild_id, bot.settings)
        wait = bot.limiter.hit(interaction.user.id)
        if wait:
            await interaction.response.send_message(
                f"You're asking quickly! Try again in {wait:.0f} s.", ephemeral=True)
            return
        started = time.perf_counter()
        await interaction.response.defer(thinking=True, ephemeral=private)
        answer = await bot.run_engine(bot.engine.ask, question, namespace=ns)
        embed = render.answer_embed(answer, time.perf_counter() - started)
        message = await interaction.followup.send(embed=embed, view=AnswerView(bot, ns, answer), ephemeral=private, wait=True)
        bot.remember(message.id, question, answer)

    @tree.command(name="add", description="Add a news article (admins): a URL, a text with a title, or a file")
    @app_commands.describe(url="Link to the article", text="The article's text", title="Title for a pasted text",
                           file="A .txt, .md or .html file")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @admins_only("add articles")
    async def add(interaction: discord.Interaction, url: str | None = None, text: str | None = None,
                  title: str | None = None, file: discord.Attachment | None = None) -> None:
        given = [x for x in (url, text, file) if x]
        if len(given) != 1:
            await interaction.response.send_message("Give exactly one of: url, text (with a title), or file.", ephemeral=True)
            return
        await interaction.response.defer(thinking=True, ephemeral=True)
        ns = namespace_for(interaction.guild_id, bot.settings)
        if url:  # member input: only an http(s) URL is fetched, never a path on this machine
            draft = await bot.run_engine(bot.engine.draft_from_url, url)
        elif text:
            draft = await bot.run_engine(bot.engine.draft_from_upload, text.encode("utf-8"), "text", title=title or "")
        else:
            if file.size > bot.settings.max_attachment_bytes:
                raise InputError(f"{file.filename}: file too large ({file.size:,} bytes; the limit is "
                                 f"{bot.settings.max_attachment_bytes:,})")
            data = await file.read()
            draft = await bot.run_engine(bot.engine.draft_from_upload, data, file.filename, title=title or "")
        drafts = [draft]
        [result] = await bot.run_engine(bot.engine.add, drafts, namespace=ns)
        if isinstance(result, AddError):
            await interaction.followup.send(f"⚠️ {render.trim(render.clean(result.message), 1900)}", ephemeral=True)
        else:
            await interaction.followup.send(render.added_message(result.status, result.article, result.chunks), ephemeral=True)

    @tree.command(name="sources", description="List this server's articles")
    @app_commands.describe(search="Only articles whose title, outlet or id contains this")
    @in_a_namespace()
    async def sources(interaction: discord.Interaction, search: str | None = None) -> None:
        ns = namespace_for(interaction.guild_id, bot.settings)
        articles = await bot.run_engine(bot.engine.sources, ns)
        if search:
            needle = search.lower()
            articles = [a for a in articles if needle in f"{a.id} {a.title} {a.source}".lower()]
        view = SourcesView(articles, search or "", interaction.user.id)
        await interaction.response.send_message(embed=view.embed(), view=view, ephemeral=True)

    @tree.command(name="remove", description="Remove an article (admins)")
    @app_commands.describe(id="The article's id (start typing a title)")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @admins_only("remove articles")
    async def remove(interaction: discord.Interaction, id: str) -> None:
        ns = namespace_for(interaction.guild_id, bot.settings)
        article = await bot.run_engine(bot.engine.article, id, namespace=ns)
        view = ConfirmRemove(bot, ns, article.id, interaction.user.id)
        await interaction.response.send_message(
            render.trim(f"Remove `{article.id}` — **{render.clean(article.title)}** ({article.chunks} chunks)?", render.CONTENT),
            view=view, ephemeral=True)

    @remove.autocomplete("id")
    async def remove_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        ns = namespace_for(interaction.guild_id, bot.settings)
        if ns is None:
            return []
        articles = await bot.run_engine(bot.engine.sources, ns)
        needle = current.lower()
        hits = [a for a in articles if needle in f"{a.id} {a.title}".lower()][:25]
        return [app_commands.Choice(name=render.trim(f"{a.title} ({a.id})", 100), value=a.id[:100]) for a in hits]


def run(env_file: str | None = None, engine_settings: "Settings | None" = None) -> None:
    """`newsbot serve`: start the bot with DISCORD_TOKEN from .env; the engine's settings as the CLI
    read them (its --data-dir and --namespace included), else from .env and the environment."""
    from newsbot.index.settings import Settings

    settings = BotSettings.load(env_file)
    if not settings.token:
        raise NewsbotError("DISCORD_TOKEN is not set (see .env.example and the README's Discord section)")
    discord.utils.setup_logging(level=logging.INFO)
    engine = Engine.open(engine_settings or Settings.load(env_file))
    try:
        NewsBot(engine, settings).run(settings.token, log_handler=None)
    finally:
        engine.close()
