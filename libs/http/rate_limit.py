"""Token buckets per key (a client id, a client address): how many requests it may send."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable


class RateLimiter:
    """`rate_per_s` requests a second on average, bursts of up to `burst`. In memory and per
    process: each instance of a service enforces its own share. The least recently seen keys
    are forgotten beyond `max_keys`, so many one-off callers cannot grow it without bound
    (a forgotten key starts again with a full bucket)."""

    def __init__(
        self,
        *,
        rate_per_s: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("a rate limit needs a positive rate and a burst of at least 1")
        self._rate = rate_per_s
        self._burst = float(burst)
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> int:
        """0 if the request may go ahead (and counts it); otherwise the whole seconds until
        it may, for a Retry-After header."""
        now = self._clock()
        tokens, last = self._buckets.pop(key, (self._burst, now))
        tokens = min(self._burst, tokens + (now - last) * self._rate)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            wait = 0
        else:
            self._buckets[key] = (tokens, now)
            wait = max(1, math.ceil((1 - tokens) / self._rate))
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        return wait
