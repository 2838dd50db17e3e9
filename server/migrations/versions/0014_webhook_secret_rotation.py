"""webhook secret rotation: the previous secret, still signing until it expires

Revision ID: 0014_webhook_secret_rotation
Revises: 0010_refunds_disputes
Create Date: 2026-12-02 14:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0014_webhook_secret_rotation"
down_revision: str | None = "0010_refunds_disputes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("webhook", sa.Column("previous_secret", sa.Text(), nullable=True))
    op.add_column(
        "webhook",
        sa.Column(
            "previous_secret_expires_at", models.types.UTCDateTime(timezone=True), nullable=True
        ),
    )


def downgrade() -> None:
    with op.batch_alter_table("webhook") as batch:
        batch.drop_column("previous_secret_expires_at")
        batch.drop_column("previous_secret")
