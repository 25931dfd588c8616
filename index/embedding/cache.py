"""The embedding cache, `embeddings.sqlite`: vectors by model and text hash, derived (a damaged
file is started anew)."""
from __future__ import annotations

import hashlib
import sqlite3
import threading
from pathlib import Path

import numpy as np

from newsbot.index.storage.sqlite_files import discard, is_damage, open_derived


class EmbeddingCache:
    """(model, kind, text) -> vector, in SQLite: the same text is never embedded twice.

    Derived data: a damaged file is started anew with a warning (the vectors are embedded again)."""

    WHAT = "the embedding cache"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = open_derived(path, self._setup, self.WHAT)
        self._lock = threading.Lock()

    @staticmethod
    def _setup(db: sqlite3.Connection) -> None:
        db.execute(
            "CREATE TABLE IF NOT EXISTS embeddings (model TEXT NOT NULL, key BLOB NOT NULL, vec BLOB NOT NULL,"
            " PRIMARY KEY (model, key)) WITHOUT ROWID"
        )

    @staticmethod
    def key(kind: str, text: str) -> bytes:
        return hashlib.sha256(f"{kind}\x00{text}".encode("utf-8")).digest()

    def _recover(self, exc: sqlite3.DatabaseError) -> None:
        if not is_damage(exc):
            raise exc
        self._db.close()
        discard(self.path, self.WHAT, exc)
        self._db = open_derived(self.path, self._setup, self.WHAT)

    def get_many(self, model: str, keys: list[bytes]) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        with self._lock:
            try:
                for i in range(0, len(keys), 500):
                    part = keys[i : i + 500]
                    marks = ",".join("?" * len(part))
                    rows = self._db.execute(
                        f"SELECT key, vec FROM embeddings WHERE model = ? AND key IN ({marks})", [model, *part]
                    )
                    for key, vec in rows:
                        vector = _intact(vec)
                        if vector is not None:
                            found[bytes(key)] = vector
            except sqlite3.DatabaseError as exc:
                self._recover(exc)
                return {}
        return found

    def put_many(self, model: str, items: list[tuple[bytes, np.ndarray]]) -> None:
        rows = [(model, k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items]
        with self._lock:
            for attempt in (1, 2):
                try:
                    with self._db:
                        self._db.executemany("INSERT OR REPLACE INTO embeddings (model, key, vec) VALUES (?, ?, "
                                             "?)", rows)
                    return
                except sqlite3.DatabaseError as exc:
                    if attempt == 2:
                        raise
                    self._recover(exc)

    def count(self) -> int:
        with self._lock:
            try:
                return self._db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]
            except sqlite3.DatabaseError as exc:
                self._recover(exc)
                return 0

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _intact(blob: bytes) -> np.ndarray | None:
    """A cached vector, or None when its bytes were damaged: every vector is stored L2-normalised
    (or all zeros), and damage inside a page is invisible to SQLite, so the norm is the check.
    A damaged vector counts as a miss: it is embedded again and overwritten."""
    if len(blob) % 4:
        return None
    vec = np.frombuffer(blob, dtype=np.float32)
    norm = float(np.linalg.norm(vec)) if np.isfinite(vec).all() else -1.0
    return vec if abs(norm - 1.0) < 1e-3 or norm == 0.0 else None
