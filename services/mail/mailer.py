"""The outbox: mails are written in the transaction of the action that causes them and
delivered after it commits, by a background task (one at a time per server instance).

Delivery claims each row in its own transaction, with ``SELECT ... FOR UPDATE SKIP
LOCKED`` on PostgreSQL, so two instances never send the same mail; SQLite has no row
locks and is for one instance: there the mail is sent outside any transaction and its
outcome written in a short write transaction afterwards (holding SQLite's write lock
across an SMTP exchange would stall every other writer). A failed mail is retried with
growing pauses and marked FAILED after ``settings.mail_max_attempts`` tries, or at once
when the server refuses the recipient for good.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.accounts import Account
from models.enums import MailStatus
from models.mail import MailMessage
from models.types import utcnow
from services.config import Settings
from services.db import serialises_writers
from services.mail.branding import Branding
from services.mail.rendering import render
from services.mail.transports import (
    ConsoleTransport,
    SmtpTransport,
    Transport,
    describe,
    is_permanent,
)
from services.unit_of_work import after_commit, end_read, transaction

if TYPE_CHECKING:
    from services.runtime import Runtime

log = structlog.get_logger("portico.mail")

ERROR_MAX_LENGTH = 2000
_ADDRESS = re.compile(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+")


class _Outcome(Enum):
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"
    SKIPPED = "skipped"


def kick_mailer(runtime: Runtime) -> None:
    """The follow-up of a change that queued mail: deliver it now."""
    runtime.mailer.kick()


class Mailer:
    """Queues mails in the caller's transaction and delivers them after commit."""

    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self.sessions = sessions
        self.transport: Transport = (
            SmtpTransport(settings) if settings.smtp_host else ConsoleTransport()
        )
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self._retry: asyncio.TimerHandle | None = None
        self._closing = False

    async def queue(
        self,
        session: AsyncSession,
        *,
        account: Account | None,
        to: str,
        template: str,
        context: dict[str, Any],
        unsubscribe_url: str | None = None,
    ) -> MailMessage:
        """Render ``template`` for ``to`` with ``account``'s branding and add it to the
        outbox in ``session``'s transaction; the caller commits, then calls :meth:`kick`
        (a rollback discards the mail). Raises ValueError for an unknown template,
        a missing context key or an address that is not one. ``unsubscribe_url`` goes
        out as the mail's List-Unsubscribe header, for the mail client's own button."""
        address = to.strip()
        if not _ADDRESS.fullmatch(address) or len(address) > 254:
            raise ValueError(f"{to!r} is not an email address.")
        rendered = render(
            template,
            branding=Branding.of(account),
            base_url=self.settings.public_base_url,
            context=context,
        )
        message = MailMessage(
            account_id=account.id if account is not None else None,
            template=template,
            to_address=address,
            from_address=self.settings.mail_from,
            subject=rendered.subject,
            text_body=rendered.text,
            html_body=rendered.html,
            unsubscribe_url=unsubscribe_url,
        )
        session.add(message)
        after_commit(session, "mail", kick_mailer)  # delivered once the change commits
        return message

    def kick(self) -> None:
        """Start delivering queued mails in the background. At most one delivery task
        runs; a kick while it runs makes it go round once more. Call it after the
        transaction that queued mail commits, and at start-up for mails left queued."""
        if self._closing:
            return
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._again = False
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name="portico-mail-delivery"
        )

    async def drain(self) -> None:
        """Wait until no delivery task is running (a scheduled retry is not waited for)."""
        while self._task is not None and not self._task.done():
            await asyncio.wait({self._task})

    async def deliver_pending(self, *, now: datetime | None = None) -> int:
        """Deliver every queued mail that is due, oldest first, each in its own
        transaction; return how many were sent. ``now`` decides which retries are due
        (default: the current time)."""
        async with self._lock:
            sent, _next_due = await self._deliver_due(now or utcnow())
        return sent

    async def close(self) -> None:
        """Stop retrying, let the running delivery finish its current mail, and wait."""
        self._closing = True
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        await self.drain()

    # Delivery

    async def _run(self) -> None:
        next_due: datetime | None = None
        while True:
            self._again = False
            try:
                async with self._lock:
                    _sent, next_due = await self._deliver_due(utcnow())
            except Exception:
                log.exception("mail.delivery_crashed")
                next_due = utcnow() + timedelta(seconds=max(self.settings.mail_retry_seconds, 1))
            if not self._again or self._closing:
                break
        self._schedule_retry(next_due)

    def _schedule_retry(self, when: datetime | None) -> None:
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        if when is None or self._closing:
            return
        delay = max(0.0, (when - utcnow()).total_seconds())
        self._retry = asyncio.get_running_loop().call_later(delay, self.kick)

    async def _deliver_due(self, now: datetime) -> tuple[int, datetime | None]:
        """Send the due mails; return how many were sent and when the next retry is due."""
        async with self.sessions() as session:
            rows = (
                await session.exec(
                    select(MailMessage.id, MailMessage.created_at, MailMessage.attempts)
                    .where(MailMessage.status == MailStatus.QUEUED)
                    .order_by(col(MailMessage.created_at), col(MailMessage.id))
                )
            ).all()
        sent = 0
        next_due: datetime | None = None
        for message_id, created_at, attempts in rows:
            due = self._due_at(created_at, attempts)
            if due <= now and not self._closing:
                outcome, message = await self._deliver_one(message_id)
                if outcome is _Outcome.SENT:
                    sent += 1
                    continue
                if outcome is not _Outcome.RETRY or message is None:
                    continue
                due = self._due_at(message.created_at, message.attempts)
            next_due = due if next_due is None else min(next_due, due)
        return sent, next_due

    def _due_at(self, created_at: datetime, attempts: int) -> datetime:
        """When try number ``attempts + 1`` is due: at once, then after 1, 3, 7, 15...
        times ``mail_retry_seconds`` from the mail's creation."""
        pause = self.settings.mail_retry_seconds * (2**attempts - 1)
        return created_at + timedelta(seconds=pause)

    async def _deliver_one(self, message_id: uuid.UUID) -> tuple[_Outcome, MailMessage | None]:
        if serialises_writers(self.sessions):
            return await self._deliver_one_alone(message_id)
        async with transaction(self.sessions) as session:
            message = await self._claim(session, message_id)
            if message is None:  # sent meanwhile, or being sent by another instance
                return _Outcome.SKIPPED, None
            outcome = await self._send(message)
            session.add(message)
        return outcome, message

    async def _deliver_one_alone(
        self, message_id: uuid.UUID
    ) -> tuple[_Outcome, MailMessage | None]:
        """SQLite: the row is read, the mail sent outside any transaction (a lock held
        across the send would be the whole database's write lock), and the outcome
        written in a short write transaction. One instance per SQLite database, and
        deliveries in it take turns (``_lock``), so nobody else sends the row meanwhile."""
        async with self.sessions() as session:
            message = await self._claim(session, message_id)
            await end_read(session)  # the message stays loaded
        if message is None:
            return _Outcome.SKIPPED, None
        outcome = await self._send(message)
        async with transaction(self.sessions) as session:
            session.add(message)
        return outcome, message

    @staticmethod
    async def _claim(session: AsyncSession, message_id: uuid.UUID) -> MailMessage | None:
        """The queued message, locked (PostgreSQL: skipped when another instance holds
        it); ``None`` once it is sent or failed."""
        return (
            await session.exec(
                select(MailMessage)
                .where(MailMessage.id == message_id, MailMessage.status == MailStatus.QUEUED)
                .with_for_update(skip_locked=True)
            )
        ).first()

    async def _send(self, message: MailMessage) -> _Outcome:
        """Try to send ``message`` once and record the outcome on it (not flushed)."""
        message.attempts += 1
        try:
            await self.transport.send(message)
        except Exception as error:
            message.last_error = describe(error)[:ERROR_MAX_LENGTH]
            final = is_permanent(error) or message.attempts >= self.settings.mail_max_attempts
            if final:
                message.status = MailStatus.FAILED
            log.warning(
                "mail.failed" if final else "mail.retry",
                mail_id=str(message.id),
                template=message.template,
                attempts=message.attempts,
                error=message.last_error,
            )
            return _Outcome.FAILED if final else _Outcome.RETRY
        message.status = MailStatus.SENT
        message.sent_at = utcnow()
        log.info("mail.sent", mail_id=str(message.id), template=message.template)
        return _Outcome.SENT
