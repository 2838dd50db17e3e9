"""recurring_prepayment: where the latest cycle's charge is (status, attempts, next and last
attempt), for the retries invoice auto-bill has

Revision ID: 0020_prepayment_retries
Revises: 0019_account_locale
Create Date: 2026-12-03 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0020_prepayment_retries"
down_revision: str | None = "0019_account_locale"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AUTO_BILL_STATUSES = (
    "SCHEDULED",
    "CHARGING",
    "SUCCEEDED",
    "FAILED",
    "ACTION_REQUIRED",
    "CANCELED",
)


def upgrade() -> None:
    with op.batch_alter_table("recurring_prepayment", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "charge_status",
                sa.Enum(*AUTO_BILL_STATUSES, name="autobillstatus", native_enum=False, length=32),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column("attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("next_attempt_at", models.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("last_attempt_at", models.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            "ix_recurring_prepayment_next_attempt_at", ["next_attempt_at"], unique=False
        )
    with op.batch_alter_table("recurring_prepayment", schema=None) as batch_op:
        batch_op.alter_column("attempts", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("recurring_prepayment", schema=None) as batch_op:
        batch_op.drop_index("ix_recurring_prepayment_next_attempt_at")
        batch_op.drop_column("last_attempt_at")
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("attempts")
        batch_op.drop_column("charge_status")
