"""Is newsbot healthy? For `newsbot serve`, the bot writes its state to `serve-health.json` in
the data directory every few seconds (gateway connected, latency of the last heartbeat); `newsbot
health` reads it, or opens the store and loads the model itself when no bot holds the index.

Before either, it checks the files: the data directory and its vector store must exist (health
never creates them: a deleted `chroma.sqlite3` once gave "ok … 0 articles" and a new empty store),
and every SQLite file in it must pass SQLite's `integrity_check`, opened read-only."""
from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from newsbot.index.storage.failures import LOW_DISK_BYTES, free_bytes
from newsbot.index.storage.journal import alive

FILE = "serve-health.json"
MAX_AGE_S = 60.0


@dataclass(frozen=True)
class ServeStatus:
    pid: int
    written_at: float  # unix time
    connected: bool  # the gateway is connected and READY
    latency_ms: float | None  # the last gateway heartbeat's round trip
    guilds: int
    data_dir: str


def write_status(data_dir: Path, status: ServeStatus) -> None:
    """Replace the status file atomically (a reader never sees half of it)."""
    path = Path(data_dir) / FILE
    tmp = path.with_name(f".{FILE}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(status)), encoding="utf-8")
    os.replace(tmp, path)


def read_status(data_dir: Path) -> ServeStatus | None:
    try:
        return ServeStatus(**json.loads((Path(data_dir) / FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def judge(status: ServeStatus | None, max_age_s: float = MAX_AGE_S, now: float | None = None) -> tuple[bool, str]:
    """(healthy, one line saying why) for a bot's status."""
    if status is None:
        return False, "no bot status: `newsbot serve` is not running on this data directory"
    age = (now or time.time()) - status.written_at
    if not alive(status.pid):
        return False, f"the bot (pid {status.pid}) is not running; its last status is {age:.0f} s old"
    if age > max_age_s:
        return False, (f"the bot (pid {status.pid}) last reported {age:.0f} s ago (more than {max_age_s:.0f} s): "
                       "it is stuck")
    if not status.connected:
        return False, f"the bot (pid {status.pid}) is not connected to Discord's gateway"
    latency = f", gateway heartbeat {status.latency_ms:.0f} ms" if status.latency_ms is not None else ""
    return True, (f"the bot (pid {status.pid}) is connected to Discord in {status.guilds} server(s){latency}; "
                  f"status {age:.0f} s old")


DERIVED = {"lexical", "embeddings"}  # rebuilt from the store when damaged; everything else is a system of record


def file_problems(data_dir: Path, cache_dir: Path | None = None, server_mode: bool = False) -> list[str]:
    """One line per problem with the files newsbot keeps: none when all is well."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        return [f"no data directory {data_dir}: nothing was added here yet, or NEWSBOT_DATA_DIR names another folder"]
    problems = []
    free = free_bytes(data_dir)
    if free < LOW_DISK_BYTES:
        problems.append(f"the disk holding {data_dir} is full ({free // 1024:,} KiB free): questions are still "
                        "answered, but nothing can be added, fed or reindexed until some space is freed")
    store = data_dir / "chroma" / "chroma.sqlite3"
    if not server_mode and not store.is_file():
        problems.append(f"no vector store in {data_dir} ({store.relative_to(data_dir)} is missing): restore the data "
                        "directory from a backup (`newsbot import`), or add the articles again")
    folders = [data_dir] + ([Path(cache_dir)] if cache_dir and Path(cache_dir).resolve() != data_dir.resolve() else [])
    for path in sorted({p for folder in folders if folder.is_dir() for p in folder.rglob("*.sqlite*")}):
        if path.is_file() and path.suffix in (".sqlite", ".sqlite3"):
            why = integrity(path)
            if why:
                derived = path.stem.split("-")[0] in DERIVED
                problems.append(f"{path} is damaged ({why}); " + (
                    "it is derived and is rebuilt at the next start" if derived else
                    "restore the data directory from a backup"))
    return problems


def integrity(path: Path) -> str | None:
    """What SQLite's integrity_check finds wrong with the file (opened read-only), or None."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            rows = [r[0] for r in db.execute("PRAGMA integrity_check(5)")]
        finally:
            db.close()
    except sqlite3.Error as exc:
        return str(exc)[:200]
    return None if rows == ["ok"] else "; ".join(" ".join(str(r).split()) for r in rows)[:200]
