"""Contact sessions: a new session row for a contact (a "view as client" one for staff),
its token, and the :class:`PortalSession` that signing in with a link or a password
answers. Looking sessions up, listing and revoking them is ``services.sessions``'s.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import StaffPrincipal
from auth.tokens import TokenSigner
from models.auth import AuthSession
from models.clients import Contact
from models.enums import SessionKind
from models.types import utcnow
from services.errors import Unauthenticated
from services.portal.links import OpenedLink
from services.runtime import Runtime
from services.sessions import issue_session_token


@dataclass(frozen=True, slots=True)
class PortalSession:
    """A contact session opened from a link; ``subject`` names the document a document
    link opens."""

    token: str
    expires_at: datetime
    contact: Contact
    subject_type: str | None = None
    subject_id: uuid.UUID | None = None
    read_only: bool = False


async def open_contact_session(
    *,
    session: AsyncSession,
    contact: Contact,
    ttl: timedelta,
    viewer: StaffPrincipal | None = None,
    link_id: uuid.UUID | None = None,
) -> AuthSession:
    """A new session row for ``contact``; with ``viewer``, a read-only "view as client"
    session of that staff user, which ends with the staff session that opened it, and
    never outlives it; ``link_id``: the portal link it was opened with."""
    expires_at = utcnow() + ttl
    if viewer is not None:
        parent = await session.get(AuthSession, viewer.session_id)
        if parent is None or parent.revoked_at is not None:
            raise Unauthenticated("Invalid or expired token.")
        expires_at = min(expires_at, parent.expires_at)
    auth_session = AuthSession(
        account_id=contact.account_id,
        kind=SessionKind.VIEW_AS if viewer else SessionKind.CONTACT,
        contact_id=contact.id,
        staff_user_id=viewer.user_id if viewer else None,
        read_only=viewer is not None,
        link_id=link_id,
        created_by_session_id=viewer.session_id if viewer else None,
        expires_at=expires_at,
    )
    session.add(auth_session)
    await session.flush()
    return auth_session


async def start_contact_session(
    *,
    session: AsyncSession,
    signer: TokenSigner,
    contact: Contact,
    ttl: timedelta,
    viewer: StaffPrincipal | None = None,
    link_id: uuid.UUID | None = None,
) -> str:
    """A session token for ``contact`` (see :func:`open_contact_session`)."""
    auth_session = await open_contact_session(
        session=session, contact=contact, ttl=ttl, viewer=viewer, link_id=link_id
    )
    return issue_session_token(signer, auth_session)


async def start_link_session(
    session: AsyncSession,
    runtime: Runtime,
    opened: OpenedLink,
    *,
    read_only_for: StaffPrincipal | None,
) -> tuple[PortalSession, AuthSession]:
    """A session for the contact of the link just opened (``read_only_for``: a staff
    user of the account viewing it, read-only); the answer and the row."""
    auth_session = await open_contact_session(
        session=session,
        contact=opened.contact,
        ttl=runtime.session_ttl,
        viewer=read_only_for,
        link_id=opened.link.id,
    )
    result = PortalSession(
        token=issue_session_token(runtime.signer, auth_session),
        expires_at=auth_session.expires_at,
        contact=opened.contact,
        subject_type=opened.link.subject_type,
        subject_id=opened.link.subject_id,
        read_only=read_only_for is not None,
    )
    return result, auth_session
