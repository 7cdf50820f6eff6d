"""EmailSender through real SMTP into the real development sink (aiosmtpd), read back from the
`.eml` file the sink wrote: what a customer's mail client would get."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import pytest

from libs.ids import new_id
from services.notifications.adapters.mail import SmtpEmailSender, SmtpSettings
from services.notifications.adapters.templating import TemplateRenderer, load_brand_book
from services.notifications.domain.localisation import Language
from services.notifications.domain.messages import EmailMessage, NotificationKind, SendFailed
from tests.notifications.message_contexts import HOSTILE, complete_context
from tests.support.mailbox import Mailbox, ReceivedMail
from tools import mail_sink

BOOK = load_brand_book()
RENDERER = TemplateRenderer()


@dataclass
class Sink:
    port: int
    mailbox: Mailbox

    def sender(self, timeout_s: float = 5.0) -> SmtpEmailSender:
        # The sink offers no STARTTLS; a production server would (start_tls=None takes it).
        return SmtpEmailSender(
            SmtpSettings(host="127.0.0.1", port=self.port, timeout_s=timeout_s, start_tls=False)
        )


@pytest.fixture
async def sink(tmp_path: Path) -> AsyncIterator[Sink]:
    """The real sink on a free port: `gone@...` answered 550, `busy@...` 451."""
    server = await mail_sink.start(
        tmp_path / "mail", host="127.0.0.1", port=0, reject=[r"gone@.*"], defer=[r"busy@.*"]
    )
    try:
        yield Sink(port=mail_sink.bound_port(server), mailbox=Mailbox(tmp_path / "mail"))
    finally:
        server.close()
        await server.wait_closed()


def shipped_mail(
    language: Language, *, to: str = "ann@example.com", notification_id: UUID | None = None
) -> EmailMessage:
    brand = BOOK.for_channel("marketplace")
    return EmailMessage(
        notification_id=notification_id or new_id(),
        to_address=to,
        to_name=f"Ann {HOSTILE}",
        brand=brand,
        language=language,
        content=RENDERER.render(
            NotificationKind.SHIPPED, language, brand, complete_context(NotificationKind.SHIPPED)
        ),
    )


def by_message_id(message_id: str) -> Callable[[ReceivedMail], bool]:
    return lambda mail: mail.message_id == message_id


@pytest.mark.parametrize("language", list(Language))
async def test_a_sent_mail_arrives_whole_with_both_parts_and_its_headers(
    sink: Sink, language: Language
) -> None:
    message = shipped_mail(language)
    message_id = await sink.sender().send(message)

    mail = await sink.mailbox.wait_for(by_message_id(message_id))
    assert message_id == f"<{message.notification_id}@shop.example.com>"
    assert mail.subject == message.content.subject
    assert mail.message["From"].addresses[0].display_name == "OMS Shop on Marketplace"
    assert mail.message["From"].addresses[0].addr_spec == "orders@shop.example.com"
    assert mail.message["Reply-To"].addresses[0].addr_spec == (
        "marketplace-support@shop.example.com"
    )
    assert mail.to_address == "ann@example.com"
    assert mail.message["To"].addresses[0].display_name == f"Ann {HOSTILE}"
    assert mail.message["Date"].datetime is not None
    assert mail.message["Content-Language"] == language.value
    assert mail.message.get_content_type() == "multipart/alternative"
    assert mail.text == message.content.text
    assert mail.html == message.content.html
    assert "JJD000390007777" in mail.text and "https://track.example.com/" in mail.html
    assert "<script>" not in mail.html
    assert mail.path.suffix == ".eml"


async def test_a_mail_sent_twice_keeps_its_message_id(sink: Sink) -> None:
    notification = new_id()
    sender = sink.sender()
    first = await sender.send(shipped_mail(Language.EN, notification_id=notification))
    again = await sender.send(shipped_mail(Language.EN, notification_id=notification))
    assert first == again
    both = await sink.mailbox.wait_for(by_message_id(first), count=2)
    assert both.message_id == first


async def test_the_sink_keeps_arrival_order_and_leaves_no_partial_files(sink: Sink) -> None:
    sender = sink.sender()
    sent = [await sender.send(shipped_mail(Language.EN)) for _ in range(5)]
    await sink.mailbox.wait_for(lambda mail: mail.message_id == sent[-1])
    assert [mail.message_id for mail in sink.mailbox.messages()] == sent
    names = await asyncio.to_thread(
        lambda: sorted(p.name for p in sink.mailbox.directory.iterdir())
    )
    assert all(name.endswith(".eml") and not name.startswith(".") for name in names)


async def test_an_unknown_mailbox_is_a_permanent_failure(sink: Sink) -> None:
    with pytest.raises(SendFailed) as failed:
        await sink.sender().send(shipped_mail(Language.EN, to="gone@example.com"))
    assert failed.value.transient is False
    assert failed.value.code == 550
    assert sink.mailbox.messages() == []


async def test_a_deferring_server_is_a_transient_failure(sink: Sink) -> None:
    with pytest.raises(SendFailed) as failed:
        await sink.sender().send(shipped_mail(Language.EN, to="busy@example.com"))
    assert failed.value.transient is True
    assert failed.value.code == 451


async def test_no_server_is_a_transient_failure() -> None:
    # A port nothing listens on: bound and released, so the kernel refuses the connection.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sender = SmtpEmailSender(SmtpSettings(host="127.0.0.1", port=port, timeout_s=2))
    with pytest.raises(SendFailed) as failed:
        await sender.send(shipped_mail(Language.EN))
    assert failed.value.transient is True


async def test_a_server_that_never_answers_times_out_as_a_transient_failure() -> None:
    silent_connections: list[asyncio.StreamWriter] = []

    async def accept_and_say_nothing(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        silent_connections.append(writer)

    server = await asyncio.start_server(accept_and_say_nothing, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    sender = SmtpEmailSender(SmtpSettings(host="127.0.0.1", port=port, timeout_s=0.5))
    try:
        with pytest.raises(SendFailed) as failed:
            await sender.send(shipped_mail(Language.EN))
        assert failed.value.transient is True
    finally:
        for writer in silent_connections:
            writer.close()
        server.close()
        await server.wait_closed()
