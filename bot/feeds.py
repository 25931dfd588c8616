"""/feed add | list | remove (admins): the feeds a server follows. The bot polls them in the
background (`poll_due`), each engine call in a worker thread, so the gateway never waits."""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from newsbot.index.feeds import follow, poll
from newsbot.index.i18n import Messages

from . import locale, render
from .checks import admins_only, namespace_for

if TYPE_CHECKING:
    from .app import NewsBot

log = logging.getLogger("newsbot.feeds")

feed = app_commands.Group(name="feed", description=locale.described("feed"), guild_only=True,
                          default_permissions=discord.Permissions(manage_guild=True))


@feed.command(name="add", description=locale.described("feed.add"))
@app_commands.describe(url=locale.option("feed.add", "url"), post_here=locale.option("feed.add", "post_here"))
@admins_only("bot.what.feeds")
async def feed_add(interaction: discord.Interaction, url: str, post_here: bool = False) -> None:
    bot: NewsBot = interaction.client
    m = await locale.for_interaction(interaction)
    settings = bot.engine.settings
    await interaction.response.defer(thinking=True, ephemeral=True)  # the URL is fetched to check it is a feed
    followed = await bot.run_long(follow, bot.feeds, settings, namespace_for(interaction.guild_id, bot.settings), url,
                                    actor=f"discord:{interaction.user.id}",
                                    channel_id=interaction.channel_id if post_here else 0)
    said = [m.t("bot.feed_found", url=render.clean(followed.url))] if followed.url != url.strip() else []
    said.append(m.t("bot.feed_added", url=render.clean(followed.url), minutes=f"{settings.feed_interval_min:g}"))
    if post_here:
        said.append(m.t("bot.feed_announcing"))
    await interaction.followup.send(" ".join(said), ephemeral=True)


@feed.command(name="list", description=locale.described("feed.list"))
@admins_only("bot.what.feeds")
async def feed_list(interaction: discord.Interaction) -> None:
    bot: NewsBot = interaction.client
    m = await locale.for_interaction(interaction)
    feeds = await bot.run_engine(bot.feeds.list, namespace_for(interaction.guild_id, bot.settings))
    lines = []
    for f in feeds:
        state = (m.t("bot.feed_failing", error=render.trim(render.clean(f.last_error), 200)) if f.last_error else
                 m.t("bot.feed_ok", when=m.date(f.last_polled_at)) if f.last_polled_at else m.t("bot.feed_pending"))
        lines.append(m.t("bot.feed_line", url=render.clean(f.url), title=render.clean(f.title) or "–",
                         count=m.number(f.articles), state=state))
    text = "\n".join(f"• {line}" for line in lines) or m.t("bot.feed_none")
    await interaction.response.send_message(render.trim(text, render.CONTENT), ephemeral=True)


@feed.command(name="remove", description=locale.described("feed.remove"))
@app_commands.describe(url=locale.option("feed.remove", "url"))
@admins_only("bot.what.feeds")
async def feed_remove(interaction: discord.Interaction, url: str) -> None:
    bot: NewsBot = interaction.client
    m = await locale.for_interaction(interaction)
    removed = await bot.run_engine(bot.feeds.remove, namespace_for(interaction.guild_id, bot.settings), url)
    await interaction.response.send_message(
        m.t("bot.feed_removed", url=render.clean(removed.url), count=m.number(removed.articles)), ephemeral=True)


@feed_remove.autocomplete("url")
async def feed_remove_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    bot: NewsBot = interaction.client
    ns = namespace_for(interaction.guild_id, bot.settings)
    if ns is None:
        return []
    feeds = await bot.run_engine(bot.feeds.list, ns)
    return render.matching_choices(feeds, current, lambda f: f"{f.url} {f.title}", lambda f: f.title or f.url,
                                   lambda f: f.url)


COMMANDS = [feed]


async def poll_due(bot: "NewsBot") -> int:
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


ANNOUNCE_AT_MOST = 5  # per feed and poll: a feed that floods does not flood the channel


async def announce(bot: "NewsBot", f, articles: list) -> None:
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
