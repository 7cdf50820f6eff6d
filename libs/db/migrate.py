"""Applies every service's migrations: `python -m libs.db.migrate [service ...]`.

The services and their migrations folders (each one's section of migrations/alembic.ini) are
libs.registry's. Each service reads its own database URL from its settings
(`<PREFIX>_DATABASE_URL`), so the same command migrates the development databases or, with the
test environment, the test databases.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from alembic import command
from alembic.config import Config

from libs import registry
from libs.db.alembic_env import EMPTY_FIRST

SERVICES = registry.names()
INI = Path(__file__).resolve().parents[2] / "migrations" / "alembic.ini"


def upgrade(
    service: str,
    revision: str = "head",
    *,
    downgrade: bool = False,
    empty_first: bool = False,
    attempts: int = 30,
) -> None:
    config = Config(str(INI), ini_section=registry.service(service).migrations)
    config.attributes[EMPTY_FIRST] = empty_first
    move = command.downgrade if downgrade else command.upgrade
    for attempt in range(1, attempts + 1):
        try:
            move(config, revision)
            return
        except OSError as exc:  # database still starting: say so and keep trying
            print(
                f"migrate {service}: database unreachable ({exc}); retry {attempt}/{attempts}",
                file=sys.stderr,
            )
            time.sleep(1)
    raise SystemExit(f"migrate {service}: database unreachable after {attempts} attempts")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("services", nargs="*", metavar="service", help=f"any of {SERVICES}")
    parser.add_argument(
        "--from-scratch",
        action="store_true",
        help="empty the database and downgrade it to base first (the test suite uses it)",
    )
    args = parser.parse_args(argv)
    unknown = set(args.services) - set(SERVICES)
    if unknown:
        parser.error(f"unknown service(s) {sorted(unknown)}; choose from {SERVICES}")
    for service in args.services or SERVICES:
        if args.from_scratch:
            upgrade(service, "base", downgrade=True, empty_first=True)
        upgrade(service)
        print(f"migrate {service}: at head", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
