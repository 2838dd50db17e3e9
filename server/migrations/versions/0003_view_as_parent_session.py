"""view-as sessions remember the staff session that opened them

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("auth_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_by_session_id", sa.Uuid(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_auth_session_created_by_session_id"),
            ["created_by_session_id"],
            unique=False,
        )
        batch_op.create_foreign_key(
            "fk_auth_session_created_by_session_id_auth_session",
            "auth_session",
            ["created_by_session_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("auth_session", schema=None) as batch_op:
        batch_op.drop_constraint(
            "fk_auth_session_created_by_session_id_auth_session", type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_auth_session_created_by_session_id"))
        batch_op.drop_column("created_by_session_id")
