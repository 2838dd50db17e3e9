"""The events of clients and their contacts, one recorder each (:mod:`services.events`).
A contact's portal access (invites, sign-ins, links) is :mod:`.access`.

======================  ============================  ====================================
verb                    when                          details
======================  ============================  ====================================
``client.created``      staff create it (with its     none
                        first contacts)
``client.updated``      staff edit it                 none
``client.archived``     staff archive it (its         none
                        contacts' access ends)
``client.restored``     staff restore it              none
``client.registered``   someone signs up in the       ``email``
                        portal (a client with its
                        billing contact)
``contact.created``     staff add a contact           none
``contact.updated``     staff edit a contact          none
``contact.deleted``     staff delete a contact        ``email`` (the row is gone)
======================  ============================  ====================================

Shown to the client: nothing; a client's record and its contacts are the business's own
bookkeeping, and these events do not go to the outbox.
"""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import StaffPrincipal
from models.activity import Verb
from models.clients import Client, Contact
from services import activity


def _record(
    session: AsyncSession,
    verb: Verb,
    subject: Client | Contact,
    actor: StaffPrincipal | None,
    details: dict[str, Any] | None = None,
) -> None:
    activity.record(
        session,
        account_id=subject.account_id,
        actor=actor,
        verb=verb,
        subject_id=subject.id,
        client_id=subject.id if isinstance(subject, Client) else subject.client_id,
        details=details,
        visible_to_client=False,
    )


def created(session: AsyncSession, client: Client, actor: StaffPrincipal) -> None:
    _record(session, Verb.CLIENT_CREATED, client, actor)


def updated(session: AsyncSession, client: Client, actor: StaffPrincipal) -> None:
    _record(session, Verb.CLIENT_UPDATED, client, actor)


def archived(session: AsyncSession, client: Client, actor: StaffPrincipal) -> None:
    _record(session, Verb.CLIENT_ARCHIVED, client, actor)


def restored(session: AsyncSession, client: Client, actor: StaffPrincipal) -> None:
    _record(session, Verb.CLIENT_RESTORED, client, actor)


def registered(session: AsyncSession, client: Client) -> None:
    """Self-registration: no one is signed in yet, so the system is the actor."""
    _record(session, Verb.CLIENT_REGISTERED, client, None, {"email": client.email})


def contact_created(session: AsyncSession, contact: Contact, actor: StaffPrincipal) -> None:
    _record(session, Verb.CONTACT_CREATED, contact, actor)


def contact_updated(session: AsyncSession, contact: Contact, actor: StaffPrincipal) -> None:
    _record(session, Verb.CONTACT_UPDATED, contact, actor)


def contact_deleted(session: AsyncSession, contact: Contact, actor: StaffPrincipal) -> None:
    _record(session, Verb.CONTACT_DELETED, contact, actor, {"email": contact.email})
