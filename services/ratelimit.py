"""Rate limits (the ``limits`` library): in process memory by default, in Redis when
``PORTICO_REDIS_URL`` is set so that several server instances share the counters.

Every limit counts an attempt *before* the attempt is tried, with one atomic operation
(an in-process lock, or a Lua script in Redis), so N parallel attempts can never get past
a limit of n < N - checking first and counting afterwards lets them all through.

- :meth:`RateLimiter.hit` counts every attempt (magic links, registrations), in a moving
  window;
- :meth:`RateLimiter.attempt` counts an attempt whose success is given back
  (:meth:`Attempt.refund`): sign-in limits count failures, so a user who signs in
  correctly is never locked out by their own successes. ``limits``' strategies cannot
  undo a hit, so this one is a sliding-window counter over the storage's atomic
  ``incr``: one counter per fixed window, the previous window's weighted by how much of
  it still overlaps the sliding window, as in ``limits``' ``SlidingWindowCounter``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from services.errors import RateLimited


def parse_limit(limit: str) -> RateLimitItem:
    """The one limit ``limit`` says (e.g. ``"5/15 minutes"``, ``"20 per hour"``).

    Raises :class:`ValueError`, saying what is expected, when it is malformed, allows
    nothing, or is several limits (``"5/minute; 100/day"``)."""
    try:
        items = parse_many(limit)
    except ValueError:
        items = []
    if len(items) != 1 or items[0].amount < 1:
        raise ValueError(
            f"expected one rate limit such as '5/15 minutes' or '20/hour'"
            f" (at least 1 per second, minute, hour, day, month or year), got {limit!r}"
        )
    return items[0]


@dataclass(frozen=True, slots=True)
class Budget:
    """A limit (e.g. ``"5/15 minutes"``) for one subject (e.g. ``("sign-in:email", x)``)."""

    limit: str
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Counted:
    key: str
    expiry: int


class Attempt:
    """Attempts counted by :meth:`RateLimiter.attempt`; :meth:`refund` gives them back."""

    def __init__(self, storage: Storage, counted: list[_Counted]) -> None:
        self._storage = storage
        self._counted = counted

    async def refund(self) -> None:
        """Uncount the attempt (once): it succeeded, and the limits count failures.

        The counters of the windows it was counted in go down; a window already over
        does not lend the refund to the current one."""
        counted, self._counted = self._counted, []
        for entry in counted:
            await self._storage.incr(entry.key, entry.expiry, amount=-1)


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
        if not await self._limiter.hit(parse_limit(limit), *keys):
            raise RateLimited()

    async def attempt(self, *budgets: Budget) -> Attempt:
        """Count one attempt against every budget, or none and raise
        :class:`RateLimited` when one is exhausted. Refund the attempt when it succeeds
        and the limits count failures only."""
        counted: list[_Counted] = []
        try:
            for budget in budgets:
                counted.append(await self._take(parse_limit(budget.limit), budget.keys))
        except RateLimited:
            await Attempt(self._storage, counted).refund()  # not tried: nothing to count
            raise
        return Attempt(self._storage, counted)

    async def _take(self, item: RateLimitItem, keys: tuple[str, ...]) -> _Counted:
        period = item.get_expiry()
        now = time.time()
        window = math.floor(now / period)
        base = item.key_for("attempts", *keys)
        current = _Counted(f"{base}/{window}", 2 * period)  # kept while it is "previous"
        count = await self._storage.incr(current.key, current.expiry)
        previous = await self._storage.get(f"{base}/{window - 1}")
        overlap = 1 - (now - window * period) / period
        if previous * overlap + count > item.amount:
            await self._storage.incr(current.key, current.expiry, amount=-1)
            raise RateLimited()
        return current

    async def clear(self, limit: str, *keys: str) -> None:
        await self._limiter.clear(parse_limit(limit), *keys)

    async def reset(self) -> None:
        await self._storage.reset()
