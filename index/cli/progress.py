"""Progress for long command-line work: a tqdm bar on a terminal, and on anything else (a pipe, a CI
log, a file) one plain line at most every few seconds, since a bar's carriage-return redraws turn a
log into one unreadable line per tick."""
from __future__ import annotations

import sys
import time
from typing import Callable, TextIO


def progress(*, total: int | None = None, desc: str = "", unit: str = "it", stream: TextIO | None = None,
             disable: bool = False, interval_s: float = 5.0, clock: Callable[[], float] = time.monotonic):
    """A tqdm-like object (update, write, close, set_postfix_str, n, total) suited to `stream`."""
    stream = stream or sys.stderr
    if not disable and _is_terminal(stream):
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, unit=unit, file=stream, dynamic_ncols=True, mininterval=0.5)
    return LineProgress(total=total, desc=desc, unit=unit, stream=stream, disable=disable, interval_s=interval_s,
                        clock=clock)


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class LineProgress:
    """Prints `desc: n/total unit (p%), rate/s, ~eta left` when at least interval_s passed since the last
    line, and a closing line with the time taken once anything was done."""

    def __init__(self, *, total, desc, unit, stream, disable=False, interval_s=5.0, clock=time.monotonic):
        self.total, self.desc, self.unit, self.stream = total, desc, unit, stream
        self.disable, self.interval_s, self.clock = disable, interval_s, clock
        self.n = 0
        self.postfix = ""
        self.started = self.last = clock()
        self.closed = False

    def update(self, n: int = 1) -> None:
        self.n += n
        now = self.clock()
        if not self.disable and now - self.last >= self.interval_s:
            self.last = now
            self._print(self._line(now))

    def set_postfix_str(self, s: str, refresh: bool = True) -> None:
        self.postfix = s

    def write(self, s: str, file: TextIO | None = None, end: str = "\n") -> None:
        out = file or sys.stdout
        out.write(s + end)
        out.flush()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if not self.disable and self.n:
            elapsed = self.clock() - self.started
            total = f"/{self.total}" if self.total else ""
            self._print(f"{self.desc}: {self.n}{total} {self.unit}s in {_duration(elapsed)}{self._postfix()}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        rate = self.n / elapsed
        if self.total:
            left = (self.total - self.n) / rate if rate > 0 else 0.0
            return (f"{self.desc}: {self.n}/{self.total} {self.unit}s ({100 * self.n / self.total:.0f}%), "
                    f"{rate:.1f}/s, ~{_duration(left)} left{self._postfix()}")
        return f"{self.desc}: {self.n} {self.unit}s, {rate:.1f}/s{self._postfix()}"

    def _postfix(self) -> str:
        return f" ({self.postfix})" if self.postfix else ""

    def _print(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()


def _duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, s = divmod(int(seconds + 0.5), 60)
    if minutes < 60:
        return f"{minutes} min {s:02d} s"
    hours, m = divmod(minutes, 60)
    return f"{hours} h {m:02d} min"
