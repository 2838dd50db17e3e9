"""Saved payment methods once per Stripe method; invoices charged automatically

Revision ID: 0009_payment_methods
Revises: 0008
Create Date: 2026-12-02 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0009_payment_methods"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AUTO_BILL_STATUSES = ("SCHEDULED", "CHARGING", "SUCCEEDED", "FAILED", "ACTION_REQUIRED", "CANCELED")


def upgrade() -> None:
    with op.batch_alter_table("payment_method", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            "uq_payment_method_stripe", ["account_id", "stripe_payment_method_id"]
        )
    op.create_table(
        "invoice_auto_bill",
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("recurring_invoice_id", sa.Uuid(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(*AUTO_BILL_STATUSES, name="autobillstatus", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("payment_id", sa.Uuid(), nullable=True),
        sa.Column("payment_method_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["client_id"], ["client.id"]),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoice.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["payment_id"], ["payment.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(
            ["payment_method_id"], ["payment_method.id"], ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["recurring_invoice_id"], ["recurring_invoice.id"], ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("invoice_id"),
    )
    with op.batch_alter_table("invoice_auto_bill", schema=None) as batch_op:
        batch_op.create_index("ix_invoice_auto_bill_account_id", ["account_id"], unique=False)
        batch_op.create_index("ix_invoice_auto_bill_client_id", ["client_id"], unique=False)
        batch_op.create_index("ix_invoice_auto_bill_created_at", ["created_at"], unique=False)
        batch_op.create_index(
            "ix_invoice_auto_bill_next_attempt_at", ["next_attempt_at"], unique=False
        )
        batch_op.create_index(
            "ix_invoice_auto_bill_recurring_invoice_id", ["recurring_invoice_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("invoice_auto_bill")
    with op.batch_alter_table("payment_method", schema=None) as batch_op:
        batch_op.drop_constraint("uq_payment_method_stripe", type_="unique")
