"""The open-loop load generator, run as its own process: `python -m bench.pacer`.

wrk cannot send at a fixed rate, and a Python HTTP client (httpx) costs about as much CPU per
request as the server it measures. This one is lean: uvloop, a bare asyncio.Protocol per
keep-alive connection, httptools (the C parser uvicorn uses) for the answers, and every
request's bytes rendered before the clock starts. It costs tens of microseconds of CPU a
request (bench.load reports the measured figure with every run).

Request n is planned at start + n / rate and sent then, whatever happened to the ones before
it: on an idle connection if there is one, on a new one otherwise (up to `max_connections`,
then it waits for one). Its latency runs from that planned moment, not from when it was
written, so a server that stalls cannot hide the stall by slowing the generator down
(coordinated omission). A request not answered `timeout_s` after its planned moment is a
time-out: its connection is closed, as a client that gives up would.

Protocol (bench.load drives it): one JSON `Spec` a line on stdin; for each, the process
prints `start <monotonic time>`, then one line per request as it ends (see `answer_line`),
then `done <JSON summary>`. It exits when stdin closes, so its parent can read its CPU from
/proc after a run. Times are CLOCK_MONOTONIC, the same clock in every process of the machine.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from collections import deque
from dataclasses import asdict, dataclass, field, replace
from typing import TextIO, cast

import httptools
import uvloop

UNIQUE = "@UNIQUE@"
TIMEOUT, FAILED = -1, 0  # the status of a request without an HTTP answer
ID_FIELD = b'"id":"'
TICK_S = 0.001


@dataclass(frozen=True)
class Spec:
    """One run. `templates` are (head, body): the request line and headers (no
    Content-Length), and the body; UNIQUE in either becomes the request's own unique string
    (`prefix` and its zero-padded number). Request n uses template n modulo their number."""

    port: int
    rate: float
    seconds: float
    templates: list[tuple[str, str]]
    prefix: str
    host: str = "127.0.0.1"
    timeout_s: float = 10.0
    max_connections: int = 4096
    warm_connections: int = 32
    want_ids: bool = False  # read the "id" of each 201's body (an order's id)

    @property
    def total(self) -> int:
        return int(self.rate * self.seconds)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Spec:
        found = json.loads(text)
        found["templates"] = [tuple(t) for t in found["templates"]]
        return cls(**found)


def render(spec: Spec, n: int) -> bytes:
    """Request n's bytes."""
    head, body = spec.templates[n % len(spec.templates)]
    unique = f"{spec.prefix}{n:09d}"
    data = body.replace(UNIQUE, unique).encode()
    length = f"content-length: {len(data)}\r\n" if data or not head.startswith("GET") else ""
    return head.replace(UNIQUE, unique).encode() + length.encode() + b"\r\n" + data


def answer_line(
    n: int, planned: float, latency_s: float, status: int, retry_after: bool, order_id: str
) -> str:
    """`n planned latency status retry-after(r|-) id`, tab-separated (bench.load reads it)."""
    flag = "r" if retry_after else "-"
    return f"{n}\t{planned:.6f}\t{latency_s:.6f}\t{status}\t{flag}\t{order_id}\n"


def order_id_of(body: bytes | bytearray) -> str:
    """The first "id" of a JSON body, as the services render it (no spaces): an order's id."""
    at = body.find(ID_FIELD)
    if at < 0:
        return ""
    start = at + len(ID_FIELD)
    end = body.find(b'"', start)
    return body[start:end].decode() if end > 0 else ""


@dataclass
class Summary:
    sent: int = 0
    answered: int = 0
    timeouts: int = 0
    connect_failures: int = 0  # no connection could be opened for the request
    lost: int = 0  # the server closed the connection before answering
    connections_opened: int = 0
    waited_for_connection: int = 0  # requests that found every allowed connection busy
    # How late the generator wrote a request that found an idle connection: its own delay.
    # (A request that needed a new connection, or waited for one, is late by that too; its
    # latency runs from its planned moment either way.)
    max_send_lag_ms: float = 0.0
    cpu_s: float = 0.0  # this process's CPU from the first planned send to the last answer
    seconds: float = 0.0
    lags_ms: list[float] = field(default_factory=list, repr=False)

    def to_json(self) -> str:
        found = asdict(self)
        lags = sorted(found.pop("lags_ms"))
        found["p99_send_lag_ms"] = round(lags[int(0.99 * (len(lags) - 1))], 3) if lags else 0.0
        found["max_send_lag_ms"] = round(self.max_send_lag_ms, 3)
        return json.dumps(found)


