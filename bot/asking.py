"""Asking: the /ask command and questions that mention the bot (a reply to an answer is a follow-up)."""
from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from newsbot.index.errors import NewsbotError

from . import render
from .checks import in_a_namespace, namespace_for

if TYPE_CHECKING:
    from .app import NewsBot


@app_commands.command(name="ask", description="Ask a question about the indexed news articles")
@app_commands.describe(question="Your question, in any language", private="Only you see the answer")
@in_a_namespace()
async def ask(interaction: discord.Interaction, question: app_commands.Range[str, 1, 1000], private: bool = False) -> None:
    bot: NewsBot = interaction.client
    ns = namespace_for(interaction.guild_id, bot.settings)
    wait = bot.limiter.hit(interaction.user.id)
    if wait:
        await interaction.response.send_message(f"You're asking quickly! Try again in {wait:.0f} s.", ephemeral=True)
        return
    started = time.perf_counter()
    await interaction.response.defer(thinking=True, ephemeral=private)
    answer = await bot.run_engine(bot.engine.ask, question, namespace=ns)
    embed = render.answer_embed(answer, time.perf_counter() - started)
    message = await interaction.followup.send(embed=embed, view=bot.answer_view, ephemeral=private, wait=True)
    await bot.remember(message.id, ns, answer)


COMMANDS = [ask]


async def answer_mention(bot: "NewsBot", message: discord.Message) -> None:
    """A message that mentions the bot is a question; a reply to one of its answers, a follow-up."""
    question = re.sub(rf"<@!?{bot.user.id}>", " ", message.content).strip()
    ns = namespace_for(message.guild.id if message.guild else None, bot.settings)
    if ns is None:
        await message.reply("I only answer in servers here.", mention_author=False)
        return
    if not question:
        await message.reply("Ask me a question about the news, e.g. `@newsbot what did Zelenskyy say?`",
                            mention_author=False)
        return
    wait = bot.limiter.hit(message.author.id)
    if wait:
        await message.reply(f"You're asking quickly! Try again in {wait:.0f} s.", mention_author=False)
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
                                          context_articles=sources)
        except NewsbotError as exc:
            await message.reply(f"⚠️ {render.trim(render.clean(str(exc)), 1900)}", mention_author=False)
            return
    embed = render.answer_embed(answer, time.perf_counter() - started)
    reply = await message.reply(embed=embed, view=bot.answer_view, mention_author=False)
    await bot.remember(reply.id, ns, answer, context=f"{earlier} {question}" if earlier else question)
