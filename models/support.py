"""Support tickets raised from the portal and the messages on them."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel

from models.base import (
    account_fk,
    created_at_field,
    datetime_field,
    enum_field,
    id_field,
    list_order_index,
    updated_at_field,
)
from models.enums import TicketPriority, TicketStatus


class SupportTicket(SQLModel, table=True):
    __tablename__ = "support_ticket"
    __table_args__ = (list_order_index("support_ticket"),)

    id: uuid.UUID = id_field()
    account_id: uuid.UUID = account_fk()
    client_id: uuid.UUID = Field(foreign_key="client.id", index=True)
    contact_id: uuid.UUID | None = Field(
        default=None, foreign_key="contact.id", ondelete="SET NULL"
    )
    subject: str = Field(max_length=300)
    status: TicketStatus = enum_field(TicketStatus, TicketStatus.OPEN)
    priority: TicketPriority = enum_field(TicketPriority, TicketPriority.NORMAL)
    assignee_id: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id")
    closed_at: datetime | None = datetime_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class TicketMessage(SQLModel, table=True):
    """A message on a ticket. ``internal`` messages are staff-only notes, never shown to
    contacts."""

    __tablename__ = "ticket_message"

    id: uuid.UUID = id_field()
    account_id: uuid.UUID = account_fk()
    ticket_id: uuid.UUID = Field(foreign_key="support_ticket.id", index=True, ondelete="CASCADE")
    body: str = Field(sa_column=Column(Text, nullable=False))
    internal: bool = False
    attachment_ids: list[Any] = Field(default_factory=list, sa_column=Column(JSON))
    """Ids (as strings) of the documents attached to the message."""
    author_staff_id: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id")
    author_contact_id: uuid.UUID | None = Field(
        default=None, foreign_key="contact.id", ondelete="SET NULL"
    )
    created_at: datetime = created_at_field()
