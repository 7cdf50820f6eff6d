"""PeriodicJob: sleeps its interval between empty batches; a Wakeup cuts the sleep short."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from libs.jobs import PeriodicJob, Wakeup
from tests.support.polling import eventually


def idle_job(
    wakeup: Wakeup, batches: list[int], during: Callable[[], None] = lambda: None
) -> PeriodicJob:
    async def run_once() -> int:
        batches.append(1)
        during()
        return 0  # nothing to do: the job sleeps for its hour-long interval

    return PeriodicJob(name="test", interval_s=3600, run_once=run_once, wakeup=wakeup)


async def count(batches: list[int]) -> int:
    return len(batches)


async def test_a_wakeup_runs_the_next_batch_without_waiting_for_the_interval() -> None:
    wakeup, batches = Wakeup(), list[int]()
    task = asyncio.create_task(idle_job(wakeup, batches).run())
    try:
        await eventually(lambda: count(batches), until=lambda n: n == 1, timeout=5)
        wakeup.wake()
        await eventually(lambda: count(batches), until=lambda n: n == 2, timeout=5)
    finally:
        task.cancel()


async def test_without_a_wakeup_an_idle_job_sleeps_its_interval() -> None:
    wakeup, batches = Wakeup(), list[int]()
    task = asyncio.create_task(idle_job(wakeup, batches).run())
    try:
        await eventually(lambda: count(batches), until=lambda n: n == 1, timeout=5)
        for _ in range(100):  # every chance for a wrongly woken job to run again
            await asyncio.sleep(0)
        assert len(batches) == 1
    finally:
        task.cancel()


async def test_a_wakeup_during_a_batch_is_kept_for_after_it() -> None:
    wakeup, batches = Wakeup(), list[int]()

    def commit_while_running() -> None:
        if len(batches) == 1:
            wakeup.wake()

    task = asyncio.create_task(idle_job(wakeup, batches, commit_while_running).run())
    try:
        await eventually(lambda: count(batches), until=lambda n: n >= 2, timeout=5)
    finally:
        task.cancel()
