"""Helpers every resolver module uses: ids from arguments, the caller, transactions."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from auth.principals import AuthenticatedPrincipal, ContactPrincipal, StaffPrincipal
from resolvers.context import Info
from services.access import require_authenticated, require_staff
from services.errors import BadInput, Forbidden
from services.unit_of_work import UnitOfWork, unit_of_work


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
async def atomic(info: Info) -> AsyncIterator[UnitOfWork]:
    """One mutation = one unit of work (:func:`services.unit_of_work.unit_of_work`) on
    the request's session: committed when the block ends, rolled back entirely if
    anything in it raises, its follow-ups (mail, socket revocation) after the commit."""
    async with unit_of_work(info.context.runtime, info.context.session) as work:
        yield work
