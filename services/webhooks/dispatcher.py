"""The loop every instance runs: create the deliveries of new events, then send what is
due. Safe on many instances at once (:mod:`.deliveries`); it runs at start (deliveries
left by a restart are due), every ``webhook_poll_seconds``, when :meth:`kick` ed, and
when the next retry falls due."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import structlog

from models.types import utcnow
from services.unit_of_work import transaction
from services.webhooks.deliveries import (
    Claimed,
    PayloadRenderer,
    SharedEvents,
    claim_due,
    create_deliveries,
    endpoints_behind,
    next_due,
    record_attempt,
)
from services.webhooks.retention import prune_deliveries
from services.webhooks.sender import send

if TYPE_CHECKING:
    from services.runtime import Runtime

log = structlog.get_logger("portico.webhooks")

PRUNE_EVERY = timedelta(hours=1)
MAX_BATCHES = 50
"""Batches per endpoint and pass: a long backlog is worked through over several passes,
so one endpoint cannot hold up the others."""


@dataclass(frozen=True, slots=True)
class DispatchRun:
    created_for: int
    """Endpoints whose cursor moved."""
    attempts: int


class WebhookDispatcher:
    def __init__(self, runtime: Runtime, render: PayloadRenderer) -> None:
        self.runtime = runtime
        self.render = render
        self._task: asyncio.Task[None] | None = None
        self._kicked = asyncio.Event()
        self._turn = asyncio.Lock()
        self._stopping = False
        self._last_pruned: float | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def run_once(self, now: datetime | None = None) -> DispatchRun:
        """One pass: deliveries for new events, then every due attempt (``now``: the
        time that decides what is due)."""
        async with self._turn:
            created = await self.create_deliveries()
            attempts = await self.send_due(now)
        return DispatchRun(created, attempts)

    async def create_deliveries(self) -> int:
        async with self.runtime.sessions() as session:
            behind = await endpoints_behind(session)
        shared: SharedEvents = {}
        moved = 0
        for webhook_id in behind:
            for _ in range(MAX_BATCHES):
                if self._stopping:
                    return moved
                if not await create_deliveries(
                    self.runtime, self.render, webhook_id, shared=shared
                ):
                    break
                moved += 1
        return moved

    async def send_due(self, now: datetime | None = None) -> int:
        attempts = 0
        while not self._stopping:
            claimed = await claim_due(self.runtime, now=now or utcnow())
            if not claimed:
                return attempts
            await asyncio.gather(*(self._attempt(item) for item in claimed))
            attempts += len(claimed)
            if now is not None:  # a pass at a given time: once through what is due then
                break
        return attempts

    async def _attempt(self, item: Claimed) -> None:
        outcome = await send(
            url=item.url,
            body=item.body,
            secrets=item.secrets,
            event_id=item.event_id,
            settings=self.runtime.settings,
        )
        await record_attempt(self.runtime, item, outcome)

    async def prune(self) -> int:
        """Forget the finished deliveries older than the events' retention."""
        keep = timedelta(days=self.runtime.settings.event_retention_days)
        async with transaction(self.runtime.sessions) as session:
            pruned = await prune_deliveries(session, keep=keep)
        if pruned:
            log.info("webhook_deliveries_pruned", count=pruned)
        return pruned

    async def _prune_hourly(self) -> None:
        now = asyncio.get_running_loop().time()
        if self._last_pruned is None or now - self._last_pruned > PRUNE_EVERY.total_seconds():
            self._last_pruned = now
            await self.prune()

    def kick(self) -> None:
        """Something is waiting (an endpoint created, a redelivery): run a pass soon."""
        self._kicked.set()

    async def start(self) -> None:
        if self.running:
            return
        self._stopping = False
        self._task = asyncio.create_task(self._loop(), name="portico-webhooks")

    async def stop(self) -> None:
        """Let the attempts in flight finish and be recorded (at most the request
        timeout), then end the loop; an attempt cut short is made again after its lease."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._kicked.set()
        try:
            async with asyncio.timeout(self.runtime.settings.webhook_timeout_seconds + 5):
                await asyncio.shield(task)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        poll = self.runtime.settings.webhook_poll_seconds
        while not self._stopping:
            self._kicked.clear()
            wait = poll
            try:
                await self.run_once()
                await self._prune_hourly()
                async with self.runtime.sessions() as session:
                    due = await next_due(session)
                if due is not None:
                    wait = min(poll, max(0.0, (due - utcnow()).total_seconds()))
            except Exception:
                log.exception("webhook_dispatch_failed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._kicked.wait()
