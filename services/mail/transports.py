"""How a mail from the outbox leaves: over SMTP (aiosmtplib), or printed to the log
when no SMTP host is configured (development)."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Protocol

import aiosmtplib
import structlog

from models.mail import MailMessage
from services.config import Settings

log = structlog.get_logger("portico.mail")


class Transport(Protocol):
    async def send(self, message: MailMessage) -> None:
        """Hand ``message`` over for delivery; raise if it was not accepted."""


class ConsoleTransport:
    """Prints the text version; the outbox row is the kept copy."""

    async def send(self, message: MailMessage) -> None:
        log.info(
            "mail.printed",
            to=message.to_address,
            subject=message.subject,
            body=message.text_body,
        )


class SmtpTransport:
    """One SMTP connection per mail, to ``settings.smtp_host``."""

    def __init__(self, settings: Settings) -> None:
        if settings.smtp_host is None:
            raise ValueError("SmtpTransport needs settings.smtp_host")
        self.hostname = settings.smtp_host
        self.port = settings.smtp_port
        self.username = settings.smtp_username
        self.password = settings.smtp_password
        self.use_tls = settings.smtp_use_tls
        self.start_tls = False if settings.smtp_use_tls else settings.smtp_start_tls
        self.timeout = settings.smtp_timeout_seconds

    async def send(self, message: MailMessage) -> None:
        await aiosmtplib.send(
            build_email(message),
            hostname=self.hostname,
            port=self.port,
            username=self.username,
            password=self.password.get_secret_value() if self.password else None,
            use_tls=self.use_tls,
            start_tls=self.start_tls,
            timeout=self.timeout,
        )


def build_email(message: MailMessage) -> EmailMessage:
    """multipart/alternative: the text version first, then HTML. The Message-ID is
    derived from the outbox row, so a mail sent twice (a crash between sending and
    recording it) carries the same id."""
    email = EmailMessage()
    email["From"] = message.from_address
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email["Date"] = format_datetime(message.created_at)
    email["Message-ID"] = f"<{message.id}@{_domain(message.from_address)}>"
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    if message.unsubscribe_url:
        email["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email.set_content(message.text_body)
    email.add_alternative(message.html_body, subtype="html")
    return email


def is_permanent(error: BaseException) -> bool:
    """The server refused this recipient or this message with a 5xx answer: trying again
    will not help. Other errors (no connection, timeouts, a refused login or sender) are
    about the server or our configuration and are retried."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        return bool(error.recipients) and all(
            500 <= refused.code < 600 for refused in error.recipients
        )
    return isinstance(error, aiosmtplib.SMTPRecipientRefused | aiosmtplib.SMTPDataError) and (
        500 <= error.code < 600
    )


def describe(error: BaseException) -> str:
    text = str(error) or repr(error)
    return f"{type(error).__name__}: {text}"


def _domain(address: str) -> str:
    _name, addr = parseaddr(address)
    domain = addr.rpartition("@")[2]
    return domain or "portico.invalid"
