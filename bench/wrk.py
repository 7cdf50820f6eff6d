"""Closed loop with wrk (Debian's `wrk` 4.1): the highest rate POST /v1/orders sustains.

wrk is C on an event loop: it costs a few microseconds of CPU a request where a Python client
costs about as much as the server it measures. A Lua script (rendered here) makes every
request unique: the body is one of a few pre-rendered orders with a channel_order_ref of its
own, and the Idempotency-Key is the same unique string. `response()` counts the answers by
status (and the 503s without Retry-After) in each thread; `done()` adds the threads up and
prints one JSON line, which `parse` reads.

What wrk's own figures mean (src/wrk.c, src/stats.c of 4.1):
- a "timeout" is an answer that came later than `--timeout`; wrk never abandons a request,
  and one still unanswered when the run ends is not counted at all;
- its latency histogram holds the answers within the timeout, measured from when the
  request was written, and wrk adds its own correction for coordinated omission
  (`stats_correct`) before `done()` sees it: read the closed-loop latency as indicative; the
  open-loop runs (bench.pacer) measure latency from each request's planned start.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WRK = shutil.which("wrk") or "/usr/bin/wrk"
MARKER = "BENCH-WRK-RESULT "
# Stands for the unique part of a request in a pre-rendered body.
UNIQUE = "@UNIQUE@"

LUA = r"""
local bodies = {
%(bodies)s
}
local method, path = %(method)s, %(path)s
local headers = {
%(headers)s
}
local prefix = %(prefix)s
local marker = %(marker)s

-- Globals of each thread's own Lua state: thread:set writes them, thread:get reads them.
thread_id, sent, lacking = 0, 0, 0
statuses = {}

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_id", #threads)
end

