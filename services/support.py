"""Support tickets: contacts open them, both sides write on them, staff run them.

A contact who may collaborate (BILLING, COLLABORATOR) opens a ticket for its own client
and replies on its client's tickets; staff open one for a client (a phone call), reply
(``internal`` notes are staff-only), assign it, set its priority and status, and close
it. Attachments are documents the author may read, of the ticket's client. The opener,
the assignee and everyone who writes on a ticket follow it, and each reply is mailed to
the other followers who may read it (an internal note to staff only;
:mod:`services.follows`). Contacts read only their client's tickets
(:func:`services.access.support_ticket_scope`); a closed ticket reopens when someone
replies.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import ContactPrincipal, Principal, StaffPrincipal
from models.accounts import StaffUser
from models.clients import Contact
from models.documents import Document
from models.enums import TicketPriority, TicketStatus
from models.support import SupportTicket, TicketMessage
from models.types import utcnow
from services import follows
from services.access import (
    access_client,
    access_document,
    access_support_ticket,
    support_ticket_scope,
)
from services.document_uploads import UploadDocumentData, upload_then
from services.errors import BadInput, Conflict, Forbidden
from services.events import support as support_events
from services.follows import Follower
from services.pagination import Page, paginate
from services.runtime import Runtime
from services.unit_of_work import UnitOfWork, end_read
from services.uploads import UploadedFile
from services.validation import required_text

Actor = StaffPrincipal | ContactPrincipal

MESSAGE_MAX_LENGTH = 20000
MAX_ATTACHMENTS = 10


@dataclass(slots=True)
class TicketFilter:
    client_id: uuid.UUID | None = None
    statuses: list[TicketStatus] = field(default_factory=list)
    assignee_id: uuid.UUID | None = None


@dataclass(slots=True)
class TicketData:
    subject: str
    body: str
    client_id: uuid.UUID | None = None
    priority: TicketPriority | None = None
    attachment_ids: list[uuid.UUID] = field(default_factory=list)


@dataclass(slots=True)
class TicketChanges:
    """What staff change on a ticket; ``None`` leaves a field as it is."""

    assignee_id: uuid.UUID | None = None
    clear_assignee: bool = False
    priority: TicketPriority | None = None
    status: TicketStatus | None = None


async def list_tickets(
    *,
    session: AsyncSession,
    principal: Principal,
    filters: TicketFilter,
    first: int | None,
    after: str | None,
) -> Page[SupportTicket]:
    statement = select(SupportTicket).where(*support_ticket_scope(principal))
    if filters.client_id is not None:
        statement = statement.where(SupportTicket.client_id == filters.client_id)
    if filters.statuses:
        statement = statement.where(col(SupportTicket.status).in_(filters.statuses))
    if filters.assignee_id is not None:
        statement = statement.where(SupportTicket.assignee_id == filters.assignee_id)
    return await paginate(session, statement, SupportTicket, first=first, after=after)


def _acting(actor: Actor) -> Follower:
    return Follower.of(actor)


async def _attachments(
    session: AsyncSession, actor: Actor, client_id: uuid.UUID, ids: list[uuid.UUID]
) -> list[str]:
    """The documents attached, each one the author may read and of the ticket's client."""
    if len(ids) > MAX_ATTACHMENTS:
        raise BadInput(f"At most {MAX_ATTACHMENTS} attachments.", field="attachmentIds")
    found: list[str] = []
    for document_id in dict.fromkeys(ids):
        document = await access_document(session, actor, document_id)
        if document.client_id != client_id:
            raise BadInput("This document belongs to another client.", field="attachmentIds")
        found.append(str(document.id))
    return found


async def _name(session: AsyncSession, actor: Actor) -> str:
    if isinstance(actor, StaffPrincipal):
        user = await session.get(StaffUser, actor.user_id)
        return user.name if user is not None else "Staff"
    contact = await session.get(Contact, actor.contact_id)
    return contact.display_name if contact is not None else "Client"


