"""Sampling profiles of the running services with py-spy, reduced to where the time goes.

`py-spy record --format raw` writes one line per distinct stack ("frame;frame;... count").
A function's share is the share of busy samples whose stack passes through it (inclusive),
and the leaf share is where the interpreter actually was. Idle threads (a pool waiting on
its queue) are left out, so shares are of the time the service was doing something.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

PY_SPY = Path(sys.executable).parent / "py-spy"
FRAME = re.compile(r"(?P<function>.*) \((?P<file>.*):\d+\)$")
IDLE = ("Condition.wait", "Queue.get", "select (selectors.py", "EpollSelector.select")
OUR_CODE = re.compile(r"\((services|libs)/")


@dataclass(frozen=True)
class Profile:
    service: str
    samples: int
    top: list[tuple[str, float]]  # our functions, inclusive share in %
    leaves: list[tuple[str, float]]  # any function, self share in %

    def to_dict(self) -> dict[str, object]:
        return {
            "tool": "py-spy",
            "service": self.service,
            "samples": self.samples,
            "top": [[name, share] for name, share in self.top],
            "leaves": [[name, share] for name, share in self.leaves],
        }


def start_recording(pid: int, output: Path, seconds: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            str(PY_SPY),
            "record",
            *("--pid", str(pid), "--duration", str(seconds), "--rate", "100"),
            *("--format", "raw", "--output", str(output), "--nonblocking"),
            "--subprocesses",  # a service may run several worker processes
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _name(frame: str) -> str:
    found = FRAME.match(frame)
    return f"{found['function']} ({found['file']})" if found else frame


def reduce(service: str, raw: str, *, top: int = 12) -> Profile:
    inclusive: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or not count.isdigit() or any(idle in stack for idle in IDLE):
            continue
        n = int(count)
        total += n
        frames = [_name(frame) for frame in stack.split(";")]
        for name in set(frames):
            inclusive[name] += n
        leaves[frames[-1]] += n

    def share(n: int) -> float:
        return round(100 * n / total, 1) if total else 0.0

    ours = [(name, share(n)) for name, n in inclusive.most_common() if OUR_CODE.search(name)]
    # The entry points (main, the runtime, the middleware chain) hold every sample.
    ours = [(name, pct) for name, pct in ours if pct < 95][:top]
    return Profile(
        service=service,
        samples=total,
        top=ours,
        leaves=[(name, share(n)) for name, n in leaves.most_common(top)],
    )
