"""Support tickets and their message threads: types, root fields, mutations."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.file_uploads import Upload

from auth.policy import Permission
from models.enums import Module, TicketPriority, TicketStatus
from models.support import SupportTicket as SupportTicketRow
from models.support import TicketMessage as TicketMessageRow
from resolvers import support as resolvers
from resolvers.clients import client_of
from resolvers.common import parse_id, parse_optional_id
from resolvers.context import Info
from schema.fields import field, id_field, mutation
from schema.pagination import Connection
from services.support import TicketChanges, TicketData, TicketFilter
from services.uploads import as_upload

if TYPE_CHECKING:
    from schema.accounts import StaffUser
    from schema.clients import Client, Contact
    from schema.documents import Document

strawberry.enum(TicketStatus, description="Where a support ticket is.")
strawberry.enum(TicketPriority, description="How urgent a support ticket is.")

_TICKETS = Module.SUPPORT_TICKETS
_READ = Permission.TICKETS_READ


def _ids(values: list[strawberry.ID] | None) -> list[uuid.UUID]:
    return [parse_id(value, field="attachmentIds") for value in values or []]


@strawberry.type(description="A message on a support ticket.")
class TicketMessage:
    id: strawberry.ID = id_field()
    body: str = field("The message's text.")
    internal: bool = field(
        "A staff-only note (never shown to the client).",
        permission=Permission.INTERNAL_READ,
        module=_TICKETS,
    )
    created_at: datetime = field("When it was written.")

    @field("Who wrote it (null once the author is gone).")
    async def author_name(
        self, info: Info, root: strawberry.Parent[TicketMessageRow]
    ) -> str | None:
        return await resolvers.author_name(info, root)

    @field("Whether a contact of the client wrote it (else a staff user).")
    def from_client(self, root: strawberry.Parent[TicketMessageRow]) -> bool:
        return root.author_contact_id is not None

    @field(
        "The documents attached that the caller may read.",
        permission=Permission.DOCUMENTS_READ,
        module=Module.DOCUMENTS,
    )
    async def attachments(
        self, info: Info, root: strawberry.Parent[TicketMessageRow]
    ) -> list[Annotated[Document, strawberry.lazy("schema.documents")]]:
        return await resolvers.attachments(info, root)  # type: ignore[return-value]


@strawberry.type(description="A client's request for help, with its message thread.")
class SupportTicket:
    id: strawberry.ID = id_field()
    subject: str = field("What the ticket is about.")
    status: TicketStatus = field("Where the ticket is.")
    priority: TicketPriority = field("How urgent it is.")
    closed_at: datetime | None = field("When it was closed.")
    created_at: datetime = field("When it was opened.")
    updated_at: datetime = field("Last change or message.")

    @field("The client the ticket is from.")
    def client(
        self, info: Info, root: strawberry.Parent[SupportTicketRow]
    ) -> Annotated[Client, strawberry.lazy("schema.clients")]:
        return client_of(info, root.client_id)  # type: ignore[return-value]

    @field("The contact who opened it (null: opened by staff).", permission=Permission.CLIENTS_READ)
    async def opened_by(
        self, info: Info, root: strawberry.Parent[SupportTicketRow]
    ) -> Annotated[Contact, strawberry.lazy("schema.clients")] | None:
        return await resolvers.opened_by(info, root)  # type: ignore[return-value]

    @field("The staff user handling it.", permission=Permission.STAFF_READ)
    async def assignee(
        self, info: Info, root: strawberry.Parent[SupportTicketRow]
    ) -> Annotated[StaffUser, strawberry.lazy("schema.accounts")] | None:
        return await resolvers.assignee(info, root)  # type: ignore[return-value]

    @field("The messages, oldest first (for contacts: no internal notes).")
    async def messages(
        self, info: Info, root: strawberry.Parent[SupportTicketRow]
    ) -> list[TicketMessage]:
        return await resolvers.messages(info, root.id)  # type: ignore[return-value]

    @field("Whether the caller follows the ticket (mailed about replies).")
    async def following(self, info: Info, root: strawberry.Parent[SupportTicketRow]) -> bool:
        return await resolvers.following(info, root.id)


@strawberry.input(description="A new support ticket and its first message.")
class SupportTicketInput:
    subject: str = strawberry.field(description="What it is about.")
    body: str = strawberry.field(description="The first message.")
    client_id: strawberry.ID | None = strawberry.field(
        default=None, description="Staff: the client it is for (contacts: their own)."
    )
    priority: TicketPriority | None = strawberry.field(default=None, description="Default NORMAL.")
    attachment_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Documents of the client to attach."
    )

    def to_data(self) -> TicketData:
        return TicketData(
            subject=self.subject,
            body=self.body,
            client_id=parse_optional_id(self.client_id, field="clientId"),
            priority=self.priority,
            attachment_ids=_ids(self.attachment_ids),
        )


@strawberry.input(description="What staff change on a ticket; omitted fields stay.")
class SupportTicketUpdateInput:
    assignee_id: strawberry.ID | None = strawberry.field(
        default=None, description="The staff user to handle it (they follow it)."
    )
    unassign: bool = strawberry.field(default=False, description="Remove the assignee.")
    priority: TicketPriority | None = strawberry.field(default=None, description="Priority.")
    status: TicketStatus | None = strawberry.field(
        default=None, description="OPEN, PENDING or RESOLVED (close with closeSupportTicket)."
    )

    def to_changes(self) -> TicketChanges:
        return TicketChanges(
            assignee_id=parse_optional_id(self.assignee_id, field="assigneeId"),
            clear_assignee=self.unassign,
            priority=self.priority,
            status=self.status,
        )


@strawberry.type
class SupportQuery:
    @field(
        "Support tickets, newest first (contacts: their client's).",
        permission=_READ,
        module=_TICKETS,
    )
    async def support_tickets(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        client_id: strawberry.ID | None = None,
        status: list[TicketStatus] | None = None,
        assignee_id: strawberry.ID | None = None,
    ) -> Connection[SupportTicket]:
        filters = TicketFilter(
            client_id=parse_optional_id(client_id, field="clientId"),
            statuses=status or [],
            assignee_id=parse_optional_id(assignee_id, field="assigneeId"),
        )
        return await resolvers.list_tickets(  # type: ignore[return-value]
            info, first=first, after=after, filters=filters
        )

    @field("One support ticket by id.", permission=_READ, module=_TICKETS)
    async def support_ticket(self, info: Info, id: strawberry.ID) -> SupportTicket:
        return await resolvers.ticket(info, id)  # type: ignore[return-value]


_COLLABORATE = Permission.COLLABORATE
_MANAGE = Permission.TICKETS_MANAGE


@strawberry.type
class SupportMutation:
    @mutation(
        "Open a support ticket (contacts: for their client; staff: name the client). The "
        "opener follows it.",
        permission=_COLLABORATE,
        module=_TICKETS,
    )
    async def open_support_ticket(self, info: Info, input: SupportTicketInput) -> SupportTicket:
        return await resolvers.open_ticket(info, input.to_data())  # type: ignore[return-value]

    @mutation(
        "Reply on a ticket (staff may write an internal note); its other followers are "
        "mailed, and a closed or resolved ticket opens again. `file` (a GraphQL multipart "
        "upload) attaches a new file, stored as a document of the ticket's client as "
        "`uploadDocument` would (the same rules and errors): the reply and the document "
        "are one change, a reply that fails keeps no file.",
        permission=_COLLABORATE,
        module=_TICKETS,
    )
    async def reply_to_support_ticket(
        self,
        info: Info,
        ticket_id: strawberry.ID,
        body: str,
        internal: bool = False,
        attachment_ids: list[strawberry.ID] | None = None,
        file: Upload | None = None,
    ) -> TicketMessage:
        upload = as_upload(file, field="file") if file is not None else None
        return await resolvers.reply(  # type: ignore[return-value]
            info, ticket_id, body, internal, _ids(attachment_ids), upload
        )

    @mutation("Assign a ticket, set its priority or status.", permission=_MANAGE, module=_TICKETS)
    async def update_support_ticket(
        self, info: Info, id: strawberry.ID, input: SupportTicketUpdateInput
    ) -> SupportTicket:
        return await resolvers.update_ticket(info, id, input.to_changes())  # type: ignore[return-value]

    @mutation("Close a ticket.", permission=_MANAGE, module=_TICKETS)
    async def close_support_ticket(self, info: Info, id: strawberry.ID) -> SupportTicket:
        return await resolvers.close_ticket(info, id)  # type: ignore[return-value]

    @mutation(
        "Follow a ticket (mailed about replies) or stop following it.",
        permission=_COLLABORATE,
        module=_TICKETS,
    )
    async def follow_support_ticket(
        self, info: Info, id: strawberry.ID, following: bool = True
    ) -> SupportTicket:
        return await resolvers.follow_ticket(info, id, following)  # type: ignore[return-value]
