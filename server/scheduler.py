"""The background loop that runs the recurring-invoice job inside the server process.

Every instance may run it: :func:`services.scheduler.generate_due_invoices` makes
concurrent runs safe (row locks, one invoice per period), so no leader election is
needed. A run that fails is logged and retried on the next tick; a tick after downtime
catches up every missed period.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from models.invoices import Invoice
from models.types import utcnow
from resolvers.context import Runtime
from services.document_links import email_document
from services.portal_auth import LinkServices
from services.recurring import IssuedInvoice
from services.scheduler import OnIssued, SchedulerRun, generate_due_invoices

log = structlog.get_logger("portico.scheduler")


class RecurringScheduler:
    """Runs the job now and then every ``interval_seconds`` between :meth:`start` and
    :meth:`stop`; :meth:`run_once` runs it a single time (CLI, tests)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        interval_seconds: float = 60.0,
        clock: Callable[[], datetime] = utcnow,
        on_issued: OnIssued | None = None,
        after_run: Callable[[], None] | None = None,
    ) -> None:
        if interval_seconds <= 0:
            raise ValueError("interval_seconds must be positive")
        self._sessions = sessions
        self._interval = interval_seconds
        self._clock = clock
        self._on_issued = on_issued
        self._after_run = after_run
        self._task: asyncio.Task[None] | None = None
        self._turn = asyncio.Lock()

    @classmethod
    def from_runtime(cls, runtime: Runtime) -> RecurringScheduler:
        """The server's scheduler: issued invoices are mailed to the client's contacts
        like a sent invoice, with their document links."""
        deps = LinkServices(runtime.signer, runtime.settings, runtime.mailer)

        async def mail_issued(session: AsyncSession, issued: list[IssuedInvoice]) -> None:
            for item in issued:
                invoice = await session.get(Invoice, item.invoice_id)
                if invoice is not None:
                    await email_document(session, deps, document=invoice)

        return cls(
            runtime.sessions,
            interval_seconds=runtime.settings.scheduler_interval_seconds,
            on_issued=mail_issued,
            after_run=runtime.mailer.kick,
        )

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def run_once(self, now: datetime | None = None) -> SchedulerRun:
        """Issue what is due at ``now`` (default: the clock's time, in UTC)."""
        moment = now or self._clock()
        async with self._turn:  # one run at a time in this process
            run = await generate_due_invoices(
                session_factory=self._sessions, today=moment.date(), on_issued=self._on_issued
            )
        if run.issued and self._after_run is not None:
            self._after_run()
        return run

    async def start(self) -> None:
        if self.running:
            return
        self._task = asyncio.create_task(self._loop(), name="portico-recurring-scheduler")
        log.info("scheduler_started", interval_seconds=self._interval)

    async def stop(self) -> None:
        """Cancel the loop and wait for it; a run in progress rolls back its current
        schedule's transaction (it is redone on the next start)."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        log.info("scheduler_stopped")

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("scheduler_run_failed")
            await asyncio.sleep(self._interval)
