"""Who added or removed what: one JSON line per change in `<data dir>/audit/<namespace>.jsonl`,
and the same line in the log (logger `newsbot.audit`), so an admin can answer "who added this?"."""
from __future__ import annotations

import json
import logging
import os
import threading
from datetime import datetime, timezone
from pathlib import Path

log = logging.getLogger("newsbot.audit")
_lock = threading.Lock()


def record(data_dir: Path, namespace: str, actor: str, action: str, **details) -> dict:
    """Append one audit entry (an append of one line: a crash loses at most that line)."""
    entry = {"time": datetime.now(timezone.utc).isoformat(timespec="seconds"), "namespace": namespace,
             "actor": actor, "action": action, **{k: v for k, v in details.items() if v not in (None, "")}}
    line = json.dumps(entry, ensure_ascii=False)
    folder = Path(data_dir) / "audit"
    with _lock:
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"{namespace}.jsonl", "a", encoding="utf-8") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())
    log.info("%s %s %s in %s", actor, action, details.get("article_id") or details.get("origin", ""), namespace,
             extra={"audit": entry})
    return entry


def read(data_dir: Path, namespace: str) -> list[dict]:
    """The namespace's audit entries, oldest first (a torn last line is skipped)."""
    path = Path(data_dir) / "audit" / f"{namespace}.jsonl"
    entries = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    for line in lines:
        try:
            entries.append(json.loads(line))
        except ValueError:
            continue
    return entries
