"""/feed add | list | remove (admins): the feeds a server follows. The Cog's `tasks.loop` polls the
ones that are due every NEWSBOT_FEED_CHECK_S, each engine call in a worker thread, so the gateway
never waits."""
from __future__ import annotations

import logging
import time

import discord
from discord import app_commands
from discord.ext import commands, tasks

from newsbot.index.i18n.catalogue import Messages
from newsbot.index.sources.feeds import follow, poll

from .. import locale, render, services
from ..checks import admins_only
from ..services import Services
from . import NewsCog

log = logging.getLogger("newsbot.feeds")

ANNOUNCE_AT_MOST = 5  # per feed and poll: a feed that floods does not flood the channel


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class Feeds(NewsCog, commands.GroupCog, group_name="feed", group_description=locale.described("feed")):
    async def cog_load(self) -> None:
        self.poller.change_interval(seconds=self.bot.settings.feed_check_s)
        self.poller.start()

    async def cog_unload(self) -> None:
        self.poller.cancel()

    @tasks.loop(seconds=60)
    async def poller(self) -> None:
        try:
            await poll_due(self.bot)
        except Exception:  # a feed's failure is its own; the poller goes on
            log.exception("polling feeds failed")

    @poller.before_loop
    async def _until_ready(self) -> None:
        await self.bot.wait_until_ready()

    @app_commands.command(name="add", description=locale.described("feed.add"))
    @app_commands.describe(url=locale.option("feed.add", "url"), post_here=locale.option("feed.add", "post_here"))
    @admins_only("bot.what.feeds")
    async def feed_add(self, interaction: discord.Interaction, url: str, post_here: bool = False) -> None:
        bot = self.bot
        m = await locale.for_interaction(interaction)
        settings = bot.engine.settings
        await interaction.response.defer(thinking=True, ephemeral=True)  # the URL is fetched to check it is a feed
        followed = await bot.run_long(follow, bot.feeds, settings, self.namespace(interaction),
                                      url, actor=f"discord:{interaction.user.id}",
                                      channel_id=interaction.channel_id if post_here else 0)
        said = [m.t("bot.feed_found", url=render.clean(followed.url))] if followed.url != url.strip() else []
        said.append(m.t("bot.feed_added", url=render.clean(followed.url), minutes=f"{settings.feed_interval_min:g}"))
        if post_here:
            said.append(m.t("bot.feed_announcing"))
        await interaction.followup.send(" ".join(said), ephemeral=True)

    @app_commands.command(name="list", description=locale.described("feed.list"))
    @admins_only("bot.what.feeds")
    async def feed_list(self, interaction: discord.Interaction) -> None:
        bot = self.bot
        m = await locale.for_interaction(interaction)
        feeds = await bot.run_engine(bot.feeds.list, self.namespace(interaction))
        lines = []
        for f in feeds:
            state = (m.t("bot.feed_failing", error=render.trim(render.clean(f.last_error), 200)) if f.last_error else
                     m.t("bot.feed_ok", when=m.date(f.last_polled_at)) if f.last_polled_at else m.t("bot.feed_pending"))
            lines.append(m.t("bot.feed_line", url=render.clean(f.url), title=render.clean(f.title) or "–",
                             count=m.number(f.articles), state=state))
        text = "\n".join(f"• {line}" for line in lines) or m.t("bot.feed_none")
        await interaction.response.send_message(render.trim(text, render.CONTENT), ephemeral=True)

    @app_commands.command(name="remove", description=locale.described("feed.remove"))
    @app_commands.describe(url=locale.option("feed.remove", "url"))
    @admins_only("bot.what.feeds")
    async def feed_remove(self, interaction: discord.Interaction, url: str) -> None:
        bot = self.bot
        m = await locale.for_interaction(interaction)
        removed = await bot.run_engine(bot.feeds.remove, self.namespace(interaction), url)
        await interaction.response.send_message(
            m.t("bot.feed_removed", url=render.clean(removed.url), count=m.number(removed.articles)), ephemeral=True)

    @feed_remove.autocomplete("url")
    async def feed_remove_autocomplete(self, interaction: discord.Interaction,
                                       current: str) -> list[app_commands.Choice[str]]:
        feeds = await self.of_this_server(interaction, self.bot.feeds.list)
        return render.matching_choices(feeds, current, lambda f: f"{f.url} {f.title}", lambda f: f.title or f.url,
                                       lambda f: f.url)


async def poll_due(bot: Services) -> int:
    """Poll every feed that is due, of the servers the bot serves; how many were polled."""
    due = await bot.run_engine(bot.feeds.due, time.time())
    polled = 0
    for f in due:
        if f.namespace.startswith("guild-") and not bot.settings.allows_guild(int(f.namespace[len("guild-"):])):
            continue
        try:
            result = await bot.run_long(poll, bot.engine, bot.feeds, f, bot.engine.settings.feed_max_per_poll)
        except Exception:  # noqa: BLE001 - the store failed under this feed: the others are still polled
            log.exception("feed %s of %s: the poll failed", f.url, f.namespace)
            continue
        polled += 1
        if result.status == "error":
            log.warning("feed %s of %s: %s", f.url, f.namespace, result.error)
        elif result.added or result.replaced:
            log.info("feed %s of %s: %d added, %d replaced", f.url, f.namespace, result.added, result.replaced)
        if f.channel_id and result.new_articles:
            await announce(bot, await bot.run_engine(bot.feeds.get, f.namespace, f.url), result.new_articles)
    return polled


async def announce(bot: Services, f, articles: list) -> None:
    """Post the new articles in the channel the admin chose, in the server's language."""
    channel = bot.get_channel(f.channel_id)
    if channel is None or getattr(channel, "guild", None) is None or f"guild-{channel.guild.id}" != f.namespace:
        return  # gone, or not of this server: never post elsewhere
    server = channel.guild.preferred_locale.value if channel.guild.preferred_locale else None
    m = Messages(locale.pick(await locale.pinned(bot, f.namespace), server))
    for article in articles[:ANNOUNCE_AT_MOST]:
        date = m.date(article.published_at) if article.published_at else m.t("bot.no_date")
        text = m.t("bot.feed_new", feed=render.clean(f.title or f.url), title=render.clean(article.title), date=date,
                   url=f"<{article.url}>" if article.url else "")
        try:
            await channel.send(render.trim(text, render.CONTENT))
        except discord.HTTPException:
            log.warning("cannot announce in channel %s", f.channel_id, exc_info=True)
            return


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Feeds(services.of(bot)))