function request()
  sent = sent + 1
  local unique = string.format(%(unique_format)s, prefix, thread_id, sent)
  local body = bodies[(sent %% #bodies) + 1]
  headers["Idempotency-Key"] = unique
  return wrk.format(method, path, headers, body[1] .. unique .. body[2])
end

function response(status, hdrs, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 503 and hdrs["retry-after"] == nil and hdrs["Retry-After"] == nil then
    lacking = lacking + 1
  end
end

function done(summary, latency, requests)
  local counts, missing = {}, 0
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + count
    end
    missing = missing + thread:get("lacking")
  end
  local parts = {}
  for status, count in pairs(counts) do
    table.insert(parts, string.format('"%%d": %%d', status, count))
  end
  local e = summary.errors
  io.write(marker, string.format(
    '{"duration_us": %%d, "requests": %%d, "statuses": {%%s}, "lacking_retry_after": %%d, '
    .. '"errors": {"connect": %%d, "read": %%d, "write": %%d, "timeout": %%d}, '
    .. '"latency_us": {"p50": %%d, "p95": %%d, "p99": %%d, "max": %%d, "mean": %%d}}\n',
    summary.duration, summary.requests, table.concat(parts, ", "), missing,
    e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max, latency.mean))
end
"""


class WrkError(RuntimeError):
    """wrk failed or printed no result line; the message carries its output."""


@dataclass(frozen=True)
class WrkRun:
    """One closed-loop run: what was answered, how fast, and what wrk itself cost."""

    seconds: float
    connections: int
    statuses: Mapping[int, int]
    lacking_retry_after: int
    errors: Mapping[str, int]  # connect, read, write, timeout (answers later than --timeout)
    latency_ms: Mapping[str, float]  # p50, p95, p99, max, mean
    cpu_s: float = 0.0  # wrk's user + system time, all its threads

    @property
    def answered(self) -> int:
        return sum(self.statuses.values())

    def rate_of(self, *statuses: int) -> float:
        """Answers a second with one of `statuses`: the accepted orders' rate."""
        return sum(self.statuses.get(s, 0) for s in statuses) / self.seconds if self.seconds else 0

    def summary(self, label: str, *, accepted: Sequence[int] = (200, 201)) -> dict[str, Any]:
        refused = sum(n for status, n in self.statuses.items() if status not in accepted)
        failures = sum(self.errors.get(k, 0) for k in ("connect", "read", "write", "timeout"))
        return {
            "label": label,
            "offered": None,
            "achieved": round(self.rate_of(*accepted), 1),
            "p50_ms": round(self.latency_ms.get("p50", 0.0), 2),
            "p95_ms": round(self.latency_ms.get("p95", 0.0), 2),
            "p99_ms": round(self.latency_ms.get("p99", 0.0), 2),
            "max_ms": round(self.latency_ms.get("max", 0.0), 2),
            "errors": refused + failures,
            "requests": self.answered,
            "statuses": {str(s): n for s, n in sorted(self.statuses.items())},
            "timeouts": self.errors.get("timeout", 0),
            "connections": self.connections,
            "generator": generator_cost("wrk", self.cpu_s, self.answered, self.seconds),
        }


def generator_cost(tool: str, cpu_s: float, requests: int, seconds: float) -> dict[str, Any]:
    """What the load generator cost: CPU per request and its share of one core."""
    return {
        "tool": tool,
        "cpu_s": round(cpu_s, 3),
        "requests": requests,
        "cpu_us_per_request": round(cpu_s * 1e6 / requests, 1) if requests else None,
        "core_share": round(cpu_s / seconds, 4) if seconds else None,
    }


def _lua_string(text: str) -> str:
    """A Lua long string holding `text` verbatim (no escapes are read inside one)."""
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    return f"[{'=' * level}[{text}]{'=' * level}]"


def script(
    bodies: Sequence[str],
    *,
    path: str,
    headers: Mapping[str, str],
    prefix: str,
    method: str = "POST",
    as_uuid: bool = False,
) -> str:
    """The Lua script: each request is one of `bodies` (each holding UNIQUE once) with
    UNIQUE replaced by `prefix`, the thread's number and the request's number, also sent as
    its Idempotency-Key. `as_uuid`: the unique string is a UUID (a body field that must be
    one, an order id), `prefix` its first 8 hex digits."""
    if not bodies or any(body.count(UNIQUE) != 1 for body in bodies):
        raise ValueError(f"every body must hold {UNIQUE} exactly once")
    if as_uuid and (len(prefix) != 8 or any(c not in "0123456789abcdef" for c in prefix)):
        raise ValueError("a UUID's prefix is 8 lower-case hex digits")
    rendered = ",\n".join(
        "  {" + ", ".join(_lua_string(part) for part in body.split(UNIQUE)) + "}" for body in bodies
    )
    header_lines = ",\n".join(
        f"  [ {_lua_string(name)} ] = {_lua_string(value)}" for name, value in headers.items()
    )
    return LUA % {
        "bodies": rendered,
        "method": _lua_string(method),
        "path": _lua_string(path),
        "headers": header_lines,
        "prefix": _lua_string(prefix),
        "marker": _lua_string(MARKER),
        # A version-4 layout: prefix, thread, then the request's number in the last group.
        "unique_format": _lua_string("%s-%04x-4000-8000-%012x" if as_uuid else "%s%d-%d"),
    }


def parse(output: str, *, connections: int, cpu_s: float = 0.0) -> WrkRun:
    """The run from wrk's stdout: the JSON line the script's done() printed."""
    line = next((ln for ln in output.splitlines() if ln.startswith(MARKER)), None)
    if line is None:
        raise WrkError(f"no result line in wrk's output:\n{output}")
    found = json.loads(line.removeprefix(MARKER))
    return WrkRun(
        seconds=found["duration_us"] / 1e6,
        connections=connections,
        statuses={int(status): int(n) for status, n in found["statuses"].items()},
        lacking_retry_after=int(found["lacking_retry_after"]),
        errors={name: int(n) for name, n in found["errors"].items()},
        latency_ms={name: us / 1000 for name, us in found["latency_us"].items()},
        cpu_s=cpu_s,
    )


def run(
    url: str,
    lua: str,
    *,
    connections: int,
    seconds: float,
    threads: int = 1,
    timeout_s: float = 10,
) -> WrkRun:
    """wrk against `url` for `seconds` (blocking: call it in a thread). One thread is
    plenty: it drives tens of thousands of requests a second, and a second thread would
    take CPU from the services on a small machine."""
    if not Path(WRK).exists():
        raise WrkError(f"{WRK} is missing: `apt-get install wrk` (make bench installs it)")
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        path = Path(tmp) / "orders.lua"
        path.write_text(lua)
        command = [
            WRK,
            *("--threads", str(threads), "--connections", str(connections)),
            *("--duration", f"{max(1, round(seconds))}s", "--timeout", f"{timeout_s:g}s"),
            *("--script", str(path), url),
        ]
        with tempfile.TemporaryFile() as out:
            process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
            # wait4, not wait: it also returns the CPU wrk used, every thread of it.
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            output = out.read().decode(errors="replace")
    if process.returncode != 0:
        raise WrkError(f"wrk exited {process.returncode}:\n{output}")
    return parse(output, connections=connections, cpu_s=usage.ru_utime + usage.ru_stime)
