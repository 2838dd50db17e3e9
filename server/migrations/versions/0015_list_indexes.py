"""list indexes: each paginated list's scope, then its keyset order (created_at, id)

Without them every page of a list sorted the whole account's rows in a temporary B-tree
(issue 14). See models.base.list_order_index.

Revision ID: 0015_list_indexes
Revises: 0016_registered_documents
Create Date: 2026-12-02 15:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015_list_indexes"
down_revision: str | None = "0016_registered_documents"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LISTS = {
    "activity": "account_id",
    "client": "account_id",
    "credit": "account_id",
    "document": "account_id",
    "invoice": "account_id",
    "payment": "account_id",
    "payment_method": "account_id",
    "project": "account_id",
    "quote": "account_id",
    "recurring_invoice": "account_id",
    "subscription": "account_id",
    "support_ticket": "account_id",
    "task": "account_id",
    "time_log": "account_id",
    "webhook_delivery": "webhook_id",
}


def upgrade() -> None:
    for table, scope in LISTS.items():
        op.create_index(f"ix_{table}_list_order", table, [scope, "created_at", "id"])


def downgrade() -> None:
    for table in LISTS:
        op.drop_index(f"ix_{table}_list_order", table_name=table)
