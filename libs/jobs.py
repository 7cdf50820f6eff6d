"""A periodic background job: run a batch, and sleep only when there was nothing to do."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from libs.observability.logging import get_logger

log = get_logger(__name__)


class Wakeup:
    """Wakes the jobs made with it from their sleep between empty batches, for work that has
    just been committed in the same process. Their interval stays the fallback for work that
    comes from anywhere else (another process, a due time that arrives)."""

    def __init__(self) -> None:
        self._events: list[asyncio.Event] = []

    def event(self) -> asyncio.Event:
        event = asyncio.Event()
        self._events.append(event)
        return event

    def wake(self) -> None:
        for event in self._events:
            event.set()


class PeriodicJob:
    def __init__(
        self,
        *,
        name: str,
        interval_s: float,
        run_once: Callable[[], Awaitable[int]],
        wakeup: Wakeup | None = None,
    ) -> None:
        self.name = name
        self._interval_s = interval_s
        self.run_once = run_once
        self._woken = wakeup.event() if wakeup is not None else None

    async def run(self) -> None:
        """Forever: a batch at a time. A failing batch is logged and tried again later, so a
        bad row never stops the job (the work it left undone is still in the database)."""
        while True:
            if self._woken is not None:
                # Cleared before the batch: a wake-up that lands while it runs is kept.
                self._woken.clear()
            try:
                done = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("job.failed", job=self.name, error=repr(exc))
                done = 0
            if done == 0:
                await self._idle()

    async def _idle(self) -> None:
        if self._woken is None:
            await asyncio.sleep(self._interval_s)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._woken.wait(), self._interval_s)
