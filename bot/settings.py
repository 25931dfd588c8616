"""The bot's own settings (Discord-specific), read like the engine's: .env, then the environment."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

from newsbot.index.errors import ConfigError
from newsbot.index.settings import read_env


@dataclass(frozen=True)
class BotSettings:
    token: str = ""
    guild_id: int | None = None  # sync commands instantly to this server (development)
    admin_role: str = ""  # members with this role may /add and /remove, besides Manage Server
    dm_namespace: str = ""  # answer DMs from this namespace; empty: DMs are refused
    ask_rate: int = 5  # questions per user ...
    ask_window_s: float = 60.0  # ... per this many seconds
    max_attachment_bytes: int = 2_000_000
    workers: int = 2  # engine calls run in this many threads, off the event loop

    @classmethod
    def load(cls, env_file: str | os.PathLike | None = None) -> "BotSettings":
        env = read_env(env_file)
        try:
            guild = env.get("DISCORD_GUILD_ID", "").strip()
            return cls(
                token=env.get("DISCORD_TOKEN", "").strip(),
                guild_id=int(guild) if guild else None,
                admin_role=env.get("NEWSBOT_ADMIN_ROLE", "").strip(),
                dm_namespace=env.get("NEWSBOT_DM_NAMESPACE", "").strip(),
                ask_rate=int(env.get("NEWSBOT_ASK_RATE") or cls.ask_rate),
                ask_window_s=float(env.get("NEWSBOT_ASK_WINDOW_S") or cls.ask_window_s),
                max_attachment_bytes=int(env.get("NEWSBOT_MAX_ATTACHMENT_BYTES") or cls.max_attachment_bytes),
                workers=int(env.get("NEWSBOT_BOT_WORKERS") or cls.workers),
            )
        except ValueError as exc:
            raise ConfigError(f"invalid bot setting: {exc}") from None

    def __post_init__(self) -> None:
        rules = {
            "NEWSBOT_ASK_RATE": (self.ask_rate, 1 <= self.ask_rate <= 10_000, "a whole number from 1 to 10000"),
            "NEWSBOT_ASK_WINDOW_S": (self.ask_window_s, math.isfinite(self.ask_window_s) and self.ask_window_s > 0,
                                     "a positive number of seconds"),
            "NEWSBOT_MAX_ATTACHMENT_BYTES": (self.max_attachment_bytes, self.max_attachment_bytes > 0,
                                             "a positive number of bytes"),
            "NEWSBOT_BOT_WORKERS": (self.workers, 1 <= self.workers <= 64, "a whole number from 1 to 64"),
            "DISCORD_GUILD_ID": (self.guild_id, self.guild_id is None or self.guild_id > 0, "a server id (digits)"),
        }
        for name, (value, ok, why) in rules.items():
            if not ok:
                raise ConfigError(f"invalid bot setting {name}={value!r}: {why}")
