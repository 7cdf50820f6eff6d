"""CPU time per process group, read from /proc: what one routed order costs each part.

A group is a service (its process and every descendant: a service may run several worker
processes), PostgreSQL (the backends connected to this run's databases, and the server's
shared processes: postmaster, WAL writer, checkpointer...), Kafka (the broker's JVM), the load
generator (bench.pacer's process) and the benchmark itself (its routed watch). Counted in
user + system clock ticks, so time spent waiting on I/O or on another process is not counted.
Groups are listed again at every reading, so a process that started in between (a new pooled
connection's backend, a respawned worker) counts from zero; one that ended in between is
missed. PostgreSQL's shared processes and the broker also work for anything else using them
at the time (another test run on the same machine): their figures are an upper bound.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

TICKS_PER_S = os.sysconf("SC_CLK_TCK")
ROOT = Path(__file__).resolve().parents[1]
KAFKA_PIDFILE = ROOT / ".local" / "kafka" / "kafka.pid"


def process_cpu_s(pid: int) -> float | None:
    """User + system seconds a process has used; None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S


def group_cpu_s(pids: Iterable[int]) -> float:
    """User + system seconds the processes still running have used."""
    return sum(s for pid in pids if (s := process_cpu_s(pid)) is not None)


def _command_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _children_by_parent() -> dict[int, list[int]]:
    parents: dict[int, list[int]] = {}
    for child in _all_pids():
        try:
            stat = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parents.setdefault(int(stat[1]), []).append(child)
    return parents


def descendants_of(pids: Iterable[int]) -> dict[int, list[int]]:
    """Every descendant of each of `pids` (a service's worker processes; wrk's threads are
    one pid), from one pass over /proc."""
    parents = _children_by_parent()
    found: dict[int, list[int]] = {}
    for pid in pids:
        found[pid], todo = [], [pid]
        while todo:
            for child in parents.get(todo.pop(), []):
                found[pid].append(child)
                todo.append(child)
    return found


def kafka_pid() -> int | None:
    """The broker `make infra` started (its pid file), else any JVM running kafka.Kafka
    (a broker this working copy did not start)."""
    try:
        return int(KAFKA_PIDFILE.read_text().strip())
    except (OSError, ValueError):
        pass
    return next((pid for pid in _all_pids() if " kafka.Kafka " in f" {_title(pid)} "), None)


def _title(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


# A backend's process title: "postgres: [cluster: ]user database host(port)|[local] state".
_BACKEND = re.compile(r"^postgres: (?:\S+: )?\S+ (\S+) (?:\S+\(\d+\)|\[local\])")


def is_ours(title: str, databases: Collection[str]) -> bool:
    """A PostgreSQL process to count: a backend of one of `databases`, or a shared process
    (postmaster, WAL writer, checkpointer, autovacuum...). Backends of other databases
    (another test run's) are left out."""
    backend = _BACKEND.match(title)
    return backend is None or backend.group(1) in databases


def postgres_pids(databases: Collection[str]) -> list[int]:
    return [
        pid
        for pid in _all_pids()
        if _command_name(pid) == "postgres" and is_ours(_title(pid), databases)
    ]


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
    return Reading(
        {
            group: {pid: s for pid in pids if (s := process_cpu_s(pid)) is not None}
            for group, pids in groups.items()
        }
    )


LOAD_GENERATOR, BENCHMARK = "load generator", "benchmark"


def groups_of(
    services: Mapping[str, int],
    *,
    databases: Collection[str],
    load_generator: Iterable[int] = (),
) -> dict[str, list[int]]:
    """The process groups to read: each service with its descendants, PostgreSQL (this
    run's `databases`), Kafka, the load generator's processes and this process."""
    descendants = descendants_of(services.values())
    groups = {name: [pid, *descendants[pid]] for name, pid in services.items()}
    groups["postgresql"] = postgres_pids(databases)
    kafka = kafka_pid()
    groups["kafka"] = [kafka] if kafka is not None else []
    groups[LOAD_GENERATOR] = list(load_generator)
    groups[BENCHMARK] = [os.getpid()]
    return groups


def per_order_ms(
    used_s: Mapping[str, float], orders: int, *, services: Iterable[str]
) -> dict[str, float]:
    """Milliseconds of CPU per order for each group, and "services", their sum over
    `services`."""
    if orders <= 0:
        return {}
    found = {group: round(seconds * 1000 / orders, 2) for group, seconds in used_s.items()}
    found[SERVICES_SUM] = round(sum(used_s.get(s, 0.0) for s in services) * 1000 / orders, 2)
    return found


SERVICES_SUM = "services"


def above_idle(
    used_s: Mapping[str, float],
    idle_per_s: Mapping[str, float],
    seconds: float,
    *,
    groups: Collection[str],
) -> dict[str, float]:
    """What `groups` used beyond their idle housekeeping (relay polls, job timers) over
    `seconds`: the work the orders caused; the other groups as they are. Only a group of
    this run's own processes has an idle rate worth subtracting: PostgreSQL's shared
    processes and the broker also work for whatever else runs on the machine, so theirs is
    noise, and their figures stay upper bounds."""
    return {
        group: max(0.0, used - idle_per_s.get(group, 0.0) * seconds) if group in groups else used
        for group, used in used_s.items()
    }
