"""The mail outbox: every mail Portico sends is first written here, in the transaction of
the action that caused it, and delivered after that transaction commits."""

import uuid
from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from models.base import created_at_field, datetime_field, enum_field, id_field
from models.enums import MailStatus


class MailMessage(SQLModel, table=True):
    __tablename__ = "mail_message"

    id: uuid.UUID = id_field()
    account_id: uuid.UUID | None = Field(
        default=None, foreign_key="account.id", index=True, ondelete="CASCADE"
    )
    template: str = Field(max_length=50)
    to_address: str = Field(max_length=254)
    from_address: str = Field(max_length=320)
    subject: str = Field(max_length=300)
    text_body: str = Field(sa_column=Column(Text, nullable=False))
    html_body: str = Field(sa_column=Column(Text, nullable=False))
    # Sent as List-Unsubscribe (RFC 2369) with List-Unsubscribe-Post (RFC 8058): the link
    # that stops this kind of mail for this recipient, where there is one.
    unsubscribe_url: str | None = Field(default=None, sa_column=Column(Text))
    status: MailStatus = enum_field(MailStatus, MailStatus.QUEUED, index=True)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = created_at_field()
    sent_at: datetime | None = datetime_field()
