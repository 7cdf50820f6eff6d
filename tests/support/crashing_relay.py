"""order-capture's relay, made to die between sending a batch and deleting it from the outbox.

Run as its own process by the end-to-end test: `python -m tests.support.crashing_relay`.
It is the real relay (same claim, same producer, same lock); only `delete_published` ends the
process the way a power cut would, with no clean-up and no commit.
"""

from __future__ import annotations

import asyncio
import os
import sys

import asyncpg

from libs.outbox.relay import OutboxRelay
from services.order_capture.bootstrap import bootstrap

CRASH_EXIT_CODE = 137


class DiesBeforeDeleting(OutboxRelay):
    async def delete_published(self, conn: asyncpg.Connection, seqs: list[int]) -> None:
        print(f"sent {len(seqs)} row(s); dying before deleting them", file=sys.stderr, flush=True)
        os._exit(CRASH_EXIT_CODE)


if __name__ == "__main__":
    asyncio.run(bootstrap(relay_class=DiesBeforeDeleting).relay.run())
