"""`python -m services.insights [api] [relay] [consumer] [jobs]` (all parts by default),
in INSIGHTS_PROCESSES processes (see libs.processes)."""

import sys
from collections.abc import Sequence

from libs.processes import run
from services.insights.config import InsightsSettings


def serve(settings: InsightsSettings, parts: Sequence[str], listen_fd: int | None) -> None:
    # Imported here: a supervisor of several processes never loads the app, and stays small.
    from libs.runtime import run_service
    from services.insights.api.app import create_app
    from services.insights.bootstrap import bootstrap

    run_service(
        parts,
        settings=settings,
        build_container=bootstrap,
        build_app=create_app,
        listen_fd=listen_fd,
    )


if __name__ == "__main__":
    run(sys.argv[1:], settings=InsightsSettings(), serve=serve)
