"""CPU time per process group, read from /proc: what one routed order costs each part.

A group is a service (every process of it: several workers share a name), PostgreSQL (every
backend and auxiliary process), Kafka (the broker's JVM) and the load generator. Counted in
user + system clock ticks, so time spent waiting on I/O or on another process is not counted.
Processes that ended between two readings are missed; the services' database connections are
pooled and long-lived, so PostgreSQL's backends stay put for a run.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

TICKS_PER_S = os.sysconf("SC_CLK_TCK")
ROOT = Path(__file__).resolve().parents[1]
KAFKA_PIDFILE = ROOT / ".local" / "kafka" / "kafka.pid"


def process_cpu_s(pid: int) -> float:
    """User + system seconds a process has used; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S


def _command_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def children_of(pid: int) -> list[int]:
    """Every descendant of `pid` (a service's worker processes, wrk's threads are one pid)."""
    parents: dict[int, list[int]] = {}
    for child in _all_pids():
        try:
            stat = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parents.setdefault(int(stat[1]), []).append(child)
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kafka_pid() -> int | None:
    try:
        return int(KAFKA_PIDFILE.read_text().strip())
    except (OSError, ValueError):
        return None


def postgres_pids() -> list[int]:
    return [pid for pid in _all_pids() if _command_name(pid) == "postgres"]


@dataclass(frozen=True)
class Reading:
    """CPU seconds used so far by each group's processes, per process (so a process that
    started after the first reading counts from zero)."""

    per_process: Mapping[str, Mapping[int, float]]

    def minus(self, earlier: Reading) -> dict[str, float]:
        """Seconds of CPU each group used between `earlier` and this reading."""
        used: dict[str, float] = {}
        for group, processes in self.per_process.items():
            before = earlier.per_process.get(group, {})
            used[group] = sum(s - before.get(pid, 0.0) for pid, s in processes.items())
        return used


def read(groups: Mapping[str, Iterable[int]]) -> Reading:
    return Reading({g: {pid: process_cpu_s(pid) for pid in pids} for g, pids in groups.items()})


def groups_of(
    services: Mapping[str, int], *, load_generator: Iterable[int] = ()
) -> dict[str, list[int]]:
    """The process groups to read: each service with its descendants, PostgreSQL, Kafka and
    the load generator (this process and whatever it started)."""
    groups = {name: [pid, *children_of(pid)] for name, pid in services.items()}
    groups["postgresql"] = postgres_pids()
    kafka = kafka_pid()
    groups["kafka"] = [kafka] if kafka is not None else []
    me = os.getpid()
    groups["load generator"] = [me, *load_generator]
    return groups


def per_order_ms(used_s: Mapping[str, float], orders: int) -> dict[str, float]:
    """Milliseconds of CPU per order for each group, and their sum over the services."""
    if orders <= 0:
        return {}
    return {group: round(seconds * 1000 / orders, 2) for group, seconds in used_s.items()}
