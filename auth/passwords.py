"""Password hashing with argon2id (argon2-cffi's recommended parameters).

One argon2 hash costs tens of milliseconds of CPU and 64 MiB of memory by design, so it
never runs on the event loop: :class:`PasswordHasherPool` runs it in worker threads
(argon2-cffi releases the GIL while it hashes), a few at a time, with a bounded line of
callers waiting for a slot; a caller beyond that line is refused at once
(:class:`PasswordHasherBusy`) instead of piling up work an attacker asked for.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import Parameters, PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

PRODUCTION_PARAMETERS = profiles.RFC_9106_LOW_MEMORY
MIN_PASSWORD_LENGTH = 10
T = TypeVar("T")
_EQUALISER = "portico-timing-equaliser"

_hasher = PasswordHasher.from_parameters(PRODUCTION_PARAMETERS)
# Verified against when an email is unknown, so both paths cost one argon2 verification
# and an attacker cannot tell from the timing which emails exist.
_DUMMY_HASH = _hasher.hash(_EQUALISER)


def _use(parameters: Parameters) -> None:
    global _hasher, _DUMMY_HASH  # a deliberate process-wide switch
    _hasher = PasswordHasher.from_parameters(parameters)
    _DUMMY_HASH = _hasher.hash(_EQUALISER)


def use_cheapest_parameters() -> None:
    """Switch to argon2's cheapest parameters: for test suites only, where hundreds of
    hashes would otherwise dominate the run. Existing hashes still verify."""
    _use(profiles.CHEAPEST)


@contextlib.contextmanager
def argon2_parameters(parameters: Parameters = PRODUCTION_PARAMETERS) -> Iterator[None]:
    """Hash with ``parameters`` inside the block (the production ones by default), then
    switch back: lets one test measure real argon2 costs in a suite that runs cheap."""
    previous = _hasher, _DUMMY_HASH
    _use(parameters)
    try:
        yield
    finally:
        _restore(*previous)


def _restore(hasher: PasswordHasher, dummy: str) -> None:
    global _hasher, _DUMMY_HASH
    _hasher, _DUMMY_HASH = hasher, dummy


def _hash_now(password: str) -> str:
    return _hasher.hash(password)


def _verify_now(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; with no hash, spends the same time and says no."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


HASHING_NICENESS = 10
"""How much lower than the event loop's the hashing threads' CPU priority is (Linux): on
a busy machine the loop, which answers every other request, gets the CPU first."""


def _lower_thread_priority() -> None:
    if sys.platform == "linux":  # there, a thread id names one thread, not the process
        with contextlib.suppress(OSError):
            tid = threading.get_native_id()
            os.setpriority(
                os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + HASHING_NICENESS
            )


class PasswordHasherBusy(Exception):
    """Every hashing slot is taken and the line of waiting callers is full."""


class PasswordHasherPool:
    """Hashes and verifies passwords in ``concurrency`` worker threads; at most ``queue``
    more callers wait for a thread, further callers get :class:`PasswordHasherBusy`.

    It holds no asyncio primitive (the waiting line is the executor's own queue), so one
    pool may serve several event loops, e.g. a module-level default in tests and the CLI.
    A caller cancelled while waiting leaves the line without costing a hash.
    """

    def __init__(self, concurrency: int = 2, queue: int = 32) -> None:
        if concurrency < 1 or queue < 0:
            raise ValueError("concurrency must be positive and queue not negative")
        self.concurrency = concurrency
        self.capacity = concurrency + queue
        self._admitted = 0
        self._executor = ThreadPoolExecutor(
            max_workers=concurrency,
            thread_name_prefix="argon2",
            initializer=_lower_thread_priority,
        )

    @property
    def admitted(self) -> int:
        """Callers hashing or waiting right now."""
        return self._admitted

    async def hash(self, password: str) -> str:
        """An argon2id hash of ``password``."""
        return await self._run(functools.partial(_hash_now, password))

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether ``password`` matches ``password_hash``; with no hash, the same work
        against a dummy hash and ``False`` (the timing equaliser for unknown emails)."""
        return await self._run(functools.partial(_verify_now, password_hash, password))

    async def _run(self, work: Callable[[], T]) -> T:
        if self._admitted >= self.capacity:
            raise PasswordHasherBusy()
        self._admitted += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, work)
        finally:
            self._admitted -= 1


_default_pool: PasswordHasherPool | None = None


def default_pool() -> PasswordHasherPool:
    """A process-wide pool with the default bounds, for callers outside a server runtime
    (the CLI, seeding, tests that call services directly)."""
    global _default_pool
    if _default_pool is None:
        _default_pool = PasswordHasherPool()
    return _default_pool


def password_problem(password: str) -> str | None:
    """Why ``password`` is too weak, or ``None`` when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Password must be at least {MIN_PASSWORD_LENGTH} characters long."
    if password.isdigit() or (password.isalpha() and password.lower() == password):
        return "Password must mix letters with digits, capitals or symbols."
    return None