class Connection(asyncio.Protocol):
    """One keep-alive connection, one request in flight at a time."""

    def __init__(self, generator: Generator) -> None:
        self.generator = generator
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.current: tuple[int, float] | None = None  # (n, planned)
        self.timer: asyncio.TimerHandle | None = None
        self.retry_after = False
        self.body = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport; they have its methods.
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.generator.lost(self)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.close()

    def send(self, n: int, planned: float, data: bytes) -> None:
        assert self.transport is not None
        self.current, self.retry_after = (n, planned), False
        self.body.clear()
        self.transport.write(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    # httptools calls these by name.
    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"retry-after":
            self.retry_after = True

    def on_body(self, body: bytes) -> None:
        if self.generator.spec.want_ids:
            self.body += body

    def on_message_complete(self) -> None:
        self.generator.answered(
            self, self.parser.get_status_code(), self.parser.should_keep_alive()
        )


class Generator:
    def __init__(self, spec: Spec, requests: list[bytes], out: TextIO) -> None:
        self.spec, self.requests, self.out = spec, requests, out
        self.loop = asyncio.get_running_loop()
        self.idle: list[Connection] = []
        self.waiting: deque[tuple[int, float]] = deque()
        self.open = 0
        self.ended = 0
        self.finished = asyncio.Event()
        self.summary = Summary()
        self.lines: list[str] = []

    # --- connections ----------------------------------------------------------------------

    async def connect(self, deadline: float | None = None) -> Connection | None:
        """A new connection, or None if it failed or was not made by `deadline` (a server
        whose accept queue is full drops the handshake, and the kernel retries it for a
        minute and more)."""
        self.open += 1
        self.summary.connections_opened += 1
        made = self.loop.create_connection(lambda: Connection(self), self.spec.host, self.spec.port)
        try:
            if deadline is None:
                _, protocol = await made
            else:
                _, protocol = await asyncio.wait_for(made, max(0.0, deadline - time.monotonic()))
        except (OSError, TimeoutError):
            self.open -= 1
            return None
        assert isinstance(protocol, Connection)
        return protocol

    async def warm(self) -> None:
        """Connections opened before the clock starts, so the first requests do not pay for
        the handshake (later ones may: a real client population does)."""
        count = min(self.spec.warm_connections, self.spec.max_connections)
        for conn in await asyncio.gather(*(self.connect() for _ in range(count))):
            if conn is not None:
                self.idle.append(conn)

    async def send_on_new(self, n: int, planned: float) -> None:
        deadline = planned + self.spec.timeout_s
        conn = await self.connect(deadline)
        late = time.monotonic() >= deadline
        if conn is None:
            # Not sent: a client that could not connect within its time-out has given up.
            self.summary.connect_failures += not late
            self.end(n, planned, TIMEOUT if late else FAILED, retry_after=False)
            self.next_waiting(None)
        elif late:
            self.end(n, planned, TIMEOUT, retry_after=False)
            self.next_waiting(conn)
        else:
            self.dispatch(conn, n, planned, own=False)

    def send(self, n: int, planned: float) -> None:
        if self.idle:
            self.dispatch(self.idle.pop(), n, planned, own=True)
        elif self.open < self.spec.max_connections:
            self.loop.create_task(self.send_on_new(n, planned))
        else:
            self.summary.waited_for_connection += 1
            self.waiting.append((n, planned))

    def dispatch(self, conn: Connection, n: int, planned: float, *, own: bool) -> None:
        now = time.monotonic()
        self.summary.sent += 1
        if own:
            lag_ms = (now - planned) * 1000
            self.summary.lags_ms.append(lag_ms)
            self.summary.max_send_lag_ms = max(self.summary.max_send_lag_ms, lag_ms)
        conn.send(n, planned, self.requests[n])
        conn.timer = self.loop.call_later(planned + self.spec.timeout_s - now, self.expire, conn, n)

    def next_waiting(self, conn: Connection | None) -> None:
        """Give a freed connection (or a free slot, for None) to the oldest waiting request;
        the ones that waited past their time-out end as time-outs without being sent."""
        while self.waiting:
            n, planned = self.waiting.popleft()
            if time.monotonic() - planned >= self.spec.timeout_s:
                self.end(n, planned, TIMEOUT, retry_after=False)
                continue
            if conn is not None:
                self.dispatch(conn, n, planned, own=False)
            else:
                self.loop.create_task(self.send_on_new(n, planned))
            return
        if conn is not None:
            self.idle.append(conn)

    # --- answers --------------------------------------------------------------------------

    def answered(self, conn: Connection, status: int, keep_alive: bool) -> None:
        if conn.current is None:
            return
        (n, planned), conn.current = conn.current, None
        if conn.timer is not None:
            conn.timer.cancel()
        latency = time.monotonic() - planned
        if latency >= self.spec.timeout_s:  # the client had given up already
            self.end(n, planned, TIMEOUT, retry_after=False)
        else:
            found = order_id_of(conn.body) if self.spec.want_ids and status == 201 else ""
            self.end(n, planned, status, retry_after=conn.retry_after, latency=latency, id=found)
        if keep_alive:
            self.next_waiting(conn)
        else:
            conn.close()

    def expire(self, conn: Connection, n: int) -> None:
        if conn.current is not None and conn.current[0] == n:
            _, planned = conn.current
            conn.current = None
            self.end(n, planned, TIMEOUT, retry_after=False)
            conn.close()

    def lost(self, conn: Connection) -> None:
        self.open -= 1
        if conn in self.idle:
            self.idle.remove(conn)
        if conn.current is not None:
            (n, planned), conn.current = conn.current, None
            if conn.timer is not None:
                conn.timer.cancel()
            self.summary.lost += 1
            self.end(n, planned, FAILED, retry_after=False)
        if self.waiting and self.open < self.spec.max_connections:
            self.next_waiting(None)

    def end(
        self,
        n: int,
        planned: float,
        status: int,
        *,
        retry_after: bool,
        latency: float = 0.0,
        id: str = "",
    ) -> None:
        if status == TIMEOUT:
            self.summary.timeouts += 1
        elif status != FAILED:
            self.summary.answered += 1
        self.lines.append(answer_line(n, planned, latency, status, retry_after, id))
        self.ended += 1
        if self.ended == self.spec.total:
            self.finished.set()

    async def flush(self) -> None:
        while True:
            await asyncio.sleep(0.1)
            self.write_lines()

    def write_lines(self) -> None:
        if self.lines:
            self.out.write("".join(self.lines))
            self.out.flush()
            self.lines.clear()


async def generate(spec: Spec, requests: list[bytes], out: TextIO) -> Summary:
    generator = Generator(spec, requests, out)
    await generator.warm()
    start = time.monotonic() + 0.05
    out.write(f"start\t{start:.6f}\n")
    out.flush()
    flusher = asyncio.create_task(generator.flush())
    cpu = _cpu_s()
    n, total, rate = 0, spec.total, spec.rate
    while n < total:
        now = time.monotonic()
        while n < total and start + n / rate <= now:
            generator.send(n, start + n / rate)
            n += 1
        if n < total:
            # libuv's timers count whole milliseconds: a shorter sleep returns at once and the
            # loop would spin. Requests due within the millisecond go out together, up to a
            # millisecond late, and their latency still runs from their planned moment.
            await asyncio.sleep(max(TICK_S, start + n / rate - time.monotonic()))
    if total:
        await generator.finished.wait()
    generator.summary.cpu_s = _cpu_s() - cpu
    generator.summary.seconds = time.monotonic() - start
    flusher.cancel()
    generator.write_lines()
    for conn in generator.idle:
        conn.close()
    return generator.summary


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _allow_connections(wanted: int) -> int:
    """Raise the open-file limit as far as allowed: a queueing server under a 1,000 a second
    offer holds thousands of connections open until they time out."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, wanted + 256)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return max(1, min(wanted, soft - 256))


def main() -> int:
    for line in sys.stdin:
        if not line.strip():
            continue
        spec = Spec.from_json(line)
        spec = replace(spec, max_connections=_allow_connections(spec.max_connections))
        requests = [render(spec, n) for n in range(spec.total)]
        summary: Summary = uvloop.run(generate(spec, requests, sys.stdout))
        sys.stdout.write(f"done\t{summary.to_json()}\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
