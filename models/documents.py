"""Uploaded files. The bytes live in storage under ``storage_key``; rows hold metadata."""

import uuid
from datetime import datetime

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from models.base import account_fk, created_at_field, id_field, list_order_index, updated_at_field


class Document(SQLModel, table=True):
    """A file attached to a client, project, invoice or quote (or to none: an
    account-wide file). Contacts see it when ``visible_in_portal`` or when it is one of
    their client's own uploads (``uploaded_by_client``).

    One file (by SHA-256) is stored once per owner: per client and side (the staff's
    files, the client's uploads), and once among the account-wide files."""

    __tablename__ = "document"
    __table_args__ = (
        list_order_index("document"),
        Index(
            "uq_document_client_sha256",
            "account_id",
            "client_id",
            "uploaded_by_client",
            "sha256",
            unique=True,
            sqlite_where=text("client_id IS NOT NULL"),
            postgresql_where=text("client_id IS NOT NULL"),
        ),
        Index(
            "uq_document_account_sha256",
            "account_id",
            "sha256",
            unique=True,
            sqlite_where=text("client_id IS NULL"),
            postgresql_where=text("client_id IS NULL"),
        ),
    )

    id: uuid.UUID = id_field()
    account_id: uuid.UUID = account_fk()
    client_id: uuid.UUID | None = Field(default=None, foreign_key="client.id", index=True)
    project_id: uuid.UUID | None = Field(default=None, foreign_key="project.id", index=True)
    invoice_id: uuid.UUID | None = Field(default=None, foreign_key="invoice.id", index=True)
    quote_id: uuid.UUID | None = Field(default=None, foreign_key="quote.id", index=True)
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=100)
    size_bytes: int
    sha256: str = Field(max_length=64)
    storage_key: str = Field(max_length=300, unique=True)
    visible_in_portal: bool = False
    uploaded_by_client: bool = False
    """A contact of the client uploaded it (kept when that contact is deleted)."""
    uploaded_by_staff_id: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id")
    uploaded_by_contact_id: uuid.UUID | None = Field(
        default=None, foreign_key="contact.id", ondelete="SET NULL"
    )
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
