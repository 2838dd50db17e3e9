"""Support tickets: GraphQL arguments -> service call -> rows."""

from __future__ import annotations

import uuid

from auth.principals import ContactPrincipal, StaffPrincipal
from models.accounts import StaffUser
from models.clients import Contact
from models.documents import Document
from models.support import SupportTicket, TicketMessage
from resolvers.common import acting_contact, atomic, caller, parse_id, staff
from resolvers.context import Info
from services import access, support
from services.pagination import Page
from services.uploads import UploadedFile


def _collaborator(info: Info) -> StaffPrincipal | ContactPrincipal:
    principal = caller(info)
    if isinstance(principal, StaffPrincipal):
        return principal
    return acting_contact(info)


async def list_tickets(
    info: Info, *, first: int | None, after: str | None, filters: support.TicketFilter
) -> Page[SupportTicket]:
    return await support.list_tickets(
        session=info.context.session,
        principal=caller(info),
        filters=filters,
        first=first,
        after=after,
    )


async def ticket(info: Info, id: str) -> SupportTicket:
    return await access.access_support_ticket(info.context.session, caller(info), parse_id(id))


async def messages(info: Info, ticket_id: uuid.UUID) -> list[TicketMessage]:
    return await info.context.loaders.messages_by_ticket_id.load(ticket_id)


async def attachments(info: Info, message: TicketMessage) -> list[Document]:
    """The documents attached that the caller may read, in the order attached."""
    ids = [uuid.UUID(str(value)) for value in message.attachment_ids or []]
    found = await info.context.loaders.document_by_id.load_many(ids)
    return [document for document in found if document is not None]


async def assignee(info: Info, ticket: SupportTicket) -> StaffUser | None:
    if ticket.assignee_id is None:
        return None
    return await info.context.loaders.staff_user_by_id.load(ticket.assignee_id)


async def opened_by(info: Info, ticket: SupportTicket) -> Contact | None:
    if ticket.contact_id is None:
        return None
    return await info.context.loaders.contact_by_id.load(ticket.contact_id)


async def author_name(info: Info, message: TicketMessage) -> str | None:
    loaders = info.context.loaders
    if message.author_staff_id is not None:
        return await loaders.staff_name_by_id.load(message.author_staff_id)
    if message.author_contact_id is not None:
        contact = await loaders.contact_by_id.load(message.author_contact_id)
        return contact.display_name if contact is not None else None
    return None


async def following(info: Info, ticket_id: uuid.UUID) -> bool:
    return await info.context.loaders.followed_by_subject_id.load(ticket_id)


async def open_ticket(info: Info, data: support.TicketData) -> SupportTicket:
    actor = _collaborator(info)
    async with atomic(info) as work:
        return await support.open_ticket(work, actor=actor, data=data)


async def reply(
    info: Info,
    ticket_id: str,
    body: str,
    internal: bool,
    attachment_ids: list[uuid.UUID],
    upload: UploadedFile | None = None,
) -> TicketMessage:
    actor = _collaborator(info)
    if upload is not None:
        return await support.reply_with_file(
            runtime=info.context.runtime,
            session=info.context.session,
            actor=actor,
            ticket_id=parse_id(ticket_id, field="ticketId"),
            body=body,
            upload=upload,
            internal=internal,
            attachment_ids=attachment_ids,
        )
    async with atomic(info) as work:
        return await support.reply(
            work,
            actor=actor,
            ticket_id=parse_id(ticket_id, field="ticketId"),
            body=body,
            internal=internal,
            attachment_ids=attachment_ids,
        )


async def update_ticket(info: Info, id: str, changes: support.TicketChanges) -> SupportTicket:
    actor = staff(info)
    async with atomic(info) as work:
        return await support.update_ticket(
            work, actor=actor, ticket_id=parse_id(id), changes=changes
        )


async def close_ticket(info: Info, id: str) -> SupportTicket:
    actor = staff(info)
    async with atomic(info) as work:
        return await support.close_ticket(work, actor=actor, ticket_id=parse_id(id))


async def follow_ticket(info: Info, id: str, following: bool) -> SupportTicket:
    actor = _collaborator(info)
    async with atomic(info) as work:
        return await support.set_following(
            work, actor=actor, ticket_id=parse_id(id), following=following
        )
