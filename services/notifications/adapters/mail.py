"""E-mail over SMTP (aiosmtplib): the `EmailSender` port of domain.messages.

Each message is multipart/alternative, the plain text first and the HTML last (a mail client
shows the last part it can), with From, Reply-To, To, Subject, Date and a Message-ID derived
from the notification's id. A connection is opened per message: notifications are a few per
order, and a long-lived connection would need its own keep-alive and reconnect handling for
no measurable gain.
"""

from __future__ import annotations

import email.policy
import email.utils
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage as MimeMessage

import aiosmtplib

from libs.clock import Clock, SystemClock
from services.notifications.domain.messages import EmailMessage, SendFailed

# A reply code's first digit: 4 is "try again later" (a full mailbox, greylisting, a busy
# server), 5 is "this will never work" (no such mailbox, the message refused) (RFC 5321 4.2.1).
_TRANSIENT_CLASS = 4


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "127.0.0.1"
    port: int = 1025
    # Seconds for connecting and for each reply: a hung server must not hold a worker.
    timeout_s: float = 10.0
    # None: STARTTLS when the server offers it (aiosmtplib's default); True: required;
    # False: never (the development sink offers none).
    start_tls: bool | None = None
    # Implicit TLS from the first byte (port 465).
    use_tls: bool = False
    username: str | None = None
    password: str | None = None
    validate_certs: bool = True


def message_id_for(message: EmailMessage) -> str:
    """`<notification id@sending domain>`: the same notification always gets the same id, so a
    message sent twice (a retry after an unclear failure, a resend) is recognisably one
    message to the receiving systems and in the sink."""
    domain = message.brand.from_address.rsplit("@", 1)[1]
    return f"<{message.notification_id}@{domain}>"


def build_mime(message: EmailMessage, *, now: datetime) -> MimeMessage:
    mime = MimeMessage(policy=email.policy.SMTP)
    brand = message.brand
    # Address objects, not formatted strings: the header registry quotes and encodes a display
    # name with commas, quotes or non-ASCII letters correctly, and refuses CR/LF in it.
    mime["From"] = Address(display_name=brand.name, addr_spec=brand.from_address)
    mime["Reply-To"] = Address(display_name=brand.name, addr_spec=brand.support_email)
    mime["To"] = Address(display_name=message.to_name or "", addr_spec=message.to_address)
    mime["Subject"] = message.content.subject
    mime["Date"] = email.utils.format_datetime(now)
    mime["Message-ID"] = message_id_for(message)
    # Marks the message as machine-sent (RFC 3834), so out-of-office replies are not sent to it.
    mime["Auto-Submitted"] = "auto-generated"
    mime.set_content(message.content.text, subtype="plain", charset="utf-8")
    mime.add_alternative(message.content.html, subtype="html", charset="utf-8")
    # After the parts: setting content drops every Content-* header set before it.
    mime["Content-Language"] = message.language.value
    return mime


def failure_of(exc: Exception) -> SendFailed:
    """An aiosmtplib (or socket) error as SendFailed, transient or permanent by its reply code."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [refused.code for refused in exc.recipients]
        detail = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
        # Every recipient must be worth another try for the message to be.
        transient = bool(codes) and all(code // 100 == _TRANSIENT_CLASS for code in codes)
        return SendFailed(
            f"recipient refused: {detail}", transient=transient, code=codes[0] if codes else None
        )
    if isinstance(exc, aiosmtplib.SMTPConnectResponseError):
        # The server answered the connection with an error (421 busy, 554 no service here).
        return SendFailed(
            f"server refused the connection: {exc.code} {exc.message}",
            transient=exc.code // 100 == _TRANSIENT_CLASS,
            code=exc.code,
        )
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return SendFailed(
            f"{type(exc).__name__}: {exc.code} {exc.message}",
            transient=exc.code // 100 == _TRANSIENT_CLASS,
            code=exc.code,
        )
    # No answer at all: the server down, unreachable, too slow, or the line cut. Nothing says
    # the message cannot be delivered later.
    if isinstance(exc, aiosmtplib.SMTPException | OSError | TimeoutError):
        return SendFailed(f"{type(exc).__name__}: {exc}", transient=True)
    raise exc


class SmtpEmailSender:
    """The `EmailSender` port over an SMTP server."""

    def __init__(self, settings: SmtpSettings, *, clock: Clock | None = None) -> None:
        self._settings = settings
        self._clock = clock or SystemClock()

    async def send(self, message: EmailMessage) -> str:
        try:
            mime = build_mime(message, now=self._clock.now())
        except (ValueError, IndexError) as exc:
            # An address or a subject the message format cannot carry (a line break in it, no
            # domain; the standard library's parser raises IndexError for `ann@`): no server
            # would take it later either.
            raise SendFailed(f"cannot build the message: {exc}", transient=False) from exc
        s = self._settings
        try:
            await aiosmtplib.send(
                mime,
                hostname=s.host,
                port=s.port,
                timeout=s.timeout_s,
                start_tls=s.start_tls,
                use_tls=s.use_tls,
                username=s.username,
                password=s.password,
                validate_certs=s.validate_certs,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise failure_of(exc) from exc
        return str(mime["Message-ID"])
