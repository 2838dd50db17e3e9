"""Registered documents: the GraphQL documents an account admin allows the account's
partner API tokens to run when the account requires registered documents
(``Account.partner_documents``)."""

import uuid
from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import account_fk, created_at_field, id_field


class PersistedQuery(SQLModel, table=True):
    """One registered document, known by the sha256 of its exact text (the hash Apollo's
    persisted queries send), unique per account."""

    __tablename__ = "persisted_query"
    __table_args__ = (
        UniqueConstraint("account_id", "sha256", name="uq_persisted_query_account_sha256"),
    )

    id: uuid.UUID = id_field()
    account_id: uuid.UUID = account_fk()
    sha256: str = Field(max_length=64)
    document: str = Field(sa_column=Column(Text, nullable=False))
    name: str | None = Field(default=None, max_length=200)
    created_by_id: uuid.UUID | None = Field(
        default=None, foreign_key="staff_user.id", ondelete="SET NULL"
    )
    created_at: datetime = created_at_field()
