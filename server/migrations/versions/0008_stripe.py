"""Stripe: sealed secrets and the publishable key on the account, received webhook events

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-02 11:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0008"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.alter_column(
            "stripe_secret_key", type_=sa.Text(), existing_type=sa.String(length=255)
        )
        batch_op.alter_column(
            "stripe_webhook_secret", type_=sa.Text(), existing_type=sa.String(length=255)
        )
        batch_op.add_column(
            sa.Column("stripe_publishable_key", sa.String(length=255), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "stripe_connected_at", models.types.UTCDateTime(timezone=True), nullable=True
            )
        )
    op.create_table(
        "stripe_event",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("stripe_created", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("received_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("processed_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("stripe_event", schema=None) as batch_op:
        batch_op.create_index("ix_stripe_event_account_id", ["account_id"], unique=False)
        batch_op.create_index("ix_stripe_event_received_at", ["received_at"], unique=False)


def downgrade() -> None:
    op.drop_table("stripe_event")
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.drop_column("stripe_connected_at")
        batch_op.drop_column("stripe_publishable_key")
        batch_op.alter_column(
            "stripe_webhook_secret", type_=sa.String(length=255), existing_type=sa.Text()
        )
        batch_op.alter_column(
            "stripe_secret_key", type_=sa.String(length=255), existing_type=sa.Text()
        )
