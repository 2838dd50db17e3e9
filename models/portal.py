"""Links that open the portal: magic links, invites, dashboard links, document links,
password resets and email verifications.

A link's token is a signature (with the link purpose's own salt) over this row's id, so
the row decides whether the link still works: used (one-use links), revoked, expired or
sent to an address the contact no longer has.
"""

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from models.base import account_fk, created_at_field, datetime_field, enum_field, id_field
from models.enums import LinkPurpose


class PortalLink(SQLModel, table=True):
    __tablename__ = "portal_link"

    id: uuid.UUID = id_field()
    account_id: uuid.UUID = account_fk()
    contact_id: uuid.UUID = Field(foreign_key="contact.id", index=True, ondelete="CASCADE")
    purpose: LinkPurpose = enum_field(LinkPurpose, LinkPurpose.MAGIC_LINK)
    email: str = Field(max_length=254)
    """The address the link was sent to; it stops working if the contact's email changes."""
    subject_type: str | None = Field(default=None, max_length=30)
    """For document links: ``invoice`` or ``quote``."""
    subject_id: uuid.UUID | None = None
    created_by_id: uuid.UUID | None = Field(
        default=None, foreign_key="staff_user.id", ondelete="SET NULL"
    )
    created_at: datetime = created_at_field()
    expires_at: datetime | None = datetime_field()
    used_at: datetime | None = datetime_field()
    last_used_at: datetime | None = datetime_field()
    revoked_at: datetime | None = datetime_field()
