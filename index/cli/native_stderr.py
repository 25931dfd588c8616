"""Rust's panic text kept from the terminal. Chroma's core, meeting a damaged store, panics: Rust's hook
writes "thread '<unnamed>' panicked at rust/sqlite/src/db.rs:245:14: Expect it to be fetched: ..." straight to
file descriptor 2 before Python sees the exception, which newsbot then words as one line naming the damaged
file. Python cannot replace a Rust panic hook, so a command's descriptor 2 goes through a pipe whose reader
passes every other line on as it comes and drops the panic's own lines (`--debug` keeps them).
"""
from __future__ import annotations

import os
import re
import sys
import threading
from contextlib import contextmanager
from typing import Iterator

PANIC_START = re.compile(rb"^thread '.*' (\(\d+\) )?panicked at ")
PANIC_END = re.compile(rb"^note: run with `RUST_BACKTRACE=")
MAX_PANIC_LINES = 40  # a panic's message is a line or two; a runaway filter must not eat the rest


class PanicFilter:
    """Bytes in, the same bytes out less Rust panic reports: from "thread ... panicked at" to its "note: run
    with `RUST_BACKTRACE=1`" line (or a line of newsbot's own "error: ", or MAX_PANIC_LINES). What is not a
    whole line yet passes at once unless it may be a panic's start, so a progress bar's "\\r" updates are
    never held back."""

    def __init__(self) -> None:
        self.pending = b""
        self.dropping = 0

    def feed(self, data: bytes) -> bytes:
        self.pending += data
        out = []
        while b"\n" in self.pending:
            line, self.pending = self.pending.split(b"\n", 1)
            if self.keep(line + b"\n"):
                out.append(line + b"\n")
        if self.pending and not self.dropping and not b"thread '".startswith(self.pending[:8]):
            out.append(self.pending)
            self.pending = b""
        return b"".join(out)

    def flush(self) -> bytes:
        rest, self.pending = self.pending, b""
        return b"" if self.dropping else rest

    def keep(self, line: bytes) -> bool:
        if PANIC_START.match(line):
            self.dropping = MAX_PANIC_LINES
            return False
        if self.dropping:
            if PANIC_END.match(line):
                self.dropping = 0
                return False
            if not line.startswith(b"error: "):
                self.dropping -= 1
                return False
            self.dropping = 0
        return True


def _channel(target: int) -> tuple[int, int]:
    """(read end, write end) standing in for descriptor 2: a pseudo-terminal of the same size where `target`
    is a terminal (so that progress bars, colours and widths stay what a terminal gets), else a pipe."""
    if not os.isatty(target):
        return os.pipe()
    import fcntl
    import termios
    import tty

    master, slave = os.openpty()
    tty.setraw(slave)  # no translation of a newline into CR LF: the bytes reach the real terminal as written
    try:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, fcntl.ioctl(target, termios.TIOCGWINSZ, bytes(8)))
    except OSError:
        pass
    return master, slave


@contextmanager
def without_panic_text() -> Iterator[None]:
    """Descriptor 2 filtered by `drop_panics` while the block runs; restored, everything passed on, after."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no descriptor 2 (a daemon's closed stderr): nothing to filter
        yield
        return
    read_end, write_end = _channel(saved)
    os.dup2(write_end, 2)
    os.close(write_end)

    def forward() -> None:
        panics = PanicFilter()
        while True:
            try:
                data = os.read(read_end, 65536)
            except OSError:  # a pseudo-terminal whose last writer closed: EIO
                data = b""
            out = panics.feed(data) if data else panics.flush()
            try:
                if out:
                    os.write(saved, out)
            except OSError:  # the terminal went away: keep draining so that writers never block
                pass
            if not data:
                os.close(read_end)
                return

    thread = threading.Thread(target=forward, name="stderr-filter", daemon=True)
    thread.start()
    try:
        yield
    finally:
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(saved, 2)  # the pipe's last writer closed: the reader sees its end and stops
        thread.join(timeout=5)
        os.close(saved)
