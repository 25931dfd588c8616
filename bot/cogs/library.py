"""The server's library of articles: /add and /remove (admins), /sources (everyone)."""
from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from newsbot.index.records import AddError

from .. import locale, render, services
from ..checks import admins_only, in_a_namespace
from ..views import ConfirmRemove, SourcesView
from . import NewsCog


class Library(NewsCog):
    @app_commands.command(name="add", description=locale.described("add"))
    @app_commands.describe(url=locale.option("add", "url"), text=locale.option("add", "text"),
                           title=locale.option("add", "title"), file=locale.option("add", "file"))
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @admins_only("bot.what.add")
    async def add(self, interaction: discord.Interaction, url: str | None = None, text: str | None = None,
                  title: str | None = None, file: discord.Attachment | None = None) -> None:
        bot = self.bot
        m = await locale.for_interaction(interaction)
        given = [x for x in (url, text, file) if x]
        if len(given) != 1:
            await interaction.response.send_message(m.t("bot.give_one"), ephemeral=True)
            return
        await interaction.response.defer(thinking=True, ephemeral=True)
        ns = self.namespace(interaction)
        if url:  # member input: only an http(s) URL is fetched, never a path on this machine
            draft = await bot.run_long(bot.engine.draft_from_url, url)
        elif text:
            draft = await bot.run_long(bot.engine.draft_from_upload, text.encode("utf-8"), "text", title=title or "")
        else:
            assert file is not None  # the one given
            if file.size > bot.settings.max_attachment_bytes:
                await interaction.followup.send(m.t("bot.problem", detail=m.t(
                    "bot.file_too_large", name=render.clean(file.filename), size=m.number(file.size),
                    limit=m.number(bot.settings.max_attachment_bytes))), ephemeral=True)
                return
            data = await file.read()
            draft = await bot.run_long(bot.engine.draft_from_upload, data, file.filename, title=title or "")
        [result] = await bot.run_long(bot.engine.add, [draft], namespace=ns, actor=f"discord:{interaction.user.id}")
        if isinstance(result, AddError):
            await interaction.followup.send(m.t("bot.problem", detail=render.trim(render.clean(result.message), 1900)),
                                            ephemeral=True)
        else:
            await interaction.followup.send(render.added_message(result.status, result.article, result.chunks, m),
                                            ephemeral=True)


    @app_commands.command(name="sources", description=locale.described("sources"))
    @app_commands.describe(search=locale.option("sources", "search"))
    @in_a_namespace()
    async def sources(self, interaction: discord.Interaction, search: str | None = None) -> None:
        bot = self.bot
        ns = self.namespace(interaction)
        articles = await bot.run_engine(bot.engine.sources, ns)
        if search:
            needle = search.lower()
            articles = [a for a in articles if needle in f"{a.id} {a.title} {a.source}".lower()]
        view = SourcesView(articles, search or "", interaction.user.id, await locale.for_interaction(interaction))
        await interaction.response.send_message(embed=view.embed(), view=view, ephemeral=True)


    @app_commands.command(name="remove", description=locale.described("remove"))
    @app_commands.describe(id=locale.option("remove", "id"))
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @admins_only("bot.what.remove")
    async def remove(self, interaction: discord.Interaction, id: str) -> None:
        bot = self.bot
        ns = self.namespace(interaction)
        m = await locale.for_interaction(interaction)
        article = await bot.run_engine(bot.engine.article, id, namespace=ns)
        view = ConfirmRemove(bot, ns, article.id, interaction.user.id, m)
        await interaction.response.send_message(
            render.trim(m.t("bot.remove_confirm", id=article.id, title=render.clean(article.title),
                            chunks=article.chunks),
                        render.CONTENT), view=view, ephemeral=True)

    @remove.autocomplete("id")
    async def remove_autocomplete(self, interaction: discord.Interaction,
                                  current: str) -> list[app_commands.Choice[str]]:
        articles = await self.of_this_server(interaction, self.bot.engine.sources)
        return render.matching_choices(articles, current, lambda a: f"{a.id} {a.title}",
                                       lambda a: f"{a.title} ({a.id})",
                                       lambda a: a.id)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Library(services.of(bot)))
