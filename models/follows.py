"""Who follows a task or a support ticket: followers are mailed about new comments and
replies, and stop with the unsubscribe link of any such mail."""

import uuid
from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import account_fk, created_at_field, id_field


class Follow(SQLModel, table=True):
    """One follower (exactly one of a staff user or a contact) of one subject
    (``subject_type`` ``task`` or ``support_ticket``). ``follower_key`` is
    ``staff:<id>`` or ``contact:<id>``, unique per subject."""

    __tablename__ = "follow"
    __table_args__ = (
        UniqueConstraint("subject_id", "follower_key", name="uq_follow_subject_follower"),
    )

    id: uuid.UUID = id_field()
    account_id: uuid.UUID = account_fk()
    subject_type: str = Field(max_length=40)
    subject_id: uuid.UUID = Field(index=True)
    follower_key: str = Field(max_length=60)
    staff_user_id: uuid.UUID | None = Field(
        default=None, foreign_key="staff_user.id", ondelete="CASCADE"
    )
    contact_id: uuid.UUID | None = Field(default=None, foreign_key="contact.id", ondelete="CASCADE")
    created_at: datetime = created_at_field()