async def open_ticket(work: UnitOfWork, *, actor: Actor, data: TicketData) -> SupportTicket:
    """A new OPEN ticket with its first message; a contact's is its own client's."""
    session = work.session
    author = _acting(actor)
    if isinstance(actor, ContactPrincipal):
        if data.client_id is not None and data.client_id != actor.client_id:
            raise Forbidden("Contacts open tickets for their own client.")
        client_id = actor.client_id
    else:
        if data.client_id is None:
            raise BadInput("Name the client the ticket is for.", field="clientId")
        client_id = data.client_id
    client = await access_client(session, actor, client_id)
    if client.archived_at is not None:
        raise Conflict("Archived clients cannot open tickets.", field="clientId")
    ticket = SupportTicket(
        account_id=client.account_id,
        client_id=client.id,
        contact_id=actor.contact_id if isinstance(actor, ContactPrincipal) else None,
        subject=required_text(data.subject, field="subject", max_length=300),
        priority=data.priority or TicketPriority.NORMAL,
    )
    session.add(ticket)
    await session.flush()
    message = TicketMessage(
        account_id=ticket.account_id,
        ticket_id=ticket.id,
        body=required_text(data.body, field="body", max_length=MESSAGE_MAX_LENGTH),
        author_staff_id=actor.user_id if isinstance(actor, StaffPrincipal) else None,
        author_contact_id=actor.contact_id if isinstance(actor, ContactPrincipal) else None,
        attachment_ids=await _attachments(session, actor, client.id, data.attachment_ids),
    )
    session.add(message)
    await session.flush()
    support_events.opened(session, ticket, actor)
    await follows.follow(session, ticket, author)
    return ticket


async def reply_with_file(
    *,
    runtime: Runtime,
    session: AsyncSession,
    actor: Actor,
    ticket_id: uuid.UUID,
    body: str,
    upload: UploadedFile,
    internal: bool = False,
    attachment_ids: list[uuid.UUID] | None = None,
) -> TicketMessage:
    """:func:`reply` with a new file attached: the ticket and the text are checked before
    the file is stored, and the document and the reply are recorded in one transaction
    (:func:`services.document_uploads.upload_then`), so a reply that fails keeps neither
    the document nor its stored file. The file becomes a document of the ticket's client,
    as :func:`services.document_uploads.upload_document` places and checks it."""
    ticket = await access_support_ticket(session, actor, ticket_id)
    required_text(body, field="body", max_length=MESSAGE_MAX_LENGTH)
    if len(attachment_ids or []) >= MAX_ATTACHMENTS:
        raise BadInput(f"At most {MAX_ATTACHMENTS} attachments.", field="attachmentIds")
    staff = isinstance(actor, StaffPrincipal)
    data = UploadDocumentData(
        client_id=ticket.client_id if staff else None,
        visible_in_portal=not internal if staff else None,
    )
    await end_read(session)

    async def attach(work: UnitOfWork, document: Document) -> TicketMessage:
        return await reply(
            work,
            actor=actor,
            ticket_id=ticket_id,
            body=body,
            internal=internal,
            attachment_ids=[*(attachment_ids or []), document.id],
        )

    return await upload_then(
        runtime=runtime, session=session, actor=actor, data=data, upload=upload, then=attach
    )


