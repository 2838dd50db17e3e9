"""Staff viewing the portal as one of a client's contacts (read-only)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import StaffPrincipal
from auth.tokens import TokenSigner
from services.access import access_contact
from services.events import access as access_events
from services.portal.sessions import start_contact_session

VIEW_AS_TTL = timedelta(hours=1)


async def view_as_contact(
    *, session: AsyncSession, signer: TokenSigner, actor: StaffPrincipal, contact_id: uuid.UUID
) -> str:
    """A read-only token with the contact's profile; each use is in the activity log.
    It ends when the staff session that asked for it ends (signed out, revoked, expired)."""
    contact = await access_contact(session, actor, contact_id)
    token = await start_contact_session(
        session=session,
        signer=signer,
        contact=contact,
        ttl=VIEW_AS_TTL,
        viewer=actor,
    )
    access_events.viewed_as(session, contact, actor)
    return token
