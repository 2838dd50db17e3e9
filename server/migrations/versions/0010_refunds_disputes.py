"""Card refunds asked of Stripe and card disputes, per payment

Revision ID: 0010_refunds_disputes
Revises: 0011_documents_storage
Create Date: 2026-12-03 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0010_refunds_disputes"
down_revision: str | None = "0011_documents_storage"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payment_refund",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("payment_id", sa.Uuid(), nullable=False),
        sa.Column("amount", models.types.ExactDecimal(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "PENDING",
                "SUCCEEDED",
                "FAILED",
                name="refundstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("provider_refund_id", sa.String(length=255), nullable=True),
        sa.Column("allocations", sa.JSON(), nullable=True),
        sa.Column("failure_reason", sa.String(length=500), nullable=True),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["payment_id"], ["payment.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by_id"], ["staff_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("payment_refund", schema=None) as batch_op:
        batch_op.create_index("ix_payment_refund_account_id", ["account_id"], unique=False)
        batch_op.create_index("ix_payment_refund_payment_id", ["payment_id"], unique=False)
        batch_op.create_index(
            "ix_payment_refund_provider_refund_id", ["provider_refund_id"], unique=False
        )
        batch_op.create_index("ix_payment_refund_created_at", ["created_at"], unique=False)
    op.create_table(
        "payment_dispute",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("payment_id", sa.Uuid(), nullable=False),
        sa.Column("amount", models.types.ExactDecimal(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.String(length=100), nullable=True),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["payment_id"], ["payment.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("payment_dispute", schema=None) as batch_op:
        batch_op.create_index("ix_payment_dispute_account_id", ["account_id"], unique=False)
        batch_op.create_index("ix_payment_dispute_payment_id", ["payment_id"], unique=False)
        batch_op.create_index("ix_payment_dispute_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_table("payment_dispute")
    op.drop_table("payment_refund")
