"""Whose turn it is on the model: a question goes before the next slice of a bulk add."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator


class QueriesFirst:
    """A lock for one model: a question waiting for it goes before the next slice of a bulk add."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._busy = False
        self._queries_waiting = 0

    @contextmanager
    def hold(self, query: bool) -> Iterator[None]:
        with self._cond:
            self._queries_waiting += query
            try:
                while self._busy or (not query and self._queries_waiting):
                    self._cond.wait()
            finally:
                self._queries_waiting -= query
            self._busy = True
        try:
            yield
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()


