"""A real SMTP server for tests (aiosmtpd), and a runtime whose mailer sends to it.

Registered as a pytest plugin in ``tests/conftest.py``. Typical use::

    async def test_magic_link_mail(smtp_runtime, smtp_server, gql):
        await gql.data(REQUEST_MAGIC_LINK, {...})   # the app uses smtp_runtime
        await smtp_runtime.mailer.drain()
        [mail] = await smtp_server.wait_for(1)
        assert mail["To"] == "ann@client.test"
        assert link in mail.get_body(("plain",)).get_content()

``smtp_runtime`` is the ``runtime`` fixture itself (same engine, same app for
``gql``/``client``) with its settings and mailer switched to SMTP on ``smtp_server``.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from services.mail import Mailer
from services.runtime import Runtime


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on (also used as "the SMTP server is down")."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, _server: Any, _session: Any, envelope: Any, address: str, _options: Any
    ) -> str:
        if address.lower() in self.server.refused:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, _server: Any, _session: Any, envelope: Any
    ) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.server.lock:
            self.server.messages.append(message)
            self.server.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


class SmtpServer:
    """What the server received: ``messages`` (parsed, in arrival order) and
    ``envelopes`` (MAIL FROM, RCPT TO). Addresses in ``refused`` get a 550."""

    def __init__(self) -> None:
        self.port = free_port()
        self.host = "127.0.0.1"
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refused: set[str] = set()
        self.lock = threading.Lock()
        self.controller = Controller(_Handler(self), hostname=self.host, port=self.port)

    async def wait_for(self, count: int = 1, timeout: float = 5) -> list[EmailMessage]:  # noqa: ASYNC109 - reads well in tests
        """Wait until at least ``count`` mails arrived; return all received so far."""
        try:
            async with asyncio.timeout(timeout):
                while len(self.messages) < count:  # noqa: ASYNC110 - another thread fills it
                    await asyncio.sleep(0.01)
        except TimeoutError:
            raise AssertionError(
                f"expected {count} mail(s) within {timeout}s, got {len(self.messages)}"
            ) from None
        with self.lock:
            return list(self.messages)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.controller.start()
    try:
        yield server
    finally:
        server.controller.stop()


@pytest.fixture
async def smtp_runtime(runtime: Runtime, smtp_server: SmtpServer) -> AsyncIterator[Runtime]:
    """``runtime`` with mail going over SMTP to ``smtp_server``."""
    original_settings, original_mailer = runtime.settings, runtime.mailer
    runtime.settings = runtime.settings.model_copy(
        update={"smtp_host": smtp_server.host, "smtp_port": smtp_server.port}
    )
    runtime.mailer = Mailer(runtime.settings, runtime.sessions)
    try:
        yield runtime
    finally:
        await runtime.mailer.close()
        runtime.settings, runtime.mailer = original_settings, original_mailer
