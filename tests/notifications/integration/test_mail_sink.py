"""The development SMTP sink as the process `make run` and the test stack start
(`python -m tools.mail_sink`): the bytes as received, one log line per message, a clean stop."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
from pathlib import Path

import aiosmtplib

from libs.ids import new_id
from services.notifications.adapters.mail import SmtpEmailSender, SmtpSettings
from services.notifications.adapters.templating import TemplateRenderer, load_brand_book
from services.notifications.domain.localisation import Language
from services.notifications.domain.messages import EmailMessage, NotificationKind
from tests.notifications.message_contexts import complete_context
from tests.support import environment
from tests.support.mailbox import Mailbox, start_sink_process, wait_listening


async def test_the_test_stacks_sink_takes_the_services_mail(mail_sink: Mailbox) -> None:
    """What the notifications service under test is configured with (NOTIFICATIONS_SMTP_*)
    reaches the run's sink, and the tests read it from the run's folder."""
    brand = load_brand_book().default
    kind = NotificationKind.ORDER_CONFIRMED
    message = EmailMessage(
        notification_id=new_id(),
        to_address="stack-check@example.com",
        to_name=None,
        brand=brand,
        language=Language.EN,
        content=TemplateRenderer().render(kind, Language.EN, brand, complete_context(kind)),
    )
    settings = SmtpSettings(
        host=os.environ["NOTIFICATIONS_SMTP_HOST"],
        port=int(os.environ["NOTIFICATIONS_SMTP_PORT"]),
        start_tls=False,
    )
    assert settings.port == environment.MAIL_SINK_PORT
    message_id = await SmtpEmailSender(settings).send(message)
    mail = await mail_sink.wait_for(lambda m: m.message_id == message_id)
    assert mail.subject == "Your order WEB-1001 is confirmed"
    assert mail.path.parent == environment.MAIL_DIR


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_the_sink_writes_what_it_received_logs_it_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    port = _free_port()
    log_path = tmp_path / "sink.log"
    process = start_sink_process(tmp_path / "mail", port, log_path)
    try:
        await wait_listening(process, port, log_path)
        # A line that starts with a dot travels dot-stuffed; the file has it as written.
        raw = (
            b"From: shop@example.com\r\nTo: ann@example.com\r\nSubject: raw bytes\r\n"
            b"Message-ID: <raw-1@example.com>\r\n\r\n.a line with a leading dot\r\nend\r\n"
        )
        await aiosmtplib.send(
            raw,
            sender="shop@example.com",
            recipients=["ann@example.com"],
            hostname="127.0.0.1",
            port=port,
            start_tls=False,
        )
        mailbox = Mailbox(tmp_path / "mail")
        mail = await mailbox.wait_for(lambda m: m.message_id == "<raw-1@example.com>")
        assert mail.raw == raw
    finally:
        process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(process.wait, 15)
    assert code == 0
    lines = [json.loads(line) for line in log_path.read_text().splitlines()]
    received = [line for line in lines if line["event"] == "mail_received"]
    assert len(received) == 1
    assert received[0]["subject"] == "raw bytes"
    assert received[0]["rcpt_to"] == ["ann@example.com"]
    assert received[0]["file"] == str(mail.path)
    assert lines[-1]["event"] == "mail_sink_stopped"
