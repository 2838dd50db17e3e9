"""Time tracked against projects, optionally billed on an invoice line."""

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from models.base import (
    account_fk,
    created_at_field,
    id_field,
    list_order_index,
    money_field,
    updated_at_field,
)
from models.types import UTCDateTime


class TimeLog(SQLModel, table=True):
    """``hourly_rate`` (what the client is billed) and ``cost_rate`` (what the time costs
    the business) are internal. ``invoiced`` is set once an invoice line bills it, and
    ``invoice_id`` names that invoice. ``work_date`` is the day the work was done."""

    __tablename__ = "time_log"
    __table_args__ = (list_order_index("time_log"),)

    id: uuid.UUID = id_field()
    account_id: uuid.UUID = account_fk()
    project_id: uuid.UUID = Field(foreign_key="project.id", index=True)
    task_id: uuid.UUID | None = Field(default=None, foreign_key="task.id", index=True)
    staff_user_id: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id")
    description: str | None = Field(default=None, sa_column=Column(Text))
    started_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    work_date: date | None = Field(default=None, index=True)
    minutes: int
    billable: bool = True
    hourly_rate: Decimal | None = money_field(None)
    cost_rate: Decimal | None = money_field(None)
    invoiced: bool = False
    invoice_id: uuid.UUID | None = Field(default=None, foreign_key="invoice.id", index=True)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
