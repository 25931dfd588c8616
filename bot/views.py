"""The buttons under the bot's messages: an answer's passages and feedback, paging the sources,
confirming a removal."""
from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from newsbot.index.errors import NewsbotError
from newsbot.index.i18n.catalogue import Messages

from . import locale, render

if TYPE_CHECKING:
    from .services import Services

PER_PAGE = 10


class AnswerView(discord.ui.View):
    """Buttons under every answer: the full passages, and 👍 / 👎 feedback.

    Persistent: no timeout, fixed custom ids, registered once in `setup_hook`; a click finds its
    answer by the message it is on (the answer log), so buttons keep working after a restart."""

    def __init__(self, bot: "Services", m: Messages | None = None) -> None:
        super().__init__(timeout=None)
        self.bot = bot
        # the custom ids, not labels, route clicks
        self.show_passages.label = (m or Messages()).t("bot.button.passages")

    async def _shown(self, interaction: discord.Interaction):
        shown = await self.bot.run_engine(self.bot.answers.get, interaction.message.id) if interaction.message else None
        if shown is None:
            m = await locale.for_interaction(interaction)
            await interaction.response.send_message(m.t("bot.answer_gone"), ephemeral=True)
        return shown

    @discord.ui.button(label="Show passages", style=discord.ButtonStyle.secondary, custom_id="newsbot:passages")
    async def show_passages(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        shown = await self._shown(interaction)
        if shown is None:
            return
        messages = render.passages_messages(shown[2], await locale.for_interaction(interaction))
        await interaction.response.send_message(messages[0], ephemeral=True)
        for extra in messages[1:5]:
            await interaction.followup.send(extra, ephemeral=True)

    @discord.ui.button(emoji="👍", style=discord.ButtonStyle.secondary, custom_id="newsbot:vote:up")
    async def thumbs_up(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        await self._vote(interaction, "up")

    @discord.ui.button(emoji="👎", style=discord.ButtonStyle.secondary, custom_id="newsbot:vote:down")
    async def thumbs_down(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        await self._vote(interaction, "down")

    async def _vote(self, interaction: discord.Interaction, vote: str) -> None:
        shown = await self._shown(interaction)
        if shown is None:
            return
        namespace, _, answer = shown
        await self.bot.run_engine(self.bot.feedback.record, namespace=namespace, answer=answer,
                                  user_id=interaction.user.id, vote=vote)
        m = await locale.for_interaction(interaction)
        await interaction.response.send_message(m.t("bot.thanks"), ephemeral=True)


class SourcesView(discord.ui.View):
    def __init__(self, articles: list, search: str, owner_id: int, m: Messages | None = None) -> None:
        super().__init__(timeout=600)
        self.articles, self.search, self.owner_id, self.page = articles, search, owner_id, 0
        self.m = m or Messages()
        self.pages = max(1, -(-len(articles) // PER_PAGE))
        self.previous.label, self.next.label = self.m.t("bot.button.previous"), self.m.t("bot.button.next")
        self._sync_buttons()

    def embed(self) -> discord.Embed:
        return render.sources_embed(self.articles, self.page, PER_PAGE, self.search, self.m)

    def _sync_buttons(self) -> None:
        self.previous.disabled = self.page == 0
        self.next.disabled = self.page >= self.pages - 1

    async def _turn(self, interaction: discord.Interaction, step: int) -> None:
        self.page = max(0, min(self.pages - 1, self.page + step))
        self._sync_buttons()
        await interaction.response.edit_message(embed=self.embed(), view=self)

    @discord.ui.button(label="◀ Previous", style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        await self._turn(interaction, -1)

    @discord.ui.button(label="Next ▶", style=discord.ButtonStyle.secondary)
    async def next(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        await self._turn(interaction, 1)


class ConfirmRemove(discord.ui.View):
    def __init__(self, bot: "Services", namespace: str, article_id: str, user_id: int,
                 m: Messages | None = None) -> None:
        super().__init__(timeout=120)
        self.bot, self.namespace, self.article_id, self.user_id = bot, namespace, article_id, user_id
        self.m = m or Messages()
        self.confirm.label, self.cancel.label = self.m.t("bot.button.remove"), self.m.t("bot.button.cancel")

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return interaction.user.id == self.user_id

    @discord.ui.button(label="Remove", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        try:
            article = await self.bot.run_engine(self.bot.engine.remove, self.article_id, namespace=self.namespace,
                                                actor=f"discord:{interaction.user.id}")
            text = self.m.t("bot.removed", id=article.id, title=render.clean(article.title), chunks=article.chunks)
        except NewsbotError as exc:
            text = self.m.t("bot.problem", detail=render.clean(str(exc)))
        self.stop()
        await interaction.response.edit_message(content=render.trim(text, render.CONTENT), view=None)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        self.stop()
        await interaction.response.edit_message(content=self.m.t("bot.nothing_removed"), view=None)
