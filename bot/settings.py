"""The bot's own settings (Discord-specific), read like the engine's: .env, then the environment."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

from newsbot.index.errors import ConfigError
from newsbot.index.settings import Declared, read_env, setting


def _guild(raw: str) -> int:
    return int(raw.strip())


def _ids(raw: str) -> frozenset[int]:
    """Comma- or space-separated Discord ids (Developer Mode → right click → Copy ID)."""
    return frozenset(int(part) for part in raw.replace(",", " ").split())


@dataclass(frozen=True)
class BotSettings(Declared):
    """Declared like the engine's settings (`newsbot.index.settings.setting`), read from .env then the environment."""

    KIND = "bot setting"

    token: str = setting("", "DISCORD_TOKEN", repr=False)
    guild_id: int | None = setting(None, "DISCORD_GUILD_ID", _guild, lambda v: v is None or v > 0,
                                   "a server id (digits)")  # sync commands instantly to this server (development)
    guilds: frozenset[int] = setting(frozenset(), "NEWSBOT_GUILDS", _ids, lambda v: all(i > 0 for i in v),
                                     "server ids (digits), separated by commas")  # empty: any server may use the bot
    channels: frozenset[int] = setting(frozenset(), "NEWSBOT_CHANNELS", _ids, lambda v: all(i > 0 for i in v),
                                       "channel ids (digits), separated by commas")  # empty: mentions answered anywhere
    locale: str = setting("", "NEWSBOT_LOCALE", lambda raw: raw.strip().lower(),
                          lambda v: v in ("", "auto", "en", "id"),
                          "en, id, or auto (each member's language)")  # every server's default; /language overrides
    # members with this role may /add and /remove, besides Manage Server
    admin_role: str = setting("", "NEWSBOT_ADMIN_ROLE")
    dm_namespace: str = setting("", "NEWSBOT_DM_NAMESPACE")  # answer DMs from this namespace; empty: DMs are refused
    ask_rate: int = setting(5, "NEWSBOT_ASK_RATE", int, lambda v: 1 <= v <= 10_000,
                            "a whole number from 1 to 10000")  # questions per user ...
    ask_window_s: float = setting(60.0, "NEWSBOT_ASK_WINDOW_S", float, lambda v: math.isfinite(v) and v > 0,
                                  "a positive number of seconds")  # ... per this many seconds
    max_attachment_bytes: int = setting(2_000_000, "NEWSBOT_MAX_ATTACHMENT_BYTES", int, lambda v: v > 0,
                                        "a positive number of bytes")
    health_interval_s: float = setting(15.0, "NEWSBOT_HEALTH_INTERVAL_S", float,
                                       lambda v: math.isfinite(v) and 0 < v <= 3600,
                                       "seconds, above 0 and at most 3600")  # how often serve-health.json is written
    feed_check_s: float = setting(60.0, "NEWSBOT_FEED_CHECK_S", float, lambda v: math.isfinite(v) and 0 < v <= 3600,
                                  "seconds, above 0 and at most 3600")  # how often the bot looks for feeds that are due
    workers: int = setting(2, "NEWSBOT_BOT_WORKERS", int, lambda v: 1 <= v <= 64,
                           "a whole number from 1 to 64")  # engine calls run in this many threads, off the event loop
    # Sharding, for a bot in many servers: Discord splits them into NEWSBOT_SHARD_COUNT shards; this process runs
    # NEWSBOT_SHARD_IDS of them (default all), so several processes share the servers on one Chroma server.
    shard_count: int | None = setting(None, "NEWSBOT_SHARD_COUNT", int, lambda v: v is None or 1 <= v <= 10_000,
                                      "a whole number from 1 to 10000")
    shard_ids: tuple[int, ...] = setting((), "NEWSBOT_SHARD_IDS", lambda raw: tuple(sorted(_ids(raw))),
                                         lambda v: all(i >= 0 for i in v), "shard numbers (0, 1, ...), separated by "
                                         "commas")

    def __post_init__(self) -> None:
        self.check_fields()
        if self.shard_ids and self.shard_count is None:
            raise ConfigError("invalid bot setting NEWSBOT_SHARD_IDS: it needs NEWSBOT_SHARD_COUNT (how many shards "
                              "there are in all)")
        if self.shard_count is not None and any(i >= self.shard_count for i in self.shard_ids):
            raise ConfigError(f"invalid bot setting NEWSBOT_SHARD_IDS={','.join(map(str, self.shard_ids))}: shard "
                              f"numbers run from 0 to {self.shard_count - 1} (NEWSBOT_SHARD_COUNT={self.shard_count})")

    @classmethod
    def load(cls, env_file: str | os.PathLike | None = None) -> "BotSettings":
        return cls(**cls.from_env(read_env(env_file)))

    def allows_guild(self, guild_id: int | None) -> bool:
        return guild_id is None or not self.guilds or guild_id in self.guilds

    def answers_in(self, channel_id: int, parent_id: int | None = None) -> bool:
        """Mentions are answered in NEWSBOT_CHANNELS (a thread counts as its parent channel)."""
        return (not self.channels or channel_id in self.channels
                or (parent_id is not None and parent_id in self.channels))
