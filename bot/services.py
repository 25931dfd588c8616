"""What the Cogs, views and locale helpers need of the bot: declared here as a Protocol, so that
none of them imports `app.py` (which loads them): no import circle, and a Cog can be read, typed
and tested against this small surface alone."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Protocol, cast

if TYPE_CHECKING:
    import discord

    from newsbot.index.engine import Engine
    from newsbot.index.records import Answer
    from newsbot.index.sources.feeds import FeedStore
    from newsbot.index.storage.feedback import FeedbackStore

    from .answer_log import AnswerLog
    from .ratelimit import RateLimiter
    from .settings import BotSettings


class Services(Protocol):
    engine: "Engine"
    settings: "BotSettings"
    feeds: "FeedStore"  # the feeds servers follow
    feedback: "FeedbackStore"  # 👍 / 👎 on answers
    answers: "AnswerLog"  # every answer shown, by message id
    limiter: "RateLimiter"  # questions per member
    locales: dict[str, str]  # namespace -> its /language choice ("" none, "auto", "en", "id")

    @property
    def user(self) -> "discord.ClientUser | None": ...

    def get_channel(self, channel_id: int, /) -> Any: ...

    async def wait_until_ready(self) -> None: ...

    async def run_engine(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        """A blocking engine call, in a worker thread."""

    async def run_long(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        """A long one (adds, fetches, polls): never on the worker kept for questions."""

    async def remember(self, message_id: int, namespace: str, answer: "Answer", context: str = "") -> None:
        """Keep an answer shown, for its buttons and follow-up replies."""


def of(client: "discord.Client") -> Services:
    """The bot behind an interaction or a Cog's `setup`, seen as `Services`: discord.py types them
    as a plain `Client`, and only `NewsBot` ever loads these Cogs or receives their interactions."""
    return cast(Services, client)
