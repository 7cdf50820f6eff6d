"""A service's processes share one standard output (the supervisor's): every log line must
reach it whole, never torn by another process's line written in between."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

WRITER = """
import logging, sys
from libs.observability.logging import configure_logging, get_logger
configure_logging(service="writer")
log, std = get_logger(), logging.getLogger("std")
names = [f"topic-{n:04d}.events:{p}" for n in range(40) for p in range(2)]
for i in range(int(sys.argv[1])):
    log.info("consumer.assigned", partitions=names, number=i)
    std.warning("standard library line %d %s", i, "x" * 300)
"""


def test_lines_of_processes_sharing_stdout_arrive_whole(tmp_path: Path) -> None:
    path = tmp_path / "shared.log"
    root = Path(__file__).resolve().parents[3]
    lines_each = 1500
    with path.open("ab") as shared:
        writers = [
            subprocess.Popen(
                [sys.executable, "-c", WRITER, str(lines_each)],
                cwd=root,
                stdout=shared,
                stderr=subprocess.STDOUT,
            )
            for _ in range(3)
        ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0, 0]

    torn = []
    lines = path.read_text().splitlines()
    for line in lines:
        try:
            json.loads(line)
        except ValueError:
            torn.append(line[:120])
    assert not torn, f"{len(torn)} torn lines, e.g. {torn[:2]}"
    assert len(lines) == 3 * lines_each * 2
