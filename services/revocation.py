"""Ending access at once: credentials (session ids, API token ids) revoked in a
transaction are announced after it commits, and every open WebSocket authenticated
with one of them is closed - on this server instance and, through Redis pub/sub when
``PORTICO_REDIS_URL`` is set, on every other instance.

Services only mark what they revoke (:func:`announce_after_commit`); the unit of work
calls :meth:`RevocationHub.publish` once the commit has succeeded, so a rolled-back
revocation never closes anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING

import orjson
import structlog
from sqlmodel.ext.asyncio.session import AsyncSession

from services.unit_of_work import after_commit

if TYPE_CHECKING:
    from services.runtime import Runtime

log = structlog.get_logger("portico.revocation")

CHANNEL = "portico:revocations"

CloseCallback = Callable[[], Awaitable[None]]


class _Announcement:
    """The follow-up of a transaction that revoked credentials: it gathers their ids
    and, once the transaction commits, closes their connections everywhere."""

    __name__ = "announce_revocations"

    def __init__(self) -> None:
        self.credential_ids: set[uuid.UUID] = set()

    async def __call__(self, runtime: Runtime) -> None:
        await runtime.hub.publish(self.credential_ids)


def announce_after_commit(session: AsyncSession, credential_ids: Iterable[uuid.UUID]) -> None:
    """Close the connections of credentials revoked in ``session``'s transaction once it
    commits (:func:`services.unit_of_work.after_commit`); a rollback closes nothing."""
    announcement = after_commit(session, "revocations", _Announcement())
    announcement.credential_ids.update(credential_ids)


class RevocationHub:
    """Open connections by credential, closed when the credential is revoked."""

    def __init__(self, redis_url: str | None = None) -> None:
        self._redis_url = redis_url
        self._connections: dict[uuid.UUID, dict[int, CloseCallback]] = {}
        self._listener: asyncio.Task[None] | None = None

    def register(self, credential_id: uuid.UUID, close: CloseCallback) -> Callable[[], None]:
        """Track an open connection; the returned function untracks it."""
        key = id(close)
        self._connections.setdefault(credential_id, {})[key] = close

        def unregister() -> None:
            callbacks = self._connections.get(credential_id)
            if callbacks is not None:
                callbacks.pop(key, None)
                if not callbacks:
                    self._connections.pop(credential_id, None)

        return unregister

    def open_connections(self, credential_id: uuid.UUID) -> int:
        return len(self._connections.get(credential_id, {}))

    async def publish(self, credential_ids: Iterable[uuid.UUID]) -> None:
        """Close every connection of ``credential_ids`` here and on other instances."""
        ids = set(credential_ids)
        if not ids:
            return
        await self.close_local(ids)
        if self._redis_url:
            from redis.asyncio import Redis

            redis = Redis.from_url(self._redis_url)
            try:
                await redis.publish(CHANNEL, orjson.dumps(sorted(str(i) for i in ids)))
            finally:
                await redis.aclose()

    async def close_local(self, credential_ids: Iterable[uuid.UUID]) -> None:
        for credential_id in credential_ids:
            callbacks = list(self._connections.pop(credential_id, {}).values())
            for close in callbacks:
                try:
                    await close()
                except Exception:  # a socket already gone must not stop the others
                    log.warning("close_failed", credential=str(credential_id), exc_info=True)

    async def start(self) -> None:
        """Listen for revocations published by other instances (Redis only)."""
        if self._redis_url and self._listener is None:
            ready = asyncio.Event()
            self._listener = asyncio.create_task(self._listen(ready))
            await ready.wait()

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None

    async def _listen(self, ready: asyncio.Event) -> None:
        from redis.asyncio import Redis

        redis = Redis.from_url(str(self._redis_url))
        pubsub = redis.pubsub()
        try:
            await pubsub.subscribe(CHANNEL)
            ready.set()
            async for message in pubsub.listen():
                if message.get("type") != "message":
                    continue
                try:
                    ids = {uuid.UUID(raw) for raw in orjson.loads(message["data"])}
                except (ValueError, TypeError):
                    log.warning("bad_revocation_message")
                    continue
                await self.close_local(ids)
        finally:
            ready.set()
            await pubsub.aclose()  # type: ignore[no-untyped-call, unused-ignore] # typed from redis 8.2
            await redis.aclose()
