"""Clients of the business and the contacts who use their portal."""

import uuid
from datetime import datetime

from sqlalchemy import JSON, Column, Text, UniqueConstraint
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
from models.enums import ContactRole


class Client(SQLModel, table=True):
    """A customer of the business. ``modules`` narrows the account's modules for this
    client's portal (``None`` = the account's as they are)."""

    __tablename__ = "client"
    __table_args__ = (list_order_index("client"),)

    id: uuid.UUID = id_field()
    account_id: uuid.UUID = account_fk()
    name: str = Field(max_length=200, index=True)
    company: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=50)
    address: str | None = Field(default=None, sa_column=Column(Text))
    avatar_url: str | None = Field(default=None, max_length=500)
    currency: str = Field(default="USD", max_length=3)
    portal_enabled: bool = True
    modules: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    private_notes: str | None = Field(default=None, sa_column=Column(Text))
    stripe_customer_id: str | None = Field(default=None, max_length=255)
    archived_at: datetime | None = datetime_field(index=True)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class Contact(SQLModel, table=True):
    """A person at a client who may use the portal, with one contact role."""

    __tablename__ = "contact"
    __table_args__ = (UniqueConstraint("account_id", "email", name="uq_contact_account_email"),)

    id: uuid.UUID = id_field()
    account_id: uuid.UUID = account_fk()
    client_id: uuid.UUID = Field(foreign_key="client.id", index=True, ondelete="CASCADE")
    email: str = Field(max_length=254)
    first_name: str = Field(default="", max_length=100)
    last_name: str = Field(default="", max_length=100)
    phone: str | None = Field(default=None, max_length=50)
    role: ContactRole = enum_field(ContactRole, ContactRole.VIEWER)
    is_primary: bool = False
    password_hash: str | None = Field(default=None, max_length=255)
    email_verified_at: datetime | None = datetime_field()
    last_seen_at: datetime | None = datetime_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()

    @property
    def display_name(self) -> str:
        """The name people see: first and last name, or the email when both are blank."""
        return f"{self.first_name} {self.last_name}".strip() or self.email
