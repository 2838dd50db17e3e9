"""Inviting a contact: a mail with a link to set a password (``acceptInvite``, in
:mod:`services.portal.passwords`)."""

from __future__ import annotations

import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import StaffPrincipal
from models.accounts import Account, StaffUser
from models.clients import Client, Contact
from models.enums import LinkPurpose
from services.access import access_contact
from services.errors import Conflict
from services.events import access as access_events
from services.portal.links import IssuedLink, revoke_links, send_link
from services.runtime import Runtime


async def invite_contact(
    session: AsyncSession, runtime: Runtime, *, actor: StaffPrincipal, contact_id: uuid.UUID
) -> tuple[Contact, IssuedLink]:
    """Email the contact a link to set a password; earlier unused invites stop working."""
    contact = await access_contact(session, actor, contact_id)
    client = await session.get(Client, contact.client_id)
    account = await session.get(Account, actor.account_id)
    inviter = await session.get(StaffUser, actor.user_id)
    if account is None or client is None:  # pragma: no cover - access_contact checked both
        raise Conflict("The contact's client is gone.")
    if not account.portal_enabled or not client.portal_enabled or client.archived_at:
        raise Conflict("Turn the portal on for this client before inviting its contacts.")
    await revoke_links(session, contact_ids=[contact.id], purposes=frozenset({LinkPurpose.INVITE}))
    issued = await send_link(
        session,
        runtime,
        account=account,
        contact=contact,
        purpose=LinkPurpose.INVITE,
        created_by_id=actor.user_id,
        template="invite",
        extra={
            "inviter_name": inviter.name if inviter else account.name,
            "expires_days": runtime.settings.invite_ttl_days,
        },
    )
    access_events.invited(session, contact, actor)
    return contact, issued
