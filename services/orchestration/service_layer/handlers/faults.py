"""Fault injection for the crash tests: die at a saga step boundary, before or after the
database commit, once per armed point. Configured only by ORCHESTRATION_CRASH_POINTS (refused
in production), so a normal process never carries an armed point."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

CRASH_EXIT_CODE = 137


@dataclass(frozen=True)
class CrashPoints:
    points: frozenset[tuple[str, str]]  # (saga step name, "before" | "after")
    marker_dir: Path  # a point fires once: its marker file says it already did

    @classmethod
    def parse(cls, spec: str, marker_dir: str) -> CrashPoints | None:
        if not spec.strip():
            return None
        points = set()
        for item in spec.split(","):
            step, _, when = item.strip().partition(":")
            if when not in ("before", "after"):
                raise ValueError(f"crash point {item!r}: say step:before or step:after")
            points.add((step, when))
        return cls(frozenset(points), Path(marker_dir or ".local/crash-markers"))

    def at(self, steps: Iterable[str], when: str) -> None:
        for step in steps:
            if (step, when) not in self.points:
                continue
            marker = self.marker_dir / f"{step}.{when}"
            self.marker_dir.mkdir(parents=True, exist_ok=True)
            try:
                marker.touch(exist_ok=False)
            except FileExistsError:
                continue
            os._exit(CRASH_EXIT_CODE)  # no cleanup, no flush: what a kill -9 looks like
