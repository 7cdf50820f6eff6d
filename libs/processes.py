"""A service instance as one process or several: what `python -m services.<name>` starts.

With `<PREFIX>_PROCESSES=1` the process runs the service itself. With more, it is a small
supervisor: it binds the HTTP socket once and starts that many children, each
`python -m services.<name> [parts] --child=<n>/<count> --supervisor=<pid> [--listen-fd=<fd>]`,
and each a whole service process:
- HTTP on the inherited socket: the kernel hands each new connection to one child;
- its consumer in the service's one consumer group: the partitions are split among them
  (with static membership, KAFKA_GROUP_INSTANCE_ID becomes `<id>-<n>`: one id per member);
- its relay, which leads only while it holds the service's advisory lock: one at a time;
- the jobs, which claim the rows they work on, so no two children do the same work.

With `<PREFIX>_CONSUMER_APART`, the consumer is not in those children but in one more of its
own (`consumer --child=<count + 1>/<count> ... --nice=<CONSUMER_APART_NICE>`), at a lower CPU
priority: the requests of the HTTP children never wait behind a batch of consumed events, and
on a busy machine the kernel runs them first. The supervisor runs even for one HTTP process.

The supervisor itself never imports the app, so it stays small (~55 MB against ~130 MB of a
child). What it does:
- SIGTERM or SIGINT: sends it on to every child, waits up to STOP_TIMEOUT_S for them to stop
  (then SIGKILL), and exits 0. The children have sessions of their own, so a Ctrl-C in a
  terminal reaches only the supervisor (a second SIGINT would make uvicorn skip its shutdown).
- A child exits on its own (a crash, or it failed to start): the supervisor stops the others
  and exits with that child's status. Whatever runs the service (make run, systemd,
  Kubernetes) sees it down and restarts it whole: a service is never left running quietly on
  fewer processes than it was given.
- The supervisor is killed outright (SIGKILL, out of memory): the kernel kills the children
  too (PR_SET_PDEATHSIG, Linux), so none serves on orphaned with nothing to stop it.
- Metrics: a scrape of `/metrics` reaches whichever child the kernel hands the connection, so
  the children share their values through a fresh directory the supervisor makes for this run
  (METRICS_DIRECTORY_ENV, prometheus-client's multiprocess mode; libs.observability.metrics)
  and removes when it stops. One process alone keeps them in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import math
import os
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import structlog

from libs.config import ServiceSettings
from libs.observability.logging import configure_logging, get_logger

log = get_logger(__name__)

PARTS = ("api", "relay", "consumer", "jobs")
STOP_TIMEOUT_S = 10.0  # below the 15 s that make run and the tests give a service to stop
_PR_SET_PDEATHSIG = 1
# Read by prometheus-client when it is imported: set, each process keeps its metric values in
# files of that directory, and a scrape adds up every process's files. Set by an operator, it
# only says where the supervisor makes its run's directory.
METRICS_DIRECTORY_ENV = "PROMETHEUS_MULTIPROC_DIR"

S = TypeVar("S", bound=ServiceSettings)
# Runs the service in this process: its settings, its parts, and the socket to serve HTTP on
# (a file descriptor inherited from the supervisor; None: bind HTTP_HOST:HTTP_PORT itself).
Serve = Callable[[S, Sequence[str], int | None], None]


@dataclass(frozen=True)
class Child:
    """What the supervisor tells a child on its command line."""

    number: int  # 1 .. count, and count + 1 for a consumer apart
    count: int  # the children that serve HTTP
    supervisor: int  # its pid
    listen_fd: int | None
    nice: int | None = None  # in place of CPU_NICE (the consumer apart)


def run(argv: Sequence[str], *, settings: S, serve: Serve[S]) -> None:
    """`python -m services.<name> [parts]`: the service in this process, or PROCESSES of them."""
    parts, child = parse(argv)
    if child is not None:
        _die_with(child.supervisor)
        structlog.contextvars.bind_contextvars(process=child.number)
        yield_cpu(settings.CPU_NICE if child.nice is None else child.nice)
        serve(child_settings(settings, child), parts, child.listen_fd)
    elif settings.PROCESSES == 1 and not consumer_apart(settings, parts):
        yield_cpu(settings.CPU_NICE)
        # Alone, its values stay in memory: files left in a directory by an earlier run
        # would be added to this one's.
        os.environ.pop(METRICS_DIRECTORY_ENV, None)
        serve(settings, parts, None)
    else:
        configure_logging(service=settings.deploy_name, level=settings.LOG_LEVEL)
        structlog.contextvars.bind_contextvars(process="supervisor")
        raise SystemExit(Supervisor(settings, parts).run())


def parse(argv: Sequence[str]) -> tuple[list[str], Child | None]:
    """The parts to run (all of them by default) and, in a child, what its supervisor said."""
    parts = [a for a in argv if not a.startswith("--")]
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise SystemExit(f"unknown part(s) {unknown}; choose from {PARTS}")
    options: dict[str, str] = {}
    for arg in argv:
        if arg.startswith("--"):
            name, _, value = arg[2:].partition("=")
            options[name] = value
    if set(options) - {"child", "supervisor", "listen-fd", "nice"}:
        raise SystemExit(f"unknown option(s) in {list(argv)}; the only arguments are {PARTS}")
    if "child" not in options:
        return parts or list(PARTS), None
    number, _, count = options["child"].partition("/")
    fd = options.get("listen-fd")
    nice = options.get("nice")
    child = Child(
        int(number),
        int(count),
        int(options["supervisor"]),
        int(fd) if fd else None,
        int(nice) if nice else None,
    )
    return parts or list(PARTS), child


def consumer_apart(settings: ServiceSettings, parts: Sequence[str]) -> bool:
    """Whether the consumer runs in a process of its own: asked for, and there is both a
    consumer and an API to keep apart."""
    return settings.CONSUMER_APART and "consumer" in parts and "api" in parts


def child_settings(settings: S, child: Child) -> S:
    """A child's settings: its own static member id, and its share of the instance's limits
    that guard against abuse (each child counts only the requests it serves)."""
    changes: dict[str, object] = {
        # The self-service limit stops guessing of order numbers and e-mails: split, it still
        # admits no more than SELF_SERVICE_RATE_PER_MIN per address to the instance. The write
        # limit is a fairness guard, kept whole per process: split, a client on one keep-alive
        # connection (which stays with one child) would get only a share of it.
        "SELF_SERVICE_RATE_PER_MIN": settings.SELF_SERVICE_RATE_PER_MIN / child.count,
        "SELF_SERVICE_BURST": math.ceil(settings.SELF_SERVICE_BURST / child.count),
    }
    if settings.KAFKA_GROUP_INSTANCE_ID:
        # Two members with one instance id fence each other out of the group.
        changes["KAFKA_GROUP_INSTANCE_ID"] = f"{settings.KAFKA_GROUP_INSTANCE_ID}-{child.number}"
    return settings.model_copy(update=changes)


def yield_cpu(nice: int) -> None:
    """Run this process at Unix nice `nice` (CPU_NICE). With the kernel's autogroup scheduling
    (the default of most distributions' kernels) the CPU is first shared between sessions, and
    a process's own nice counts only within its session; so a process that leads its session
    (make run, make bench and the supervisor start every service process in one of its own)
    also sets its session's nice, or the setting would change nothing."""
    if nice <= 0 or not hasattr(os, "setpriority"):
        return
    os.setpriority(os.PRIO_PROCESS, 0, nice)
    if os.getsid(0) == os.getpid():
        with contextlib.suppress(OSError):  # no autogroup scheduling in this kernel
            Path("/proc/self/autogroup").write_text(str(nice))


def _die_with(supervisor: int) -> None:
    """Be killed with the supervisor, should it be killed without stopping this process."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != supervisor:
        os._exit(1)  # it died before the line above: nothing would ever stop this process


class Supervisor:
    def __init__(self, settings: ServiceSettings, parts: Sequence[str]) -> None:
        self._settings = settings
        self._parts = list(parts)
        self._count = settings.PROCESSES
        self._apart = consumer_apart(settings, parts)
        if self._apart:
            self._parts.remove("consumer")
        main = sys.modules["__main__"].__spec__
        if main is None or main.parent is None:
            raise SystemExit("run a service as `python -m services.<name>`")
        self._module = main.parent

    def run(self) -> int:
        """Start the children, supervise them until asked to stop or one exits; the status."""
        listening = self._bind() if "api" in self._parts else None
        with shared_metrics_directory(self._settings.deploy_name):
            return asyncio.run(self._supervise(listening))

    def _bind(self) -> socket.socket:
        # Bound here, once, so a port in use fails the start at once with a plain error, and
        # every child accepts from the same queue (no SO_REUSEPORT: that would also let any
        # other process of this user bind the port beside us).
        host, port = self._settings.HTTP_HOST, self._settings.HTTP_PORT
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            listening = socket.create_server((host, port), family=family, backlog=2048)
        except OSError as exc:
            raise SystemExit(f"cannot listen on {host}:{port}: {exc}") from exc
        listening.set_inheritable(True)
        return listening

    async def _supervise(self, listening: socket.socket | None) -> int:
        loop = asyncio.get_running_loop()
        asked: asyncio.Future[int] = loop.create_future()
        for asking in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(asking, _settle, asked, asking)
        children: list[asyncio.subprocess.Process] = []
        try:
            for number in range(1, self._count + 1):
                children.append(await self._start(number, self._parts, listening))
            if self._apart:
                children.append(
                    await self._start(
                        self._count + 1,
                        ["consumer"],
                        None,
                        nice=max(self._settings.CPU_NICE, self._settings.CONSUMER_APART_NICE),
                    )
                )
        finally:
            if listening is not None:
                listening.close()  # the children hold it: the port closes with the last of them
        log.info(
            "service.supervisor.started",
            processes=len(children),
            pids=[c.pid for c in children],
            parts=self._parts,
            consumer_apart=self._apart,
        )
        exits = {asyncio.ensure_future(c.wait()): c for c in children}
        await asyncio.wait([asked, *exits], return_when=asyncio.FIRST_COMPLETED)
        if asked.done():
            code, sig = 0, asked.result()
            log.info("service.supervisor.stopping", signal=signal.Signals(sig).name)
        else:
            died = next(c for c in children if c.returncode is not None)
            code, sig = _status(died.returncode), signal.SIGTERM
            log.error(
                "service.supervisor.child_exited",
                pid=died.pid,
                returncode=died.returncode,
                action="stopping the other processes and exiting",
            )
        await _stop(children, sig)
        for task in exits:
            task.cancel()
        log.info("service.supervisor.stopped", status=code)
        return code

    async def _start(
        self,
        number: int,
        parts: Sequence[str],
        listening: socket.socket | None,
        *,
        nice: int | None = None,
    ) -> asyncio.subprocess.Process:
        argv = [
            *parts,
            f"--child={number}/{self._count}",
            f"--supervisor={os.getpid()}",
        ]
        if nice is not None:
            argv.append(f"--nice={nice}")
        fds: tuple[int, ...] = ()
        if listening is not None:
            argv.append(f"--listen-fd={listening.fileno()}")
            fds = (listening.fileno(),)
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            self._module,
            *argv,
            pass_fds=fds,
            # A session of its own: a terminal's Ctrl-C reaches the supervisor only, which
            # passes it on once.
            start_new_session=True,
        )


@contextlib.contextmanager
def shared_metrics_directory(service: str) -> Iterator[str]:
    """A new, empty directory for the children's metric values, named to them through the
    environment they inherit, and removed afterwards. New for every run: the files of an
    earlier run's processes would otherwise be added to this one's counters."""
    base = os.environ.get(METRICS_DIRECTORY_ENV) or None
    directory = tempfile.mkdtemp(prefix=f"oms-metrics-{service}-", dir=base)
    os.environ[METRICS_DIRECTORY_ENV] = directory
    try:
        yield directory
    finally:
        if base is None:
            os.environ.pop(METRICS_DIRECTORY_ENV, None)
        else:
            os.environ[METRICS_DIRECTORY_ENV] = base
        shutil.rmtree(directory, ignore_errors=True)


def _settle(asked: asyncio.Future[int], sig: int) -> None:
    if not asked.done():
        asked.set_result(sig)


def _status(returncode: int | None) -> int:
    """The supervisor's exit status for a child that ended on its own: its own status, the
    shell's 128 + n for a signal, and never 0 (a child is not meant to end by itself)."""
    if returncode is None or returncode == 0:
        return 1
    return 128 - returncode if returncode < 0 else returncode


async def _stop(children: Sequence[asyncio.subprocess.Process], sig: int) -> None:
    for child in children:
        if child.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(sig)
    try:
        async with asyncio.timeout(STOP_TIMEOUT_S):
            await asyncio.gather(*(c.wait() for c in children))
    except TimeoutError:
        for child in children:
            if child.returncode is None:
                log.warning("service.supervisor.kill", pid=child.pid, after_s=STOP_TIMEOUT_S)
                with contextlib.suppress(ProcessLookupError):
                    child.kill()
        await asyncio.gather(*(c.wait() for c in children))
