"""A periodic background job: run a batch, and sleep only when there was nothing to do."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from libs.observability.logging import get_logger

log = get_logger(__name__)


class PeriodicJob:
    def __init__(
        self, *, name: str, interval_s: float, run_once: Callable[[], Awaitable[int]]
    ) -> None:
        self.name = name
        self._interval_s = interval_s
        self.run_once = run_once

    async def run(self) -> None:
        """Forever: a batch at a time. A failing batch is logged and tried again later, so a
        bad row never stops the job (the work it left undone is still in the database)."""
        while True:
            try:
                done = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("job.failed", job=self.name, error=repr(exc))
                done = 0
            if done == 0:
                await asyncio.sleep(self._interval_s)
