"""The real bot (unmodified discord.py) in its own thread against the fake Discord, with a real engine."""
from __future__ import annotations

import logging

from newsbot.bot.app import NewsBot
from newsbot.bot.settings import BotSettings
from newsbot.index.engine import Engine
from support.fake_discord import ClientThread, FakeDiscord

from conftest import SAMPLES


class LogCapture(logging.Handler):
    """Every log record of discord.py and the bot, at DEBUG, to check what logs may contain."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        for name in ("discord", "newsbot"):
            logger = logging.getLogger(name)
            logger.addHandler(self)
            logger.setLevel(logging.DEBUG)

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record) + (logging.Formatter().formatException(record.exc_info) if record.exc_info else ""))

    def detach(self) -> None:
        for name in ("discord", "newsbot"):
            logging.getLogger(name).removeHandler(self)


class Harness:
    """The fake Discord, a real engine, and the bot running in its own thread and loop."""

    def __init__(self, engine: Engine, settings: BotSettings) -> None:
        self.fake = FakeDiscord().start()
        self.log = LogCapture()
        self.engine = engine
        self.admin = FakeDiscord.user("alice")
        self.member = FakeDiscord.user("bob")
        self.guild = self.fake.add_guild("News Club", [{"user": self.admin, "permissions": FakeDiscord.ADMIN},
                                                         {"user": self.member, "permissions": FakeDiscord.MEMBER}])
        self.other = self.fake.add_guild("Other Server", [{"user": self.admin, "permissions": FakeDiscord.ADMIN}])
        self.gid, self.other_gid = self.guild["id"], self.other["id"]
        engine.add(engine.drafts_from_jsonl(str(SAMPLES / "articles.jsonl")), namespace=f"guild-{self.gid}")
        self.settings = settings
        self.runner = ClientThread(self.fake, lambda **options: NewsBot(engine, settings, **options))

    @property
    def bot(self) -> NewsBot:
        return self.runner.client

    @property
    def crashed(self) -> BaseException | None:
        return self.runner.crashed

    def start(self) -> "Harness":
        self.runner.start()
        return self

    def stop(self) -> None:
        self.runner.stop()
        self.fake.stop()
        self.log.detach()

    def ask(self, question: str, user=None, gid=None, **options):
        inter = self.fake.slash(gid or self.gid, user or self.member, "ask", {"question": question, **options})
        return inter, self.fake.wait_reply(inter)


def embed_of(message: dict) -> dict:
    assert message["embeds"], message
    return message["embeds"][0]
