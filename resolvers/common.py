"""Helpers every resolver module uses: ids from arguments, the caller, transactions."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import AuthenticatedPrincipal, ContactPrincipal, StaffPrincipal
from resolvers.context import Info, Runtime
from services.access import require_authenticated, require_staff
from services.background import take_mail_queued
from services.db import begin_write
from services.errors import BadInput, Forbidden
from services.revocation import forget_announcements, take_announcements


def parse_id(value: str, *, field: str = "id") -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as error:
        raise BadInput(f"{value!r} is not a valid id.", field=field) from error


def parse_optional_id(value: str | None, *, field: str) -> uuid.UUID | None:
    return None if value is None else parse_id(value, field=field)


def staff(info: Info) -> StaffPrincipal:
    return require_staff(info.context.principal)


def caller(info: Info) -> AuthenticatedPrincipal:
    return require_authenticated(info.context.principal)


def acting_contact(info: Info) -> ContactPrincipal:
    """The contact behind a request that changes something (never a read-only view)."""
    principal = caller(info)
    if not isinstance(principal, ContactPrincipal) or principal.read_only:
        raise Forbidden()
    return principal


@asynccontextmanager
async def atomic(info: Info) -> AsyncIterator[AsyncSession]:
    """One mutation = one transaction: committed when the block ends, rolled back
    entirely if anything in it raises, so nothing is half-written.

    It begins as a write (:func:`services.db.begin_write`): the request's read
    transaction (authentication ran in it) ends, and on SQLite the write lock is taken
    before the mutation reads anything, so concurrent mutations check and write one
    after the other, as row locks make them on PostgreSQL."""
    session = info.context.session
    try:
        await begin_write(session)
        yield session
        await session.commit()
    except BaseException:
        await session.rollback()
        forget_announcements(session)
        take_mail_queued(session)
        raise
    await after_commit(info.context.runtime, session)


async def after_commit(runtime: Runtime, session: AsyncSession) -> None:
    """What a committed transaction sets in motion: mail delivery, and closing the
    connections of credentials it revoked."""
    if take_mail_queued(session):
        runtime.mailer.kick()
    await runtime.hub.publish(take_announcements(session))
