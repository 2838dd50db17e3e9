"""Sign-in sessions and partner API tokens. Only hashes of secrets are stored."""

import uuid
from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from models.base import account_fk, created_at_field, datetime_field, enum_field, id_field
from models.enums import SessionKind


class AuthSession(SQLModel, table=True):
    """A revocable sign-in. A bearer token is a signature over this row's id; deleting or
    revoking the row ends the token at once."""

    __tablename__ = "auth_session"

    id: uuid.UUID = id_field()
    account_id: uuid.UUID = account_fk()
    kind: SessionKind = enum_field(SessionKind)
    staff_user_id: uuid.UUID | None = Field(
        default=None, foreign_key="staff_user.id", index=True, ondelete="CASCADE"
    )
    contact_id: uuid.UUID | None = Field(
        default=None, foreign_key="contact.id", index=True, ondelete="CASCADE"
    )
    read_only: bool = False
    link_id: uuid.UUID | None = Field(
        default=None, foreign_key="portal_link.id", index=True, ondelete="SET NULL"
    )
    """The portal link the session was opened with (rotating a dashboard link ends it)."""
    created_by_session_id: uuid.UUID | None = Field(
        default=None, foreign_key="auth_session.id", index=True, ondelete="CASCADE"
    )
    """A view-as session: the staff session that opened it; it ends with that session."""
    user_agent: str | None = Field(default=None, max_length=300)
    ip_address: str | None = Field(default=None, max_length=64)
    created_at: datetime = created_at_field()
    expires_at: datetime = datetime_field()
    last_seen_at: datetime | None = datetime_field()
    revoked_at: datetime | None = datetime_field()


class ApiToken(SQLModel, table=True):
    """A partner tool's credential: scopes, optional expiry; only its SHA-256 is kept."""

    __tablename__ = "api_token"

    id: uuid.UUID = id_field()
    account_id: uuid.UUID = account_fk()
    name: str = Field(max_length=100)
    token_prefix: str = Field(max_length=16)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id")
    created_at: datetime = created_at_field()
    expires_at: datetime | None = datetime_field()
    last_used_at: datetime | None = datetime_field()
    revoked_at: datetime | None = datetime_field()
