"""The unit of work: the one way a change reaches the database.

Every writer — a mutation, the scheduler, a background job, a webhook handler, a CLI
command — runs its change inside :func:`unit_of_work`: one transaction, begun as a write
(on SQLite it holds the write lock from its start, see :mod:`services.db`), committed when
the block ends and rolled back entirely when it raises.

What the change sets in motion — mail delivery, closing the sockets of revoked
credentials, publishing events, anything registered with :func:`after_commit` — runs only
once the transaction is durable, and never after a rollback. A follow-up that fails is
logged and never undoes the committed change: the outbox rows it would have acted on
are already committed and are picked up again (mail at the next kick or start-up).

This module is the only one that calls ``commit()``: :func:`end_read` ends a read
transaction before slow work (hashing a password) and :func:`write_apart` commits one
small bookkeeping write of a read request.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import structlog
from sqlalchemy import Update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from services.db import WRITE_OPTIONS, writes

if TYPE_CHECKING:
    from services.runtime import Runtime

log = structlog.get_logger("portico.unit_of_work")

FollowUp = Callable[["Runtime"], Awaitable[None] | None]
"""Work a committed change sets in motion; it receives the runtime to act with."""

F = TypeVar("F", bound=FollowUp)

_FOLLOW_UPS = "portico.follow_ups"
"""``session.info`` key: the follow-ups of the session's open transaction, by key."""


def after_commit(session: AsyncSession, key: str, follow_up: F) -> F:
    """Run ``follow_up`` once ``session``'s transaction has committed (never after a
    rollback). One follow-up per ``key`` and transaction: registering the same key again
    (a second queued mail) keeps the first, so mail is kicked once per commit; the one
    registered is returned (a follow-up may gather what it acts on, see
    :func:`services.revocation.announce_after_commit`)."""
    pending: dict[str, FollowUp] = session.info.setdefault(_FOLLOW_UPS, {})
    return pending.setdefault(key, follow_up)  # type: ignore[return-value]


def _take_follow_ups(session: AsyncSession) -> list[FollowUp]:
    pending: dict[str, FollowUp] = session.info.pop(_FOLLOW_UPS, {})
    return list(pending.values())


@dataclass(slots=True, frozen=True)
class UnitOfWork:
    """A change in progress: its session (in a write transaction) and the runtime its
    actions act with (to sign links, queue mail, …)."""

    session: AsyncSession
    runtime: Runtime


@asynccontextmanager
async def unit_of_work(
    runtime: Runtime, session: AsyncSession | None = None
) -> AsyncIterator[UnitOfWork]:
    """One change, in one transaction, with its follow-ups after commit.

    Without ``session`` a new one is opened (and closed) for it; with one (a request's)
    the read transaction it is in ends first (authentication read in it) and the write
    begins, so on SQLite nothing the change reads is read before the lock is held.
    """
    if session is None:
        async with runtime.sessions() as opened, _committed(runtime, opened) as work:
            yield work
        return
    async with _committed(runtime, session) as work:
        yield work


@asynccontextmanager
async def _committed(runtime: Runtime, session: AsyncSession) -> AsyncIterator[UnitOfWork]:
    try:
        await begin_write(session)
        yield UnitOfWork(session=session, runtime=runtime)
        await session.commit()
    except BaseException:
        await session.rollback()
        _take_follow_ups(session)
        raise
    await run_follow_ups(runtime, _take_follow_ups(session))


async def run_follow_ups(runtime: Runtime, follow_ups: list[FollowUp]) -> None:
    """Run each follow-up in turn; one that fails is logged and the others still run."""
    for follow_up in follow_ups:
        try:
            outcome = follow_up(runtime)
            if inspect.isawaitable(outcome):
                await outcome
        except Exception:
            log.exception("follow_up_failed", follow_up=getattr(follow_up, "__name__", "?"))


@asynccontextmanager
async def transaction(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A write transaction of its own for infrastructure that has no runtime (the
    mailer's bookkeeping, migrations' checks): committed when the block ends, rolled back
    if it raises. Its change may set nothing in motion (no :func:`after_commit`)."""
    async with factory() as session:
        try:
            await begin_write(session)
            yield session
            if session.info.get(_FOLLOW_UPS):
                raise RuntimeError("a change with follow-ups needs unit_of_work(runtime)")
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


async def begin_write(session: AsyncSession) -> None:
    """Begin ``session``'s next transaction as a write: on SQLite it takes the write
    lock now (``BEGIN IMMEDIATE``, waiting up to the busy timeout), so that what it
    reads before writing stays true until it commits.

    A read transaction the session is in (the reads that authenticated the request,
    say) ends first (:func:`end_read`): its snapshot may be older than the lock, and it
    could not take the lock anyway. Already in a write transaction: nothing to do.
    Objects loaded earlier stay in the session unreloaded, so read again, locking, what
    the checks depend on (the services' locking reads do).
    """
    if session.in_transaction():
        current = await session.connection()
        if current.sync_connection is not None and writes(current.sync_connection):
            return
        await session.commit()  # the read ends; nothing it loaded expires
    await session.connection(execution_options=WRITE_OPTIONS)


async def end_read(session: AsyncSession) -> None:
    """End ``session``'s read transaction (nothing is pending, nothing expires: the
    session does not expire on commit), so no transaction stays open across slow work
    such as hashing a password. Refuses a session with unflushed changes: a write
    belongs in :func:`unit_of_work`."""
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("end_read on a session with pending changes")
    await session.commit()


async def write_apart(session: AsyncSession, statement: Update) -> None:
    """Run one small write (``UPDATE``) in a transaction of its own, then carry on in a
    new read transaction: for the bookkeeping writes of reads (``last_seen_at``)."""
    await begin_write(session)
    await session.exec(statement)
    await session.commit()
