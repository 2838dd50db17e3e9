"""Who still receives an event: a subscription outlives the request that opened it, so
each event re-checks its subscriber — the credential still live, the profile unchanged
(a module turned off, a role changed), the invoice in the subscriber's row scope. The
broker shares each answer among the listeners that would ask the same question
(:meth:`services.event_log.delivered.DeliveredEvent.once`)."""

from __future__ import annotations

import uuid
from collections.abc import Hashable

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import (
    AuthenticatedPrincipal,
    ContactPrincipal,
    PartnerPrincipal,
    StaffPrincipal,
)
from models.activity import EventTopic
from models.auth import ApiToken
from models.invoices import Invoice
from services.access import HIDDEN_INVOICE_STATUSES, invoice_scope
from services.errors import Unauthenticated
from services.event_log.delivered import DeliveredEvent
from services.sessions import partner_principal, principal_for_session


def shown_then(principal: AuthenticatedPrincipal, event: DeliveredEvent) -> bool:
    """Whether the principal could see the invoice when the event happened: contacts
    and partners never receive the events of a draft, nor its voiding (the same rule as
    :func:`services.access.invoice_scope`, applied to the status the event recorded)."""
    if isinstance(principal, StaffPrincipal):
        return True
    hidden = {status.value for status in HIDDEN_INVOICE_STATUSES}
    return event.subject_status is not None and event.subject_status not in hidden


_INVOICES = EventTopic.INVOICE.value
"""Read once: an enum member looked up on its class costs a descriptor call, and this
runs for every subscriber and event."""


def addressed(
    event: DeliveredEvent, principal: AuthenticatedPrincipal, only_client: uuid.UUID | None
) -> bool:
    """Whether an ``invoiceChanged`` subscriber (of ``only_client``'s invoices, if
    given) is sent ``event`` at all: the one test of ``resolvers.invoice_events`` and the
    WebSocket event stream (:mod:`server.event_stream`)."""
    if event.topic != _INVOICES:
        return False
    if isinstance(principal, ContactPrincipal) and event.client_id != principal.client_id:
        return False
    if not shown_then(principal, event):
        return False
    return only_client is None or event.client_id == only_client


def credential_key(principal: AuthenticatedPrincipal) -> Hashable:
    """What identifies the credential a principal was read from."""
    if isinstance(principal, PartnerPrincipal):
        return ("token", principal.token_id)
    return ("session", principal.session_id)


def scope_key(principal: AuthenticatedPrincipal) -> Hashable:
    """Principals with the same key have the same invoice row scope
    (:func:`services.access.invoice_scope`)."""
    if isinstance(principal, ContactPrincipal):
        return ("contact", principal.account_id, principal.client_id)
    if isinstance(principal, PartnerPrincipal):
        return ("partner", principal.account_id)
    return ("staff", principal.account_id)


async def current_principal(
    session: AsyncSession, principal: AuthenticatedPrincipal
) -> AuthenticatedPrincipal | None:
    """``principal`` as its credential reads now, or ``None`` once it no longer
    authenticates (revoked, expired, archived client, portal off)."""
    try:
        if isinstance(principal, PartnerPrincipal):
            token = await session.get(ApiToken, principal.token_id)
            return await partner_principal(session, token)
        return await principal_for_session(session, principal.session_id)
    except Unauthenticated:
        return None


async def invoice_visible(
    session: AsyncSession, principal: AuthenticatedPrincipal, invoice_id: uuid.UUID
) -> bool:
    found = await session.exec(
        select(Invoice.id).where(col(Invoice.id) == invoice_id, *invoice_scope(principal))
    )
    return found.first() is not None
