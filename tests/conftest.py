"""Suite-wide setup: the test environment, markers by folder, and the order tests run in."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator

import pytest

from tests.support import environment
from tests.support.mailbox import Mailbox, start_sink_process, wait_listening

environment.apply()

# The real-browser fixtures (`browser`, `page`) for every test folder: tests/support/browser.py.
pytest_plugins = ["tests.support.browser"]

# Unit tests first (seconds, no network), then integration, then end-to-end: the end-to-end
# stack is started once, late, and owns the test databases from then on; the chaos suite
# (tests/chaos: its own broker and database, which it stops) comes last.
_ORDER = {"unit": 0, "contract": 1, "integration": 2, "e2e": 3, "chaos": 4}


def _kind(item: pytest.Item) -> str:
    parts = item.path.parts
    for kind in ("unit", "integration", "e2e", "contract", "chaos"):
        if kind in parts:
            return kind
    return "unit"


def _rank(item: pytest.Item) -> int:
    """`@pytest.mark.after_the_rest(n)`: run after every unmarked test of its kind, in n order
    (the API fuzzing, whose random writes must not disturb other tests, then the check of
    every event the run put on Kafka)."""
    marker = item.get_closest_marker("after_the_rest")
    return int(marker.args[0]) if marker else 0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        kind = _kind(item)
        item.add_marker(getattr(pytest.mark, "unit" if kind == "contract" else kind))
    items.sort(key=lambda item: (_ORDER[_kind(item)], _rank(item)))


@pytest.fixture(scope="session")
def migrated_databases() -> None:
    environment.migrate_from_scratch()


@pytest.fixture(scope="session")
async def kafka_topics() -> AsyncIterator[str]:
    """This run's topics on the real broker (created explicitly), removed at the end."""
    from libs.messaging.admin import ONE_BROKER, delete_topics_with_prefix, ensure_topics

    await ensure_topics(
        bootstrap_servers=environment.BOOTSTRAP_SERVERS,
        prefix=environment.TOPIC_PREFIX,
        layout=ONE_BROKER,
    )
    yield environment.TOPIC_PREFIX
    await delete_topics_with_prefix(
        bootstrap_servers=environment.BOOTSTRAP_SERVERS, prefix=environment.TOPIC_PREFIX
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
async def mail_sink() -> AsyncIterator[Mailbox]:
    """The run's development SMTP sink (tools/mail_sink.py) as a process, the way `make run`
    starts it: on environment.MAIL_SINK_PORT, writing to environment.MAIL_DIR."""
    log_path = environment.LOG_DIR / "mail_sink.log"
    process = start_sink_process(environment.MAIL_DIR, environment.MAIL_SINK_PORT, log_path)
    try:
        await wait_listening(process, environment.MAIL_SINK_PORT, log_path)
        yield Mailbox(environment.MAIL_DIR)
    finally:
        await asyncio.to_thread(_stop, process)
