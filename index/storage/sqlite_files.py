"""SQLite files of ours: how they are opened, and what happens when one is damaged.

The lexical index and the embedding cache are derived: everything in them can be
made again (from Chroma, or by embedding again). When one fails its integrity check
(a truncated file, garbage in the middle, not a database at all) it is discarded
and started empty, with a warning, instead of stopping newsbot. Chroma's own
file is the system of record and is never discarded: `damaged_store_file` only
says which file is damaged so the error can name it.
"""
from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Callable

log = logging.getLogger("newsbot.storage")

_DAMAGED = ("malformed", "not a database", "file is encrypted", "database corrupt")


def is_damage(exc: BaseException) -> bool:
    """Whether an sqlite error means the file itself is damaged (not locked, not full, not read-only)."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    name = getattr(exc, "sqlite_errorname", "") or ""
    return name in {"SQLITE_CORRUPT", "SQLITE_NOTADB"} or any(s in str(exc).lower() for s in _DAMAGED)


def open_derived(path: Path, setup: Callable[[sqlite3.Connection], None], what: str) -> sqlite3.Connection:
    """Open (or create) a derived SQLite file in WAL mode and run `setup` (CREATE ... IF NOT EXISTS);
    a damaged file is discarded and made anew."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return _connect(path, setup)
    except sqlite3.DatabaseError as exc:
        if not is_damage(exc):
            raise
        discard(path, what, exc)
        return _connect(path, setup)


def _connect(path: Path, setup: Callable[[sqlite3.Connection], None]) -> sqlite3.Connection:
    db = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()  # reads the schema: a torn header fails here
        setup(db)
        db.commit()
    except BaseException:
        db.close()
        raise
    return db


def discard(path: Path, what: str, exc: BaseException) -> None:
    """Remove a damaged derived file (and its WAL and shared-memory files)."""
    log.warning("%s %s is damaged (%s); starting it anew, it will be rebuilt", what, path, exc)
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def damaged_store_file(path: Path) -> str | None:
    """Why Chroma's SQLite file at `path` is damaged, or None if it passes SQLite's quick check."""
    if not path.is_file():
        return None
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            result = db.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        return str(exc) if is_damage(exc) else None
    return None if result == "ok" else str(result)[:200]
