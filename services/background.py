"""Work that must not run inside a request: it outlives the answer, and its duration must
not show in the answer's timing (a magic-link request answers at once, whether or not the
email belongs to anyone; the lookup and the mail happen here)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import structlog

log = structlog.get_logger("portico.background")


class Background:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, job: Coroutine[Any, Any, None], *, name: str) -> None:
        """Run ``job`` after the current request; failures are logged, never raised."""
        task = asyncio.create_task(self._guard(job, name), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for every job spawned so far (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    @staticmethod
    async def _guard(job: Coroutine[Any, Any, None], name: str) -> None:
        try:
            await job
        except Exception:
            log.exception("background_job_failed", job=name)
