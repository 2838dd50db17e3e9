"""Ending a contact's access: every session and link of contacts whose access ends
(client archived, a portal turned off, email changed or removed, or staff revoking it).

Revoked sessions are announced after commit (services.revocation), which closes their
open WebSocket connections on every server instance.
"""

from __future__ import annotations

import uuid

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import StaffPrincipal
from models.auth import AuthSession
from models.clients import Contact
from models.types import utcnow
from services.access import access_contact
from services.events import access as access_events
from services.portal.links import revoke_links
from services.sessions import revoke_sessions


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


async def revoke_contact_access(
    session: AsyncSession, *, actor: StaffPrincipal, contact_id: uuid.UUID
) -> Contact:
    """Staff: sign a contact out everywhere and void its links."""
    contact = await access_contact(session, actor, contact_id)
    ended = await end_contact_access(session, account_id=actor.account_id, contact_ids=[contact.id])
    access_events.access_revoked(session, contact, actor, sessions=ended)
    return contact
