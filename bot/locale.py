"""Which language the bot speaks to whom, and the command tree's translations.

A server's choice (/language, kept with its namespace) or NEWSBOT_LOCALE comes first; else the
member's Discord language when we have words for it, else the server's, else English. A mention
carries no locale: there the question's own language decides. Command names and descriptions are
translated by `CatalogueTranslator` from the same catalogue (`cmd.<command>.…` keys).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, cast

import discord
from discord import app_commands

from newsbot.index.i18n.catalogue import DEFAULT, Messages, supported

from . import services

if TYPE_CHECKING:
    from .services import Services

AUTO = "auto"


def described(command: str) -> str:  # "feed.add" for a subcommand
    """A command's English description, from the catalogue like every other word (Discord needs a
    default; the translator gives the others)."""
    return Messages(DEFAULT).t(f"cmd.{command}.description")


def option(command: str, name: str) -> str:
    return Messages(DEFAULT).t(f"cmd.{command}.{name}.description")


def choice(command: str, name: str, value: str) -> app_commands.Choice:
    key = f"cmd.{command}.{name}.{value}"
    return app_commands.Choice(name=app_commands.locale_str(Messages(DEFAULT).t(key), key=key), value=value)


def pick(pinned: str | None, *candidates: str | None) -> str:
    """The first language we have, among a pin and then the candidates in order; else English."""
    for code in (None if pinned == AUTO else pinned, *candidates):
        lang = supported(code)
        if lang:
            return lang
    return DEFAULT


async def pinned(bot: "Services", namespace: str | None) -> str:
    """The server's choice, else NEWSBOT_LOCALE ("" or "auto": none). Cached; /language updates it."""
    if namespace is None:
        return bot.settings.locale
    if namespace not in bot.locales:
        bot.locales[namespace] = await bot.run_engine(bot.engine.preference, "locale", namespace)
    chosen = bot.locales[namespace]
    return (bot.settings.locale if not chosen else chosen)


async def for_interaction(interaction: discord.Interaction) -> Messages:
    from .checks import namespace_for

    bot = services.of(interaction.client)
    pin = await pinned(bot, namespace_for(interaction.guild_id, bot.settings))
    server = interaction.guild_locale.value if interaction.guild_locale else None
    return Messages(pick(pin, interaction.locale.value, server))


class CatalogueTranslator(app_commands.Translator):
    """Command names, descriptions, options and choices in each language of the catalogue; Discord
    shows them to members whose client is in that language."""

    async def translate(self, string: app_commands.locale_str, locale: discord.Locale,
                        context: app_commands.TranslationContextTypes) -> str | None:
        lang = supported(locale.value)
        if lang is None or lang == DEFAULT:
            return None
        key = string.extras.get("key") or command_key(context)
        m = Messages(lang)
        return m.t(key) if key and m.has(key) else None


def command_key(context: app_commands.TranslationContextTypes) -> str | None:
    where, data = context.location, context.data
    Location = app_commands.TranslationContextLocation
    if where in (Location.command_name, Location.group_name):
        return f"cmd.{_dotted(data)}.name"
    if where in (Location.command_description, Location.group_description):
        return f"cmd.{_dotted(data)}.description"
    if where in (Location.parameter_name, Location.parameter_description):
        param = cast(app_commands.Parameter, data)  # what discord.py passes at these locations
        part = "name" if where is Location.parameter_name else "description"
        return f"cmd.{_dotted(param.command)}.{param.name}.{part}"
    return None


def _dotted(command) -> str:
    """"feed add" -> "feed.add": a subcommand's key sits under its group's."""
    return command.qualified_name.replace(" ", ".")
