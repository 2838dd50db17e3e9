"""Collaboration: task visibility and authors, time logs' work date and invoice, ticket
assignees and attachments, followers, the account's task-sharing setting

Revision ID: 0012_collaboration
Revises: 0008
Create Date: 2026-12-02 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0012_collaboration"
down_revision: str | None = "0009_payment_methods"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_VISIBILITY = sa.Enum(
    "INTERNAL",
    "CLIENT_VISIBLE",
    "CLIENT_EDITABLE",
    name="taskvisibility",
    native_enum=False,
    length=32,
)


def upgrade() -> None:
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "task_sharing_enabled", sa.Boolean(), nullable=False, server_default=sa.true()
            )
        )
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("visibility", _VISIBILITY, nullable=False, server_default="INTERNAL")
        )
        batch_op.add_column(sa.Column("created_by_staff_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("created_by_contact_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            "fk_task_created_by_staff_id", "staff_user", ["created_by_staff_id"], ["id"]
        )
        batch_op.create_foreign_key(
            "fk_task_created_by_contact_id",
            "contact",
            ["created_by_contact_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.execute(
        "UPDATE task SET visibility = CASE WHEN shared_with_client "
        "THEN 'CLIENT_VISIBLE' ELSE 'INTERNAL' END"
    )
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_column("shared_with_client")

    with op.batch_alter_table("time_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("work_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("invoice_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key("fk_time_log_invoice_id", "invoice", ["invoice_id"], ["id"])
        batch_op.create_index("ix_time_log_work_date", ["work_date"], unique=False)
        batch_op.create_index("ix_time_log_invoice_id", ["invoice_id"], unique=False)

    with op.batch_alter_table("support_ticket", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assignee_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            "fk_support_ticket_assignee_id", "staff_user", ["assignee_id"], ["id"]
        )
    with op.batch_alter_table("ticket_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attachment_ids", sa.JSON(), nullable=True))

    op.create_table(
        "follow",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("subject_type", sa.String(length=40), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("follower_key", sa.String(length=60), nullable=False),
        sa.Column("staff_user_id", sa.Uuid(), nullable=True),
        sa.Column("contact_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["staff_user_id"], ["staff_user.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subject_id", "follower_key", name="uq_follow_subject_follower"),
    )
    with op.batch_alter_table("follow", schema=None) as batch_op:
        batch_op.create_index("ix_follow_account_id", ["account_id"], unique=False)
        batch_op.create_index("ix_follow_subject_id", ["subject_id"], unique=False)
        batch_op.create_index("ix_follow_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_table("follow")
    with op.batch_alter_table("ticket_message", schema=None) as batch_op:
        batch_op.drop_column("attachment_ids")
    with op.batch_alter_table("support_ticket", schema=None) as batch_op:
        batch_op.drop_constraint("fk_support_ticket_assignee_id", type_="foreignkey")
        batch_op.drop_column("assignee_id")
    with op.batch_alter_table("time_log", schema=None) as batch_op:
        batch_op.drop_index("ix_time_log_invoice_id")
        batch_op.drop_index("ix_time_log_work_date")
        batch_op.drop_constraint("fk_time_log_invoice_id", type_="foreignkey")
        batch_op.drop_column("invoice_id")
        batch_op.drop_column("work_date")
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "shared_with_client", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    op.execute("UPDATE task SET shared_with_client = (visibility <> 'INTERNAL')")
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_constraint("fk_task_created_by_contact_id", type_="foreignkey")
        batch_op.drop_constraint("fk_task_created_by_staff_id", type_="foreignkey")
        batch_op.drop_column("created_by_contact_id")
        batch_op.drop_column("created_by_staff_id")
        batch_op.drop_column("visibility")
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.drop_column("task_sharing_enabled")
