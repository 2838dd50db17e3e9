"""The background loop that runs the recurring-invoice job, renews subscriptions
(:mod:`services.subscriptions.renewals`), charges the invoices of auto-billed schedules
and subscriptions (:mod:`services.stripe_gateway.auto_bill`, retries included) and
recurring pre-payments (:mod:`services.stripe_gateway.prepayments`), records invoices
that became overdue (:mod:`services.overdue`) and, every ``storage_sweep_interval_seconds``,
deletes stored files no row names (:mod:`services.orphaned_files`), inside the server
process.

Every instance may run it: :func:`services.recurring.scheduler.generate_due_invoices` makes
concurrent runs safe (row locks, one invoice per period), so no leader election is
needed. A run that fails is logged and retried on the next tick; a tick after downtime
catches up every missed period.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog

from models.types import utcnow
from services.orphaned_files import sweep_orphaned_files
from services.overdue import record_overdue_invoices
from services.recurring.scheduler import SchedulerRun, generate_due_invoices
from services.runtime import Runtime
from services.stripe_gateway.auto_bill import charge_due_invoices
from services.stripe_gateway.prepayments import charge_due_prepayments
from services.subscriptions.renewals import renew_due_subscriptions

log = structlog.get_logger("portico.scheduler")


class RecurringScheduler:
    """Runs the job now and then every ``interval_seconds`` between :meth:`start` and
    :meth:`stop`; :meth:`run_once` runs it a single time (CLI, tests)."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        interval_seconds: float = 60.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if interval_seconds <= 0:
            raise ValueError("interval_seconds must be positive")
        self._runtime = runtime
        self._interval = interval_seconds
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self._turn = asyncio.Lock()
        self._swept_at: datetime | None = None

    @classmethod
    def from_runtime(cls, runtime: Runtime) -> RecurringScheduler:
        """The server's scheduler, at the configured interval (issued invoices are mailed
        by the action that issues them, after each schedule's commit)."""
        return cls(runtime, interval_seconds=runtime.settings.scheduler_interval_seconds)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def run_once(self, now: datetime | None = None) -> SchedulerRun:
        """Issue what is due at ``now`` (default: the clock's time, in UTC), charge what
        is to be auto-billed by then, then record the invoices that became overdue."""
        moment = now or self._clock()
        async with self._turn:  # one run at a time in this process
            run = await generate_due_invoices(self._runtime, today=moment.date())
            renewed = await renew_due_subscriptions(self._runtime, now=moment)
            run.subscription_invoices = len(renewed.invoices)
            charged = await charge_due_invoices(self._runtime, now=moment)
            prepaid = await charge_due_prepayments(self._runtime, now=moment)
            run.prepayment_charges = len(prepaid.succeeded) + len(prepaid.failed)
            run.auto_bill_attempts = charged.attempts
            run.overdue = await record_overdue_invoices(self._runtime, today=moment.date())
            if self._sweep_due(moment):
                sweep = await sweep_orphaned_files(self._runtime, now=moment)
                run.orphaned_files = len(sweep.deleted)
                self._swept_at = moment
            return run

    def _sweep_due(self, moment: datetime) -> bool:
        every = timedelta(seconds=self._runtime.settings.storage_sweep_interval_seconds)
        return self._swept_at is None or moment - self._swept_at >= every

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