async def reply(
    work: UnitOfWork,
    *,
    actor: Actor,
    ticket_id: uuid.UUID,
    body: str,
    internal: bool = False,
    attachment_ids: list[uuid.UUID] | None = None,
) -> TicketMessage:
    """Add a message; a closed or resolved ticket opens again. Mailed to the ticket's
    other followers (an internal note to staff only)."""
    session = work.session
    author = _acting(actor)
    if internal and not isinstance(actor, StaffPrincipal):
        raise Forbidden("Only staff write internal notes.")
    ticket = await access_support_ticket(session, actor, ticket_id, lock=True)
    message = TicketMessage(
        account_id=ticket.account_id,
        ticket_id=ticket.id,
        body=required_text(body, field="body", max_length=MESSAGE_MAX_LENGTH),
        internal=internal,
        author_staff_id=actor.user_id if isinstance(actor, StaffPrincipal) else None,
        author_contact_id=actor.contact_id if isinstance(actor, ContactPrincipal) else None,
        attachment_ids=await _attachments(session, actor, ticket.client_id, attachment_ids or []),
    )
    session.add(message)
    await session.flush()
    now = utcnow()
    if not internal and ticket.status in (TicketStatus.CLOSED, TicketStatus.RESOLVED):
        ticket.status = TicketStatus.OPEN
        ticket.closed_at = None
    ticket.updated_at = now
    support_events.replied(session, ticket, message, actor)
    await follows.follow(session, ticket, author)
    await follows.notify_followers(
        work,
        ticket,
        author=author,
        mail=follows.Mail(
            template="ticket_reply",
            context={
                "author": await _name(session, actor),
                "subject_line": ticket.subject,
                "body": message.body,
                "internal": internal,
            },
            portal_path=f"tickets/{ticket.id}",
            staff_only=internal,
        ),
    )
    return message


async def update_ticket(
    work: UnitOfWork, *, actor: StaffPrincipal, ticket_id: uuid.UUID, changes: TicketChanges
) -> SupportTicket:
    """Assign a ticket (the assignee follows it), set its priority or status."""
    session = work.session
    ticket = await access_support_ticket(session, actor, ticket_id, lock=True)
    changed: list[str] = []
    if changes.clear_assignee and ticket.assignee_id is not None:
        ticket.assignee_id = None
        changed.append("assignee_id")
    elif changes.assignee_id is not None and changes.assignee_id != ticket.assignee_id:
        user = (
            await session.exec(
                select(StaffUser).where(
                    StaffUser.id == changes.assignee_id, StaffUser.account_id == actor.account_id
                )
            )
        ).first()
        if user is None or not user.is_active:
            raise BadInput("No active staff user has this id.", field="assigneeId")
        ticket.assignee_id = user.id
        changed.append("assignee_id")
        await follows.follow(session, ticket, Follower(staff_user_id=user.id))
    if changes.priority is not None and changes.priority is not ticket.priority:
        ticket.priority = changes.priority
        changed.append("priority")
    if changes.status is not None and changes.status is not ticket.status:
        if changes.status is TicketStatus.CLOSED:
            raise BadInput("Close a ticket with closeSupportTicket.", field="status")
        ticket.status = changes.status
        ticket.closed_at = None
        changed.append("status")
    if changed:
        ticket.updated_at = utcnow()
        support_events.updated(session, ticket, actor, changed=changed)
    return ticket


async def close_ticket(
    work: UnitOfWork, *, actor: StaffPrincipal, ticket_id: uuid.UUID
) -> SupportTicket:
    """Close a ticket; closing again changes nothing."""
    session = work.session
    ticket = await access_support_ticket(session, actor, ticket_id, lock=True)
    if ticket.status is TicketStatus.CLOSED:
        return ticket
    now = utcnow()
    ticket.status = TicketStatus.CLOSED
    ticket.closed_at = now
    ticket.updated_at = now
    support_events.closed(session, ticket, actor)
    return ticket


async def set_following(
    work: UnitOfWork, *, actor: Actor, ticket_id: uuid.UUID, following: bool
) -> SupportTicket:
    session = work.session
    ticket = await access_support_ticket(session, actor, ticket_id)
    follower = _acting(actor)
    changed = (
        await follows.follow(session, ticket, follower)
        if following
        else await follows.unfollow(session, ticket, follower)
    )
    if changed:
        support_events.following_changed(
            session, ticket, actor, following=following, follower=follower.kind
        )
    return ticket
