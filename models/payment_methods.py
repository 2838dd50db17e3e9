"""Payment methods saved for a client (cards, bank accounts). Only display details and
the provider's reference are kept, never card numbers."""

import uuid
from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import account_fk, created_at_field, id_field, list_order_index, updated_at_field


class SavedPaymentMethod(SQLModel, table=True):
    __tablename__ = "payment_method"
    __table_args__ = (
        list_order_index("payment_method"),
        # one row per Stripe PaymentMethod: saving it again (a retried webhook, the
        # SetupIntent's and a payment's events both) updates that row
        UniqueConstraint("account_id", "stripe_payment_method_id", name="uq_payment_method_stripe"),
    )

    id: uuid.UUID = id_field()
    account_id: uuid.UUID = account_fk()
    client_id: uuid.UUID = Field(foreign_key="client.id", index=True)
    kind: str = Field(default="card", max_length=30)
    brand: str | None = Field(default=None, max_length=30)
    last4: str | None = Field(default=None, max_length=4)
    exp_month: int | None = None
    exp_year: int | None = None
    bank_name: str | None = Field(default=None, max_length=100)
    is_default: bool = False
    stripe_payment_method_id: str | None = Field(default=None, max_length=255, index=True)
    created_by_contact_id: uuid.UUID | None = Field(
        default=None, foreign_key="contact.id", ondelete="SET NULL"
    )
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
