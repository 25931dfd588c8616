"""For everyone, /help; for admins, /stats (articles, chunks, disk, the latest additions, the cap)."""
from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from .. import locale, render, services
from ..checks import admins_only
from . import NewsCog


class Admin(NewsCog):
    @app_commands.command(name="stats", description=locale.described("stats"))
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @admins_only("bot.what.stats")
    async def stats(self, interaction: discord.Interaction) -> None:
        bot = self.bot
        await interaction.response.defer(thinking=True, ephemeral=True)
        m = await locale.for_interaction(interaction)
        numbers = await bot.run_engine(bot.engine.stats, self.namespace(interaction))
        await interaction.followup.send(embed=render.stats_embed(numbers, m), ephemeral=True)


    @app_commands.command(name="help", description=locale.described("help"))
    async def help_(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(embed=render.help_embed(await locale.for_interaction(interaction)),
                                                ephemeral=True)


    @app_commands.command(name="language", description=locale.described("language"))
    @app_commands.describe(choice=locale.option("language", "choice"))
    @app_commands.choices(choice=[locale.choice("language", "choice", v) for v in ("auto", "en", "id")])
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @admins_only("bot.what.language")
    async def language(self, interaction: discord.Interaction, choice: app_commands.Choice[str]) -> None:
        """Pin this server's language (kept with its namespace, so it survives restarts), or follow members again."""
        bot = self.bot
        ns = self.namespace(interaction)
        await bot.run_engine(bot.engine.set_preference, "locale", choice.value, namespace=ns,
                             actor=f"discord:{interaction.user.id}")
        bot.locales[ns] = choice.value
        m = await locale.for_interaction(interaction)
        text = m.t("bot.language_auto") if choice.value == locale.AUTO else m.t("bot.language_set",
                                                                               language=m.t(f"language.{choice.value}"))
        await interaction.response.send_message(text, ephemeral=True)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Admin(services.of(bot)))
