"""One process at a time on an embedded index: Chroma's embedded store is not process-safe."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Callable, TypeVar

from filelock import FileLock, Timeout

from newsbot.index.errors import IndexBusyError


def lock_data_dir(data_dir: Path) -> FileLock:
    """Hold the data directory's lock (released by the caller, or by the OS when the process ends),
    and note who holds it, for the error the next process shows."""
    lock = FileLock(str(data_dir / "newsbot.lock"), timeout=0)
    owner = data_dir / "newsbot.lock.owner"
    try:
        lock.acquire()
    except Timeout:
        who = owner.read_text(encoding="utf-8").strip() if owner.exists() else "unknown"
        raise IndexBusyError(
            f"the index in {data_dir} is in use by another newsbot process ({who}). "
            "The embedded store allows one process at a time: run the command again with --wait SECONDS to wait "
            "for it to finish (`newsbot ask --wait 600 ...`), or run a Chroma server (`chroma run`) and set "
            "CHROMA_HOST/CHROMA_PORT so that several processes share one index."
        ) from None
    owner.write_text(f"pid {os.getpid()}: {' '.join(sys.argv[:3])}", encoding="utf-8", errors="backslashreplace")
    return lock


T = TypeVar("T")


def when_free(open_once: Callable[[], T], wait_s: float, on_wait: Callable[[IndexBusyError], None]) -> T:
    """`open_once()`, tried again while another process holds the index, up to `wait_s` seconds;
    `on_wait` is told once, the first time it has to wait."""
    deadline, told = time.monotonic() + wait_s, False
    while True:
        try:
            return open_once()
        except IndexBusyError as busy:
            if time.monotonic() >= deadline:
                raise
            if not told:
                on_wait(busy)
                told = True
            time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
