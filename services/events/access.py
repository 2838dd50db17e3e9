"""The events of access: partner API tokens, the account's settings, and how contacts get
into (and are kept out of) the portal; one recorder each (:mod:`services.events`).

======================================  ======================  ==========================
verb                                    when                    details
======================================  ======================  ==========================
``api_token.created``                   staff create a partner  ``name``, ``scopes``
                                        API token
``api_token.revoked``                   staff revoke it         ``name``
``persisted_query.registered``          an admin registers a    ``sha256``, ``name``,
                                        document for partner    ``webhook`` (registered
                                        tokens                  with a webhook's query)
``persisted_query.deleted``             an admin removes it     ``sha256``, ``name``
``account.settings_updated``            staff change modules,   ``changed`` (the settings
                                        branding or portal      given, sorted)
                                        options
``account.stripe_connected``            an admin connects       ``livemode``
                                        Stripe (keys checked)
``account.stripe_disconnected``         an admin disconnects    none
                                        it
``contact.invited``                     staff invite a contact  none
                                        to set a password
``contact.invite_accepted``             the contact sets its    none
                                        password with the
                                        invite
``contact.password_reset``              the contact sets a new  none
                                        one with a reset link
``contact.signed_in``                   the contact opens a     ``link`` (its purpose:
                                        magic, dashboard,       ``MAGIC_LINK``, ...)
                                        document or
                                        verification link
``contact.viewed_as``                   staff view the portal   ``email``; ``link`` when
                                        as the contact (view    staff opened one of the
                                        as, or a client's link  contact's links
                                        opened by staff)
``contact.access_revoked``              staff sign the contact  ``sessions`` (how many
                                        out everywhere          ended)
``contact.dashboard_link_created``      staff make its          ``replaced`` (how many
                                        dashboard link          old links stopped)
======================================  ======================  ==========================

Shown to the client: nothing; who was let in, and how, is for the business's staff (a
contact sees its own sessions in the portal's settings). These events do not go to the
outbox. Detail keys never name a credential (keys that look like one are never shown:
:data:`services.activity.SECRET_DETAIL_MARKERS`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import StaffPrincipal
from models.accounts import Account
from models.activity import Verb
from models.auth import ApiToken
from models.clients import Contact
from models.enums import LinkPurpose
from models.persisted_queries import PersistedQuery
from services import activity


def _record(
    session: AsyncSession,
    verb: Verb,
    *,
    account_id: uuid.UUID,
    subject_id: uuid.UUID,
    actor: StaffPrincipal | None,
    client_id: uuid.UUID | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    activity.record(
        session,
        account_id=account_id,
        actor=actor,
        verb=verb,
        subject_id=subject_id,
        client_id=client_id,
        details=details,
        visible_to_client=False,
    )


def _contact_event(
    session: AsyncSession,
    verb: Verb,
    contact: Contact,
    actor: StaffPrincipal | None,
    details: dict[str, Any] | None = None,
) -> None:
    _record(
        session,
        verb,
        account_id=contact.account_id,
        subject_id=contact.id,
        actor=actor,
        client_id=contact.client_id,
        details=details,
    )


# --- partner API tokens and the account -------------------------------------------------


def api_token_created(session: AsyncSession, token: ApiToken, actor: StaffPrincipal) -> None:
    _record(
        session,
        Verb.API_TOKEN_CREATED,
        account_id=token.account_id,
        subject_id=token.id,
        actor=actor,
        details={"name": token.name, "scopes": token.scopes},
    )


def persisted_query_registered(
    session: AsyncSession, document: PersistedQuery, actor: StaffPrincipal, *, webhook: bool
) -> None:
    """``webhook``: registered with a webhook's document (``createWebhook``)."""
    _record(
        session,
        Verb.PERSISTED_QUERY_REGISTERED,
        account_id=document.account_id,
        subject_id=document.id,
        actor=actor,
        details={"sha256": document.sha256, "name": document.name, "webhook": webhook},
    )


def persisted_query_deleted(
    session: AsyncSession, document: PersistedQuery, actor: StaffPrincipal
) -> None:
    _record(
        session,
        Verb.PERSISTED_QUERY_DELETED,
        account_id=document.account_id,
        subject_id=document.id,
        actor=actor,
        details={"sha256": document.sha256, "name": document.name},
    )


def api_token_revoked(session: AsyncSession, token: ApiToken, actor: StaffPrincipal) -> None:
    _record(
        session,
        Verb.API_TOKEN_REVOKED,
        account_id=token.account_id,
        subject_id=token.id,
        actor=actor,
        details={"name": token.name},
    )


def settings_updated(
    session: AsyncSession, account: Account, actor: StaffPrincipal, *, changed: Iterable[str]
) -> None:
    """``changed``: the names of the settings the update gave."""
    _record(
        session,
        Verb.ACCOUNT_SETTINGS_UPDATED,
        account_id=account.id,
        subject_id=account.id,
        actor=actor,
        details={"changed": sorted(changed)},
    )


def stripe_connected(
    session: AsyncSession, account: Account, actor: StaffPrincipal, *, livemode: bool
) -> None:
    _record(
        session,
        Verb.ACCOUNT_STRIPE_CONNECTED,
        account_id=account.id,
        subject_id=account.id,
        actor=actor,
        details={"livemode": livemode},
    )


def stripe_disconnected(session: AsyncSession, account: Account, actor: StaffPrincipal) -> None:
    _record(
        session,
        Verb.ACCOUNT_STRIPE_DISCONNECTED,
        account_id=account.id,
        subject_id=account.id,
        actor=actor,
    )


# --- contacts' portal access --------------------------------------------------------------


def invited(session: AsyncSession, contact: Contact, actor: StaffPrincipal) -> None:
    _contact_event(session, Verb.CONTACT_INVITED, contact, actor)


def invite_accepted(session: AsyncSession, contact: Contact) -> None:
    """By the contact holding the invite, before it has a session: the system records it."""
    _contact_event(session, Verb.CONTACT_INVITE_ACCEPTED, contact, None)


def password_reset(session: AsyncSession, contact: Contact) -> None:
    """By the contact holding the reset link, before it has a session."""
    _contact_event(session, Verb.CONTACT_PASSWORD_RESET, contact, None)


def signed_in(session: AsyncSession, contact: Contact, *, link: LinkPurpose) -> None:
    """The contact opened one of its links (the system records it: no session yet)."""
    _contact_event(session, Verb.CONTACT_SIGNED_IN, contact, None, {"link": link.value})


def viewed_as(
    session: AsyncSession,
    contact: Contact,
    actor: StaffPrincipal,
    *,
    link: LinkPurpose | None = None,
) -> None:
    """``link``: staff opened one of the contact's links rather than asking to view as."""
    details: dict[str, Any] = {"email": contact.email}
    if link is not None:
        details["link"] = link.value
    _contact_event(session, Verb.CONTACT_VIEWED_AS, contact, actor, details)


def access_revoked(
    session: AsyncSession, contact: Contact, actor: StaffPrincipal, *, sessions: int
) -> None:
    _contact_event(session, Verb.CONTACT_ACCESS_REVOKED, contact, actor, {"sessions": sessions})


def dashboard_link_created(
    session: AsyncSession, contact: Contact, actor: StaffPrincipal, *, replaced: int
) -> None:
    _contact_event(
        session, Verb.CONTACT_DASHBOARD_LINK_CREATED, contact, actor, {"replaced": replaced}
    )
