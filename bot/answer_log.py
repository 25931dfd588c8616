"""The answers the bot has shown, by Discord message id, on disk: what makes the buttons under an
answer (passages, 👍/👎) and follow-up replies keep working after the bot restarts.

Derived data (`<data dir>/answers.sqlite`): a damaged file is started anew; entries older than
KEEP_DAYS are dropped at start.
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

from newsbot.index.records import Answer
from newsbot.index.storage.sqlite_files import open_derived

KEEP_DAYS = 90


def _setup(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS answers (message_id INTEGER PRIMARY KEY, namespace TEXT NOT NULL, "
               "context TEXT NOT NULL, answer TEXT NOT NULL, shown_at REAL NOT NULL)")


class AnswerLog:
    def __init__(self, path: Path) -> None:
        self._db = open_derived(path, _setup, "the answer log")
        self._lock = threading.Lock()
        with self._lock, self._db:
            self._db.execute("DELETE FROM answers WHERE shown_at < ?", [time.time() - KEEP_DAYS * 86400])

    def record(self, message_id: int, namespace: str, answer: Answer, context: str = "") -> None:
        """`context`: the question as follow-ups read it (the earlier question included)."""
        row = [message_id, namespace, context or answer.question, json.dumps(answer.to_dict(), ensure_ascii=False),
               time.time()]
        with self._lock, self._db:
            self._db.execute("INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?)", row)

    def get(self, message_id: int) -> tuple[str, str, Answer] | None:
        """(namespace, context question, answer) of the answer in that message, if the bot showed one."""
        with self._lock:
            row = self._db.execute("SELECT namespace, context, answer FROM answers WHERE message_id = ?",
                                   [message_id]).fetchone()
        if row is None:
            return None
        return row[0], row[1], Answer.from_dict(json.loads(row[2]))

    def close(self) -> None:
        with self._lock:
            self._db.close()
