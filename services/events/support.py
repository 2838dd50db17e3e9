"""The events of support tickets, one recorder each (:mod:`services.events`).

=============================  ============================  ===============================
verb                           when                          details
=============================  ============================  ===============================
``support_ticket.opened``      a contact (or staff for the   ``subject``, ``priority``
                               client) opens a ticket
``support_ticket.replied``     a message is added            ``message_id``, ``internal``
``support_ticket.updated``     staff assign it, set its      ``changed`` (field names),
                               priority or status            ``status``
``support_ticket.closed``      staff close it                ``status``
``support_ticket.followed``    someone follows it            ``follower``
``support_ticket.unfollowed``  someone stops (also through   ``follower``, ``via``
                               a mail's unsubscribe link)
=============================  ============================  ===============================

Shown to the client: opening, replies that are not internal notes, status changes and
closing; internal notes and following are staff-only.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import Principal, StaffPrincipal
from models.activity import Verb
from models.support import SupportTicket, TicketMessage
from services import activity


def _record(
    session: AsyncSession,
    verb: Verb,
    ticket: SupportTicket,
    actor: Principal | None,
    details: dict[str, Any],
    *,
    shown: bool = True,
) -> None:
    activity.record(
        session,
        account_id=ticket.account_id,
        actor=actor,
        verb=verb,
        subject_id=ticket.id,
        client_id=ticket.client_id,
        details=details,
        visible_to_client=shown,
    )


def opened(session: AsyncSession, ticket: SupportTicket, actor: Principal) -> None:
    _record(
        session,
        Verb.SUPPORT_TICKET_OPENED,
        ticket,
        actor,
        {"subject": ticket.subject, "priority": ticket.priority.value},
    )


def replied(
    session: AsyncSession, ticket: SupportTicket, message: TicketMessage, actor: Principal
) -> None:
    _record(
        session,
        Verb.SUPPORT_TICKET_REPLIED,
        ticket,
        actor,
        {"message_id": str(message.id), "internal": message.internal},
        shown=not message.internal,
    )


def updated(
    session: AsyncSession,
    ticket: SupportTicket,
    actor: StaffPrincipal,
    *,
    changed: Iterable[str],
) -> None:
    _record(
        session,
        Verb.SUPPORT_TICKET_UPDATED,
        ticket,
        actor,
        {"changed": sorted(changed), "status": ticket.status.value},
    )


def closed(session: AsyncSession, ticket: SupportTicket, actor: StaffPrincipal) -> None:
    _record(session, Verb.SUPPORT_TICKET_CLOSED, ticket, actor, {"status": ticket.status.value})


def following_changed(
    session: AsyncSession,
    ticket: SupportTicket,
    actor: Principal | None,
    *,
    following: bool,
    follower: str,
    via: str = "api",
) -> None:
    """``support_ticket.followed`` or ``.unfollowed`` (``via``: ``api`` or
    ``unsubscribe_link``)."""
    verb = Verb.SUPPORT_TICKET_FOLLOWED if following else Verb.SUPPORT_TICKET_UNFOLLOWED
    _record(session, verb, ticket, actor, {"follower": follower, "via": via}, shown=False)
