"""Token buckets per key (a client id, a client address): how many requests it may send."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping


class RateLimiter:
    """`rate_per_s` requests a second on average, bursts of up to `burst`; a key named in
    `per_key` has its own (rate, burst) instead. In memory and per process: each instance of
    a service enforces its own share. The least recently seen keys are forgotten beyond
    `max_keys`, so many one-off callers cannot grow it without bound (a forgotten key starts
    again with a full bucket)."""

    def __init__(
        self,
        *,
        rate_per_s: float,
        burst: int,
        per_key: Mapping[str, tuple[float, int]] | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        limits = [(rate_per_s, burst), *(per_key or {}).values()]
        if any(rate <= 0 or size < 1 for rate, size in limits):
            raise ValueError("a rate limit needs a positive rate and a burst of at least 1")
        self._default = (rate_per_s, float(burst))
        self._per_key = {key: (rate, float(size)) for key, (rate, size) in (per_key or {}).items()}
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> int:
        """0 if the request may go ahead (and counts it); otherwise the whole seconds until
        it may, for a Retry-After header."""
        rate, burst = self._per_key.get(key, self._default)
        now = self._clock()
        tokens, last = self._buckets.pop(key, (burst, now))
        tokens = min(burst, tokens + (now - last) * rate)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            wait = 0
        else:
            self._buckets[key] = (tokens, now)
            wait = max(1, math.ceil((1 - tokens) / rate))
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        return wait
