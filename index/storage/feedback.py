"""👍/👎 feedback, appended as JSON lines under the data directory: the bot writes it, the eval reads it.

One owner of the file's format, in the engine (nothing here is about Discord: a member is a number,
kept only as a salted hash)."""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import threading
from datetime import datetime, timezone
from pathlib import Path

from newsbot.index.records import Answer


def hash_user(user_id: int, salt: str) -> str:
    """Feedback keeps no Discord user id, only a salted hash (to count distinct users)."""
    return hashlib.sha256(f"{salt}:{user_id}".encode()).hexdigest()[:16]


def install_salt(path: Path) -> str:
    """A random salt made once per installation and kept beside the feedback (mode 0600): with a
    fixed salt, anyone could hash the public member ids of a server and tell who voted what."""
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    salt = secrets.token_hex(16)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(salt)
    return salt


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"


class FeedbackStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._salt: str | None = None

    @property
    def salt(self) -> str:
        if self._salt is None:
            self._salt = install_salt(self.path.with_name("feedback.salt"))
        return self._salt

    def record(self, *, namespace: str, answer: Answer, user_id: int, vote: str) -> dict:
        row = {
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "namespace": namespace,
            "vote": vote,
            "question": answer.question,
            "answer": answer.answer,
            "abstained": answer.abstained,
            "citations": [c.to_dict() for c in answer.citations],
            "user": hash_user(user_id, self.salt),
        }
        line = json.dumps(row, ensure_ascii=False) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("ab") as handle:
                if handle.tell() and not _ends_with_newline(self.path):  # a line cut short by a crash stays alone
                    line = "\n" + line
                handle.write(line.encode("utf-8"))
        return row

    def read(self) -> list[dict]:
        """Every vote, oldest first; a line cut short by a crash mid-append is skipped, not fatal."""
        if not self.path.exists():
            return []
        rows = []
        with self.path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError:
                        continue
        return rows
