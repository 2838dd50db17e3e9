"""The client's secure dashboard link (seed 000): a link that opens the portal again and
again until a new one replaces it, which also ends every session opened with the old."""

from __future__ import annotations

import uuid

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import StaffPrincipal
from models.accounts import Account
from models.auth import AuthSession
from models.enums import LinkPurpose
from services.access import access_contact
from services.errors import Conflict
from services.events import access as access_events
from services.portal.links import IssuedLink, issue_link, revoke_links
from services.runtime import Runtime
from services.sessions import revoke_sessions


async def create_dashboard_link(
    session: AsyncSession, runtime: Runtime, *, actor: StaffPrincipal, contact_id: uuid.UUID
) -> IssuedLink:
    """The contact's secure dashboard URL (seed 000). A new one replaces the old: the old
    link and every session opened with it stop at once."""
    contact = await access_contact(session, actor, contact_id)
    account = await session.get(Account, actor.account_id)
    if account is None:  # pragma: no cover - the actor's account exists
        raise Conflict("Account not found.")
    old = await revoke_links(
        session, contact_ids=[contact.id], purposes=frozenset({LinkPurpose.DASHBOARD})
    )
    if old:
        opened_with_old = list(
            (
                await session.exec(
                    select(AuthSession.id).where(
                        col(AuthSession.link_id).in_(old), col(AuthSession.revoked_at).is_(None)
                    )
                )
            ).all()
        )
        await revoke_sessions(session, opened_with_old)
    issued = await issue_link(
        session,
        signer=runtime.signer,
        settings=runtime.settings,
        account=account,
        contact=contact,
        purpose=LinkPurpose.DASHBOARD,
        created_by_id=actor.user_id,
    )
    access_events.dashboard_link_created(session, contact, actor, replaced=len(old))
    return issued
