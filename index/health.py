"""Is newsbot healthy? For `newsbot serve`, the bot writes its state to `serve-health.json` in
the data directory every few seconds (gateway connected, latency of the last heartbeat); `newsbot
health` reads it, or opens the store and loads the model itself when no bot holds the index."""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .journal import alive

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
        return False, f"the bot (pid {status.pid}) last reported {age:.0f} s ago (more than {max_age_s:.0f} s): it is stuck"
    if not status.connected:
        return False, f"the bot (pid {status.pid}) is not connected to Discord's gateway"
    latency = f", gateway heartbeat {status.latency_ms:.0f} ms" if status.latency_ms is not None else ""
    return True, f"the bot (pid {status.pid}) is connected to Discord in {status.guilds} server(s){latency}; status {age:.0f} s old"
