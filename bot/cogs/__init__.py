"""The bot's commands, a `commands.Cog` per concern, loaded by name in `NewsBot.setup_hook`
(discord.py's examples/advanced_startup.py): asking (/ask and mentions), library (/add, /sources,
/remove), admin (/stats, /help, /language) and feeds (/feed and the poller). Each sees the bot
only through `services.Services`."""
from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from .. import errors
from ..checks import NoNamespace, namespace_for
from ..services import Services

EXTENSIONS = tuple(f"{__name__}.{name}" for name in ("asking", "library", "admin", "feeds"))


class NewsCog(commands.Cog):
    def __init__(self, bot: Services) -> None:
        self.bot = bot

    def namespace(self, interaction: discord.Interaction) -> str:
        """The namespace of the server a command runs in. Every command's checks (`guild_only`,
        `in_a_namespace`) have made sure there is one; this says so to the reader and the type checker."""
        ns = namespace_for(interaction.guild_id, self.bot.settings)
        if ns is None:
            raise NoNamespace("bot.only_servers")
        return ns

    async def of_this_server(self, interaction: discord.Interaction, fetch) -> list:
        """`fetch(namespace)` in a worker thread, for the server the interaction is in ([] outside one):
        what an autocomplete offers."""
        ns = namespace_for(interaction.guild_id, self.bot.settings)
        return [] if ns is None else await self.bot.run_engine(fetch, ns)

    async def cog_app_command_error(self, interaction: discord.Interaction,
                                    error: app_commands.AppCommandError) -> None:
        await errors.report(interaction, error)
