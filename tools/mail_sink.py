"""The development SMTP sink: accepts every message and writes it to a folder as a `.eml` file.

    python -m tools.mail_sink --dir .local/mail --host 127.0.0.1 --port 1025
    python -m tools.mail_sink --port 1025 --reject 'bounce-.*@example\\.com'

`make run` starts it on port 1025 with `.local/mail/`, the test run on its own port with
`.local/mail-test/<run id>/`. Nothing is relayed anywhere: the sink is where the customer
e-mails of a development stack end, to be opened in any mail client (a `.eml` file is the
message exactly as it came over SMTP, RFC 5322) or read by a test (tests/support/mailbox.py).

Each message is one file named `<UTC time>-<arrival number>-<random>.eml`, so the names sort
by arrival and never collide, written under a temporary name and renamed, so a reader never
sees half a message. One JSON log line per message. `--reject PATTERN` answers
`550` (permanent) to a matching recipient and `--defer PATTERN` answers `451` (try later),
so the senders' failure handling can be tested against a real SMTP conversation.
SIGTERM or SIGINT stops it cleanly (exit 0).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import os
import re
import signal
import sys
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from pathlib import Path

from aiosmtpd.smtp import SMTP, Envelope, Session

from libs.observability.logging import configure_logging, get_logger

DEFAULT_DIR = Path(".local/mail")
DEFAULT_PORT = 1025
# What the sink calls itself in its greeting. Set, because aiosmtpd's default asks the resolver
# for this machine's fully qualified name, which can take seconds where DNS is slow.
SINK_HOSTNAME = "mail-sink.localhost"

log = get_logger("tools.mail_sink")


def message_file_name(received_at: datetime, arrival: int) -> str:
    """`20260305T101530.123456Z-000001-1a2b3c4d.eml`: the time orders files from different
    runs, the arrival number those within one microsecond, the random part keeps two sinks on
    one folder from colliding."""
    stamp = received_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    return f"{stamp}-{arrival:06d}-{uuid.uuid4().hex[:8]}.eml"


def write_message(directory: Path, name: str, content: bytes) -> Path:
    """Write atomically: the bytes under a hidden temporary name, then one rename."""
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / name
    temporary = directory / f".{name}.part"
    temporary.write_bytes(content)
    os.replace(temporary, final)
    return final


class MailDirHandler:
    """aiosmtpd's handler: the hooks it calls by name (handle_RCPT, handle_DATA)."""

    def __init__(
        self,
        directory: Path,
        *,
        reject: Sequence[str] = (),
        defer: Sequence[str] = (),
    ) -> None:
        self.directory = directory
        self._reject = [re.compile(pattern, re.IGNORECASE) for pattern in reject]
        self._defer = [re.compile(pattern, re.IGNORECASE) for pattern in defer]
        self._arrivals = itertools.count(1)

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if any(pattern.fullmatch(address) for pattern in self._reject):
            log.info("mail_recipient_rejected", recipient=address, reply=550)
            return "550 5.1.1 Mailbox unavailable (the sink rejects this address)"
        if any(pattern.fullmatch(address) for pattern in self._defer):
            log.info("mail_recipient_deferred", recipient=address, reply=451)
            return "451 4.3.0 Try again later (the sink defers this address)"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        # The message as it came over the wire (dot-unstuffed); `content` may be decoded text.
        content = envelope.original_content
        if content is None:
            raw = envelope.content
            content = raw.encode() if isinstance(raw, str) else (raw or b"")
        received_at = datetime.now(UTC)
        name = message_file_name(received_at, next(self._arrivals))
        path = await asyncio.to_thread(write_message, self.directory, name, content)
        headers = BytesHeaderParser(policy=default_policy).parsebytes(content)
        log.info(
            "mail_received",
            file=str(path),
            mail_from=envelope.mail_from,
            rcpt_to=envelope.rcpt_tos,
            subject=str(headers.get("Subject", "")),
            message_id=str(headers.get("Message-ID", "")),
            size=len(content),
        )
        return "250 2.0.0 Message accepted for delivery"


async def start(
    directory: Path,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    reject: Sequence[str] = (),
    defer: Sequence[str] = (),
) -> asyncio.Server:
    """The sink listening on the running loop (port 0: any free port; read it from the
    server's sockets). Close the returned server to stop it."""
    handler = MailDirHandler(directory, reject=reject, defer=defer)
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: SMTP(handler, hostname=SINK_HOSTNAME, enable_SMTPUTF8=True),
        host=host,
        port=port,
    )


def bound_port(server: asyncio.Server) -> int:
    port: int = server.sockets[0].getsockname()[1]
    return port


async def _serve(args: argparse.Namespace) -> None:
    server = await start(
        Path(args.dir), host=args.host, port=args.port, reject=args.reject, defer=args.defer
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    log.info(
        "mail_sink_listening", host=args.host, port=bound_port(server), directory=str(args.dir)
    )
    await stop.wait()
    server.close()
    await server.wait_closed()
    log.info("mail_sink_stopped")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.mail_sink", description=__doc__)
    parser.add_argument("--dir", default=str(DEFAULT_DIR), help="where the .eml files go")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument(
        "--reject",
        action="append",
        default=[],
        metavar="PATTERN",
        help="answer 550 to recipients matching this regular expression (repeatable)",
    )
    parser.add_argument(
        "--defer",
        action="append",
        default=[],
        metavar="PATTERN",
        help="answer 451 to recipients matching this regular expression (repeatable)",
    )
    args = parser.parse_args(argv)
    configure_logging(service="mail_sink", level=os.environ.get("MAIL_SINK_LOG_LEVEL", "INFO"))
    # aiosmtpd logs every SMTP command at INFO; one line per message is what a reader wants.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    try:
        asyncio.run(_serve(args))
    except OSError as exc:  # the port taken, the folder not writable
        log.error("mail_sink_failed", error=str(exc))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
