"""Rate limits (the ``limits`` library): in process memory by default, in Redis when
``PORTICO_REDIS_URL`` is set so that several server instances share the counters."""

from __future__ import annotations

from limits import parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from services.errors import RateLimited


class RateLimiter:
    def __init__(self, redis_url: str | None = None) -> None:
        storage: Storage
        if redis_url:
            uri = "async+" + redis_url if not redis_url.startswith("async+") else redis_url
            storage = RedisStorage(uri, implementation="redispy")
        else:
            storage = MemoryStorage()
        self._storage = storage
        self._limiter = MovingWindowRateLimiter(storage)

    async def hit(self, limit: str, *keys: str) -> None:
        """Count one attempt against ``limit`` (e.g. ``"5/15 minutes"``) for ``keys``;
        raise :class:`RateLimited` when it is exhausted."""
        if not await self._limiter.hit(parse(limit), *keys):
            raise RateLimited()

    async def check(self, limit: str, *keys: str) -> None:
        """Raise :class:`RateLimited` when ``limit`` is already exhausted, counting nothing."""
        if not await self._limiter.test(parse(limit), *keys):
            raise RateLimited()

    async def clear(self, limit: str, *keys: str) -> None:
        await self._limiter.clear(parse(limit), *keys)

    async def reset(self) -> None:
        await self._storage.reset()
