"""👍/👎 feedback, appended as JSON lines under the data directory (read back by the eval)."""
from __future__ import annotations

import hashlib
import json
import threading
from datetime import datetime, timezone
from pathlib import Path

from index.records import Answer


def hash_user(user_id: int, salt: str = "newsbot") -> str:
    """Feedback keeps no Discord user id, only a salted hash (to count distinct users)."""
    return hashlib.sha256(f"{salt}:{user_id}".encode()).hexdigest()[:16]


class FeedbackStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def record(self, *, namespace: str, answer: Answer, user_id: int, vote: str) -> dict:
        row = {
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "namespace": namespace,
            "vote": vote,
            "question": answer.question,
            "answer": answer.answer,
            "abstained": answer.abstained,
            "citations": [c.to_dict() for c in answer.citations],
            "user": hash_user(user_id),
        }
        line = json.dumps(row, ensure_ascii=False) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)
        return row

    def read(self) -> list[dict]:
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]
