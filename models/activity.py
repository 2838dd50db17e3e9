"""The activity feed: a record of what happened, shown to staff and (when visible) to
the client's contacts."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from models.base import account_fk, created_at_field, enum_field, id_field
from models.enums import ActorKind


class Activity(SQLModel, table=True):
    """``verb`` names what happened (e.g. ``invoice.sent``) to the subject
    (``subject_type``, ``subject_id``); ``actor_kind``/``actor_id`` say who did it."""

    __tablename__ = "activity"

    id: uuid.UUID = id_field()
    account_id: uuid.UUID = account_fk()
    client_id: uuid.UUID | None = Field(default=None, foreign_key="client.id", index=True)
    subject_type: str = Field(max_length=40)
    subject_id: uuid.UUID | None = Field(default=None, index=True)
    verb: str = Field(max_length=40)
    actor_kind: ActorKind = enum_field(ActorKind)
    actor_id: uuid.UUID | None = None
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    visible_to_client: bool = True
    created_at: datetime = created_at_field()
