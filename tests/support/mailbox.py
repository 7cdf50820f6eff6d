"""The messages the development SMTP sink (tools/mail_sink.py) wrote, read back for assertions.

    mail = await Mailbox(environment.MAIL_DIR).wait_for(
        lambda m: m.to_address == "ann@example.com" and "confirmed" in m.subject
    )
    assert "WEB-1001" in mail.text

The sink writes each message under a temporary name and renames it, so a `.eml` file here is
always a whole message; the names sort by arrival.
"""

from __future__ import annotations

import asyncio
import email.policy
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from tests.support.polling import eventually

ROOT = Path(__file__).resolve().parents[2]


def start_sink_process(directory: Path, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    """`python -m tools.mail_sink` as `make run` starts it, its JSON log lines in `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tools.mail_sink",
                "--dir",
                str(directory),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


async def wait_listening(process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
    """Until the sink accepts connections; fails at once should it exit instead."""

    async def accepting() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"the mail sink exited {process.returncode}: see {log_path}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return False
        writer.close()
        await writer.wait_closed()
        return True

    await eventually(accepting, timeout=15, interval=0.1, what="the mail sink listening")


@dataclass(frozen=True)
class ReceivedMail:
    path: Path
    raw: bytes = field(repr=False)
    message: EmailMessage = field(repr=False)

    @property
    def subject(self) -> str:
        return str(self.message["Subject"] or "")

    @property
    def to_address(self) -> str:
        """The first To address, bare (`ann@example.com`), whatever display name it had."""
        to = self.message["To"]
        addresses = getattr(to, "addresses", ()) if to is not None else ()
        return addresses[0].addr_spec if addresses else ""

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"] or "")

    def _part(self, subtype: str) -> str:
        part = self.message.get_body(preferencelist=(subtype,))
        if part is None or part.get_content_subtype() != subtype:
            raise AssertionError(f"{self.path.name} has no text/{subtype} part")
        content = part.get_content()
        assert isinstance(content, str)
        # Lines end in CRLF on the wire; the tests compare with what the templates rendered.
        return content.replace("\r\n", "\n")

    @property
    def text(self) -> str:
        return self._part("plain")

    @property
    def html(self) -> str:
        return self._part("html")


def read_mail(path: Path) -> ReceivedMail:
    raw = path.read_bytes()
    message = BytesParser(policy=email.policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return ReceivedMail(path=path, raw=raw, message=message)


class Mailbox:
    """A sink's folder of `.eml` files."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def messages(self) -> list[ReceivedMail]:
        """Every message so far, in the order they arrived."""
        if not self.directory.is_dir():
            return []
        return [read_mail(path) for path in sorted(self.directory.glob("*.eml"))]

    def matching(self, predicate: Callable[[ReceivedMail], bool]) -> list[ReceivedMail]:
        return [mail for mail in self.messages() if predicate(mail)]

    async def wait_for(
        self,
        predicate: Callable[[ReceivedMail], bool],
        *,
        count: int = 1,
        timeout: float = 15.0,
        what: str = "a matching e-mail in the sink",
    ) -> ReceivedMail:
        """The first message matching `predicate`, once `count` of them have arrived; fails at
        the deadline with the subjects of what did arrive."""

        async def probe() -> list[ReceivedMail]:
            return await asyncio.to_thread(self.matching, predicate)

        try:
            found = await eventually(
                probe, until=lambda mails: len(mails) >= count, timeout=timeout, what=what
            )
        except AssertionError as exc:
            subjects = [(m.to_address, m.subject) for m in self.messages()]
            raise AssertionError(f"{exc}\nin {self.directory}: {subjects}") from None
        return found[0]
