"""The e-mail as built for SMTP, and SMTP failures sorted into transient and permanent."""

from __future__ import annotations

import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage as MimeMessage
from email.parser import BytesParser
from uuid import UUID

import aiosmtplib
import pytest

from services.notifications.adapters.mail import (
    SmtpEmailSender,
    SmtpSettings,
    build_mime,
    failure_of,
    message_id_for,
)
from services.notifications.adapters.templating import load_brand_book
from services.notifications.domain.localisation import Language
from services.notifications.domain.messages import EmailMessage, RenderedMessage, SendFailed

NOTIFICATION = UUID("01970000-0000-7000-8000-000000000001")
BRAND = load_brand_book().default


def message(**changes: object) -> EmailMessage:
    fields: dict[str, object] = {
        "notification_id": NOTIFICATION,
        "to_address": "ann@example.com",
        "to_name": 'Müller, Ann "A"',
        "brand": BRAND,
        "language": Language.DE,
        "content": RenderedMessage(
            subject="Ihre Bestellung WEB-1001 ist bestätigt",
            text="Hallo Ann,\nGesamt: 1.234,50\u00a0€\n",
            html="<p>Hallo Ann &lt;b&gt;</p>\n",
        ),
    }
    fields.update(changes)
    return EmailMessage(**fields)  # type: ignore[arg-type]


def parsed(mime: MimeMessage) -> MimeMessage:
    """The message as a receiver parses its bytes."""
    result = BytesParser(policy=email.policy.default).parsebytes(mime.as_bytes())
    assert isinstance(result, MimeMessage)
    return result


def test_the_message_is_multipart_alternative_with_every_header() -> None:
    sent_at = datetime(2026, 3, 5, 10, 15, tzinfo=UTC)
    mail = parsed(build_mime(message(), now=sent_at))
    assert mail.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in mail.iter_parts()] == ["text/plain", "text/html"]
    assert mail["Subject"] == "Ihre Bestellung WEB-1001 ist bestätigt"
    assert mail["From"].addresses[0].display_name == BRAND.name
    assert mail["From"].addresses[0].addr_spec == BRAND.from_address
    assert mail["Reply-To"].addresses[0].addr_spec == BRAND.support_email
    assert mail["To"].addresses[0].display_name == 'Müller, Ann "A"'
    assert mail["To"].addresses[0].addr_spec == "ann@example.com"
    assert mail["Date"].datetime == sent_at
    assert mail["Message-ID"] == f"<{NOTIFICATION}@shop.example.com>"
    assert mail["Content-Language"] == "de"
    assert mail["Auto-Submitted"] == "auto-generated"
    text = mail.get_body(preferencelist=("plain",))
    html = mail.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    # Over the wire every line ends in CRLF (RFC 5322); the words are what was rendered.
    assert text.get_content().replace("\r\n", "\n") == "Hallo Ann,\nGesamt: 1.234,50\u00a0€\n"
    assert html.get_content().replace("\r\n", "\n") == "<p>Hallo Ann &lt;b&gt;</p>\n"


def test_the_message_id_is_the_notifications_whatever_the_send() -> None:
    first = build_mime(message(), now=datetime(2026, 3, 5, tzinfo=UTC))
    again = build_mime(message(), now=datetime(2026, 3, 6, tzinfo=UTC))
    assert first["Message-ID"] == again["Message-ID"] == message_id_for(message())
    other = message(notification_id=UUID(int=7))
    assert message_id_for(other) != message_id_for(message())


def test_no_display_name_is_a_bare_address() -> None:
    mail = parsed(build_mime(message(to_name=None), now=datetime(2026, 3, 5, tzinfo=UTC)))
    assert str(mail["To"]) == "ann@example.com"


@pytest.mark.parametrize(
    "changes",
    [
        {"to_address": "ann@example.com\r\nBcc: everyone@example.com"},
        {"to_name": "Ann\r\nBcc: everyone@example.com"},
        {"to_address": "ann@"},
        {"to_address": "not an address"},
        {"content": RenderedMessage(subject="a\r\nBcc: x@y.z", text="t", html="h")},
    ],
)
async def test_what_no_header_can_carry_fails_for_good_before_connecting(
    changes: dict[str, object],
) -> None:
    # Port 9 (discard) is never asked: the message fails while it is built.
    sender = SmtpEmailSender(SmtpSettings(host="127.0.0.1", port=9, timeout_s=0.5))
    with pytest.raises(SendFailed) as failed:
        await sender.send(message(**changes))
    assert failed.value.transient is False


def _refused(*codes: int) -> aiosmtplib.SMTPRecipientsRefused:
    return aiosmtplib.SMTPRecipientsRefused(
        [aiosmtplib.SMTPRecipientRefused(code, "no", f"r{code}@example.com") for code in codes]
    )


@pytest.mark.parametrize(
    ("error", "transient", "code"),
    [
        (_refused(550), False, 550),
        (_refused(451), True, 451),
        (_refused(452, 550), False, 452),  # one recipient never: the message never
        (aiosmtplib.SMTPDataError(452, "insufficient storage"), True, 452),
        (aiosmtplib.SMTPDataError(554, "content rejected"), False, 554),
        (aiosmtplib.SMTPSenderRefused(553, "sender refused", "x@y.z"), False, 553),
        (aiosmtplib.SMTPAuthenticationError(535, "bad credentials"), False, 535),
        (aiosmtplib.SMTPConnectResponseError(421, "busy"), True, 421),
        (aiosmtplib.SMTPConnectResponseError(554, "no service"), False, 554),
        (aiosmtplib.SMTPServerDisconnected("gone"), True, None),
        (aiosmtplib.SMTPConnectError("refused"), True, None),
        (aiosmtplib.SMTPReadTimeoutError("slow"), True, None),
        (ConnectionRefusedError(111, "refused"), True, None),
        (TimeoutError(), True, None),
    ],
)
def test_smtp_failures_are_transient_for_4xx_and_no_answer_and_permanent_for_5xx(
    error: Exception, transient: bool, code: int | None
) -> None:
    failure = failure_of(error)
    assert (failure.transient, failure.code) == (transient, code)


def test_an_error_that_is_not_about_sending_is_not_swallowed() -> None:
    with pytest.raises(KeyError):
        failure_of(KeyError("a bug"))
