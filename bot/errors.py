"""Every command's failures, worded once in the member's language: a failed check says why, an
engine error says what, anything else is logged and the member gets a short apology. Every Cog's
`cog_app_command_error` is this (`cogs.NewsCog`)."""
from __future__ import annotations

import logging

import discord
from discord import app_commands

from newsbot.index.errors import NewsbotError

from . import locale, render
from .checks import NotAdmin

log = logging.getLogger("newsbot.bot")


async def report(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
    m = await locale.for_interaction(interaction)
    if isinstance(error, NotAdmin):
        text = (m.t("bot.not_admin_or_role", role=error.role, what=m.t(error.what)) if error.role
                else m.t("bot.not_admin", what=m.t(error.what)))
    elif isinstance(error, app_commands.CheckFailure):
        text = m.t(str(error)) if m.has(str(error)) else str(error)
    elif isinstance(original := getattr(error, "original", error), NewsbotError):
        text = m.t("bot.problem", detail=render.trim(render.clean(str(original)), 1900))
    else:
        log.error("command %s failed", interaction.command and interaction.command.name, exc_info=original)
        text = m.t("bot.error")
    await send_ephemeral(interaction, text)


async def send_ephemeral(interaction: discord.Interaction, text: str) -> None:
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True)
        else:
            await interaction.response.send_message(text, ephemeral=True)
    except discord.HTTPException:
        log.exception("could not report an error to the user")
