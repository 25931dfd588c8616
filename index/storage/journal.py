"""The write journal: which articles a process is writing, on disk before the writes, so that
whatever a crash cuts short is swept at the next open (Chroma first, then the lexical index)."""
from __future__ import annotations

import json
import os
import socket
from pathlib import Path

_HOST = socket.gethostname().replace("-", "_").replace(".", "_") or "host"


def journal_path(data_dir: Path, namespace: str) -> Path:
    """Present only while a write is in progress (or was cut). Named by host and process, so that in
    server mode processes sharing a data directory never sweep each other's writes in progress."""
    return data_dir / f"pending-{namespace}.{_HOST}-{os.getpid()}.json"


def write_journal(path: Path, pairs: list[tuple[str, str]]) -> None:
    """The (article id, content hash) pairs about to be written, fsynced before the writes."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps([list(p) for p in pairs]))
        f.flush()
        os.fsync(f.fileno())


def read_journal(path: Path) -> list[tuple[str, str]] | None:
    """The (article id, content hash) pairs a journal lists; None when it is torn or not a journal."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(rows, list) or not all(
            isinstance(r, list) and len(r) == 2 and all(isinstance(x, str) for x in r) for r in rows):
        return None
    return [(a, h) for a, h in rows]


def alive(pid: int) -> bool:
    """Whether a process with this id runs on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stale_journals(data_dir: Path, namespace: str) -> list[Path]:
    """Journals of writes that can no longer finish: this process's own (the caller holds the write
    lock, so none of ours is in progress) and those of processes on this host that are gone."""
    stale = [p for p in [data_dir / f"pending-{namespace}.json"] if p.exists()]  # before journals were named
    for path in data_dir.glob(f"pending-{namespace}.*.json"):
        host, _, pid = path.name[len(f"pending-{namespace}."):-len(".json")].rpartition("-")
        if host == _HOST and pid.isdigit() and (int(pid) == os.getpid() or not alive(int(pid))):
            stale.append(path)
    return stale
