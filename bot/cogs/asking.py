"""Asking: the /ask command and questions that mention the bot (a reply to an answer is a follow-up)."""
from __future__ import annotations

import logging
import re
import time

import discord
from discord import app_commands
from discord.ext import commands

from newsbot.index.errors import NewsbotError
from newsbot.index.i18n.catalogue import Messages
from newsbot.index.text.language import detect_language

from .. import locale, render, services
from ..checks import in_a_namespace, namespace_for
from ..services import Services
from ..views import AnswerView
from . import NewsCog

log = logging.getLogger("newsbot.bot")


class Asking(NewsCog):
    @app_commands.command(name="ask", description=locale.described("ask"))
    @app_commands.describe(question=locale.option("ask", "question"), private=locale.option("ask", "private"))
    @in_a_namespace()
    async def ask(self, interaction: discord.Interaction, question: app_commands.Range[str, 1, 1000],
                  private: bool = False) -> None:
        bot = self.bot
        ns = self.namespace(interaction)
        m = await locale.for_interaction(interaction)
        wait = bot.limiter.hit(interaction.user.id)
        if wait:
            await interaction.response.send_message(m.t("bot.rate_limited", seconds=f"{wait:.0f}"), ephemeral=True)
            return
        started = time.perf_counter()
        await interaction.response.defer(thinking=True, ephemeral=private)
        answer = await bot.run_engine(bot.engine.ask, question, namespace=ns, answer_lang=m.lang)
        embed = render.answer_embed(answer, time.perf_counter() - started, m)
        message = await interaction.followup.send(embed=embed, view=AnswerView(bot, m), ephemeral=private, wait=True)
        await bot.remember(message.id, ns, answer)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        bot = self.bot
        if message.author.bot or bot.user is None or bot.user not in message.mentions:
            return
        if message.guild is not None and not bot.settings.allows_guild(message.guild.id):
            return
        if message.guild is not None and not bot.settings.answers_in(message.channel.id,
                                                                     getattr(message.channel, "parent_id", None)):
            return  # NEWSBOT_CHANNELS: mentions elsewhere are not for the bot
        try:
            await answer_mention(bot, message)
        except Exception:
            log.exception("mention from %s failed", message.author.id)
            try:
                await message.reply(Messages(locale.pick(bot.settings.locale)).t("bot.error"), mention_author=False)
            except discord.HTTPException:
                pass


async def answer_mention(bot: Services, message: discord.Message) -> None:
    """A message that mentions the bot is a question; a reply to one of its answers, a follow-up."""
    me = bot.user.id if bot.user else ""  # set from login on: on_message checked it
    question = re.sub(rf"<@!?{me}>", " ", message.content).strip()
    ns = namespace_for(message.guild.id if message.guild else None, bot.settings)
    server = message.guild.preferred_locale.value if message.guild and message.guild.preferred_locale else None
    pin = await locale.pinned(bot, ns)
    # No locale comes with a message: the question's own language decides, else the server's.
    m = Messages(locale.pick(pin, detect_language(question) if question else None, server))
    if ns is None:
        await message.reply(m.t("bot.only_servers"), mention_author=False)
        return
    if not question:
        await message.reply(m.t("bot.mention_hint"), mention_author=False)
        return
    wait = bot.limiter.hit(message.author.id)
    if wait:
        await message.reply(m.t("bot.rate_limited", seconds=f"{wait:.0f}"), mention_author=False)
        return
    earlier, sources = None, []
    if message.reference and message.reference.message_id:
        shown = await bot.run_engine(bot.answers.get, message.reference.message_id)
        if shown is not None and shown[0] == ns:
            earlier, sources = shown[1], [c.article_id for c in shown[2].citations]
    started = time.perf_counter()
    async with message.channel.typing():
        try:
            answer = await bot.run_engine(bot.engine.ask, question, namespace=ns, context=earlier or "",
                                          context_articles=sources, answer_lang=m.lang)
        except NewsbotError as exc:
            await message.reply(m.t("bot.problem", detail=render.trim(render.clean(str(exc)), 1900)),
                                mention_author=False)
            return
    embed = render.answer_embed(answer, time.perf_counter() - started, m)
    reply = await message.reply(embed=embed, view=AnswerView(bot, m), mention_author=False)
    await bot.remember(reply.id, ns, answer, context=f"{earlier} {question}" if earlier else question)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Asking(services.of(bot)))
