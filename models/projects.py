"""Projects, their tasks and the comments on tasks."""

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from models.base import (
    account_fk,
    created_at_field,
    enum_field,
    id_field,
    list_order_index,
    money_field,
    updated_at_field,
)
from models.enums import ProjectStatus, TaskStatus, TaskVisibility


class Project(SQLModel, table=True):
    """``hourly_rate`` is internal: staff only, never shown in the portal."""

    __tablename__ = "project"
    __table_args__ = (list_order_index("project"),)

    id: uuid.UUID = id_field()
    account_id: uuid.UUID = account_fk()
    client_id: uuid.UUID = Field(foreign_key="client.id", index=True)
    name: str = Field(max_length=200)
    description: str | None = Field(default=None, sa_column=Column(Text))
    status: ProjectStatus = enum_field(ProjectStatus, ProjectStatus.ACTIVE)
    budget: Decimal | None = money_field(None)
    hourly_rate: Decimal | None = money_field(None)
    start_date: date | None = None
    due_date: date | None = None
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class Task(SQLModel, table=True):
    """A task in a project. ``client_id`` repeats the project's so portal reads can scope
    by client without a join; contacts see only tasks whose ``visibility`` is not
    INTERNAL, and change the status of CLIENT_EDITABLE ones."""

    __tablename__ = "task"
    __table_args__ = (list_order_index("task"),)

    id: uuid.UUID = id_field()
    account_id: uuid.UUID = account_fk()
    project_id: uuid.UUID = Field(foreign_key="project.id", index=True, ondelete="CASCADE")
    client_id: uuid.UUID = Field(foreign_key="client.id", index=True)
    title: str = Field(max_length=300)
    description: str | None = Field(default=None, sa_column=Column(Text))
    status: TaskStatus = enum_field(TaskStatus, TaskStatus.TODO)
    visibility: TaskVisibility = enum_field(TaskVisibility, TaskVisibility.INTERNAL)
    due_date: date | None = None
    assignee_id: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id")
    position: int = 0
    created_by_staff_id: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id")
    created_by_contact_id: uuid.UUID | None = Field(
        default=None, foreign_key="contact.id", ondelete="SET NULL"
    )
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()

    @property
    def shared_with_client(self) -> bool:
        """Whether the client's contacts see it (CLIENT_VISIBLE or CLIENT_EDITABLE)."""
        return self.visibility is not TaskVisibility.INTERNAL


class TaskComment(SQLModel, table=True):
    """A comment by a staff user or by a contact (exactly one author is set)."""

    __tablename__ = "task_comment"

    id: uuid.UUID = id_field()
    account_id: uuid.UUID = account_fk()
    task_id: uuid.UUID = Field(foreign_key="task.id", index=True, ondelete="CASCADE")
    body: str = Field(sa_column=Column(Text, nullable=False))
    author_staff_id: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id")
    author_contact_id: uuid.UUID | None = Field(
        default=None, foreign_key="contact.id", ondelete="SET NULL"
    )
    created_at: datetime = created_at_field()
