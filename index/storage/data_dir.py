"""The data directory: newsbot's own folder, private to the user who runs it.

A folder of something else is refused before anything is written in it (a mistyped
NEWSBOT_DATA_DIR once had its `lexical.sqlite` replaced). newsbot's folder is known by a marker
file written when it is first used; one from before the marker is known by the files newsbot makes.
The folder is made 0700 (what it holds is every article and who asked what), and `newsbot` runs
with umask 077, so the files in it are 0600.
"""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

from newsbot.index.errors import ConfigError

MARKER = "newsbot-data.json"
OURS = {"chroma", "lexical.sqlite", "embeddings.sqlite", "feeds.sqlite", "answers.sqlite", "feedback.jsonl",
        "feedback.salt", "audit", "newsbot.lock", "newsbot.lock.owner", "serve-health.json", "onnx"}
IGNORED = {"lost+found"}  # a mounted volume's own folder


def prepare(data_dir: Path) -> None:
    """Create the data directory (0700), or check that an existing one is newsbot's and make it private."""
    data_dir = Path(data_dir)
    if data_dir.exists() and not data_dir.is_dir():
        raise ConfigError(f"the data directory {data_dir} is a file, not a folder (NEWSBOT_DATA_DIR or --data-dir)")
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    marker = data_dir / MARKER
    if not marker.exists():
        entries = [p.name for p in data_dir.iterdir() if not p.name.startswith(".") and p.name not in IGNORED]
        foreign = sorted(name for name in entries if not _ours(name))
        if foreign and not any(_ours(name) for name in entries):
            more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
            shown = ", ".join(repr(n) for n in foreign[:3]) + more
            raise ConfigError(
                f"the data directory {data_dir} holds files that are not newsbot's ({shown}); newsbot keeps its index "
                "in a folder of its own: set NEWSBOT_DATA_DIR (or --data-dir) to a new or empty folder")
        marker.write_text(json.dumps({"newsbot": "data directory", "created_at": datetime.now(timezone.utc)
                                      .replace(microsecond=0).isoformat()}) + "\n", encoding="utf-8")
    try:
        if data_dir.stat().st_uid == os.getuid() and data_dir.stat().st_mode & 0o077:
            data_dir.chmod(0o700)
    except OSError:  # a folder we may use but not change (a volume mounted read-only is reported later)
        pass


def is_data_dir(folder: Path) -> bool:
    """Whether `folder` is a data directory newsbot made (its marker, or the files an older newsbot made)."""
    try:
        if not folder.is_dir():
            return False
        if (folder / MARKER).exists():
            return True
        return any(_ours(p.name) and p.name != "newsbot.lock" for p in folder.iterdir())
    except OSError:
        return False


def _ours(name: str) -> bool:
    stem = name.split(".sqlite")[0]
    return name in OURS or stem.startswith("lexical-") or name.startswith(("pending-", "newsbot")) or (
        name.endswith((".sqlite-wal", ".sqlite-shm")) and stem + ".sqlite" in OURS)
