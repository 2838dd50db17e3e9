"""Ending access: sessions listed and revoked, and every session and link of contacts
whose access ends (client archived, a portal turned off, email changed or removed).

Revoked sessions are announced after commit (services.revocation), which closes their
open WebSocket connections on every server instance.
"""

from __future__ import annotations

import uuid

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import AuthenticatedPrincipal, ContactPrincipal, StaffPrincipal
from models.auth import AuthSession
from models.clients import Contact
from models.enums import SessionKind
from models.types import utcnow
from services.access import access_contact
from services.errors import NotFound
from services.events import access as access_events
from services.portal_links import revoke_links
from services.revocation import announce_after_commit
from services.sessions import revoke_sessions, revoke_view_as_sessions_of


async def _live_sessions_of_contacts(
    session: AsyncSession, contact_ids: list[uuid.UUID]
) -> list[uuid.UUID]:
    if not contact_ids:
        return []
    statement = select(AuthSession.id).where(
        col(AuthSession.contact_id).in_(contact_ids),
        col(AuthSession.revoked_at).is_(None),
        col(AuthSession.expires_at) > utcnow(),
    )
    return list((await session.exec(statement)).all())


async def end_contact_access(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    contact_ids: list[uuid.UUID] | None = None,
    client_id: uuid.UUID | None = None,
) -> int:
    """End every session (view-as ones included) and every link of the given contacts,
    or of all contacts of ``client_id``, or of the whole account; how many sessions."""
    statement = select(Contact.id).where(Contact.account_id == account_id)
    if contact_ids is not None:
        statement = statement.where(col(Contact.id).in_(contact_ids))
    if client_id is not None:
        statement = statement.where(Contact.client_id == client_id)
    ids = list((await session.exec(statement)).all())
    session_ids = await _live_sessions_of_contacts(session, ids)
    await revoke_sessions(session, session_ids)
    await revoke_links(session, contact_ids=ids)
    return len(session_ids)


async def list_sessions(
    session: AsyncSession, *, principal: AuthenticatedPrincipal, contact_id: uuid.UUID | None
) -> list[AuthSession]:
    """Live sessions: the caller's own, or (staff) those of one contact of the account."""
    statement = select(AuthSession).where(
        AuthSession.account_id == principal.account_id,
        col(AuthSession.revoked_at).is_(None),
        col(AuthSession.expires_at) > utcnow(),
    )
    if contact_id is not None:
        if not isinstance(principal, StaffPrincipal):
            raise NotFound("Contact")
        contact = await access_contact(session, principal, contact_id)
        statement = statement.where(AuthSession.contact_id == contact.id)
    elif isinstance(principal, StaffPrincipal):
        statement = statement.where(
            AuthSession.staff_user_id == principal.user_id, col(AuthSession.contact_id).is_(None)
        )
    elif isinstance(principal, ContactPrincipal):
        statement = statement.where(
            AuthSession.contact_id == principal.contact_id,
            col(AuthSession.read_only).is_(False),
        )
    else:
        return []
    statement = statement.order_by(col(AuthSession.created_at).desc(), col(AuthSession.id))
    return list((await session.exec(statement)).all())


async def revoke_session(
    session: AsyncSession, *, principal: AuthenticatedPrincipal, session_id: uuid.UUID
) -> AuthSession:
    """Revoke one of the caller's own sessions, or (staff) a contact's session."""
    row = (
        await session.exec(
            select(AuthSession).where(
                AuthSession.id == session_id, AuthSession.account_id == principal.account_id
            )
        )
    ).one_or_none()
    allowed = row is not None and (
        (isinstance(principal, StaffPrincipal) and row.contact_id is not None)
        or (
            isinstance(principal, StaffPrincipal)
            and row.staff_user_id == principal.user_id
            and row.contact_id is None
        )
        or (
            isinstance(principal, ContactPrincipal)
            and not principal.read_only
            and row.contact_id == principal.contact_id
            and not row.read_only
        )
    )
    if row is None or not allowed:
        raise NotFound("Session")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        announce_after_commit(session, [row.id])
    if row.kind is SessionKind.STAFF:
        # the "view as client" sessions it opened end with it, sockets included
        await revoke_view_as_sessions_of(session, [row.id])
    return row


async def revoke_contact_access(
    session: AsyncSession, *, actor: StaffPrincipal, contact_id: uuid.UUID
) -> Contact:
    """Staff: sign a contact out everywhere and void its links."""
    contact = await access_contact(session, actor, contact_id)
    ended = await end_contact_access(session, account_id=actor.account_id, contact_ids=[contact.id])
    access_events.access_revoked(session, contact, actor, sessions=ended)
    return contact
