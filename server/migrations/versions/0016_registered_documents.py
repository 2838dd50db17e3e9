"""Registered documents for partner tokens: the persisted_query table and the account's
partner_documents setting (ANY or REGISTERED)

Revision ID: 0016_registered_documents
Revises: 0013_subscriptions
Create Date: 2026-12-03 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0016_registered_documents"
down_revision: str | None = "0013_subscriptions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "partner_documents",
                sa.Enum("ANY", "REGISTERED", name="partnerdocuments", native_enum=False, length=32),
                nullable=False,
                server_default="ANY",
            )
        )
    op.create_table(
        "persisted_query",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by_id"], ["staff_user.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "sha256", name="uq_persisted_query_account_sha256"),
    )
    with op.batch_alter_table("persisted_query", schema=None) as batch_op:
        batch_op.create_index("ix_persisted_query_account_id", ["account_id"], unique=False)
        batch_op.create_index("ix_persisted_query_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_table("persisted_query")
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.drop_column("partner_documents")
