"""For everyone, /help; for admins, /stats (articles, chunks, disk, the latest additions, the cap)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from . import render
from .checks import admins_only, namespace_for

if TYPE_CHECKING:
    from .app import NewsBot


@app_commands.command(name="stats", description="This server's articles: counts, disk used, latest additions (admins)")
@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
@admins_only("see the stats")
async def stats(interaction: discord.Interaction) -> None:
    bot: NewsBot = interaction.client
    await interaction.response.defer(thinking=True, ephemeral=True)
    numbers = await bot.run_engine(bot.engine.stats, namespace_for(interaction.guild_id, bot.settings))
    await interaction.followup.send(embed=render.stats_embed(numbers), ephemeral=True)


@app_commands.command(name="help", description="How to ask, browse and manage the articles")
async def help_(interaction: discord.Interaction) -> None:
    await interaction.response.send_message(embed=render.help_embed(), ephemeral=True)


COMMANDS = [stats, help_]
