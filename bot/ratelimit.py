"""Per-user sliding-window rate limit for questions."""
from __future__ import annotations

import time
from collections import defaultdict, deque


class RateLimiter:
    def __init__(self, limit: int, window_s: float, clock=time.monotonic) -> None:
        self.limit, self.window_s, self._clock = limit, window_s, clock
        self._hits: dict[object, deque[float]] = defaultdict(deque)

    def hit(self, key: object) -> float:
        """Record a request; 0 if allowed, else the seconds until one is allowed again."""
        if self.limit <= 0:
            return 0.0
        now = self._clock()
        hits = self._hits[key]
        while hits and now - hits[0] >= self.window_s:
            hits.popleft()
        if len(hits) >= self.limit:
            return self.window_s - (now - hits[0])
        hits.append(now)
        return 0.0
