"""Structured JSON logs: one event name per line, ids as fields, context from contextvars."""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable

import structlog

# The client libraries that log every failed reconnect: while the broker is down, aiokafka
# tried (and logged "Unable connect to node ...") thousands of times a second per process.
REPEATING_LOGGERS = ("aiokafka", "kafka")
# How often one repeated message gets through, with the count of those held back meanwhile.
REPEAT_INTERVAL_S = 10.0


class RepeatFilter(logging.Filter):
    """Lets a message (its logger and unformatted text, so "Unable connect to node with id
    %s" is one message whatever the node) through once per interval; the next one let
    through carries `suppressed`, how many were dropped since. Only for loggers under the
    given prefixes: our own log lines are few and each one counts."""

    def __init__(
        self,
        prefixes: tuple[str, ...] = REPEATING_LOGGERS,
        *,
        interval_s: float = REPEAT_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._prefixes = prefixes
        self._interval_s = interval_s
        self._clock = clock
        self._lock = threading.Lock()
        # (logger, message) -> (when it last got through, how many were dropped since)
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(self._prefixes):
            return True
        key = (record.name, str(record.msg))
        now = self._clock()
        with self._lock:
            last = self._seen.get(key)
            if last is not None and now - last[0] < self._interval_s:
                self._seen[key] = (last[0], last[1] + 1)
                return False
            self._seen[key] = (now, 0)
        if last is not None and last[1]:
            record.suppressed = last[1]
        return True


def configure_logging(*, service: str, level: str = "INFO") -> None:
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.format_exc_info,
            structlog.processors.EventRenamer("event"),
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        # One write (and flush) per line, newline included: a service's processes share the
        # supervisor's stdout, and print()'s separate write of the newline let another
        # process's line land in between, tearing both.
        logger_factory=structlog.WriteLoggerFactory(file=sys.stdout),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)
    # Route the standard library's loggers (uvicorn, aiokafka, sqlalchemy) through the same JSON.
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.JSONRenderer(),
            ],
            foreign_pre_chain=[
                *shared,
                structlog.stdlib.add_logger_name,
                structlog.stdlib.ExtraAdder(allow=["suppressed"]),
            ],
        )
    )
    handler.addFilter(RepeatFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "kafka"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)  # type: ignore[no-any-return]


def dependency_of(exc: BaseException) -> str:
    """Which dependency an infrastructure failure points at, for the operator reading the log."""
    module = type(exc).__module__
    if module.startswith(("aiokafka", "kafka")):
        return "kafka"
    if module.startswith(("asyncpg", "sqlalchemy")) or isinstance(exc, OSError | TimeoutError):
        return "database"
    return "unknown"
