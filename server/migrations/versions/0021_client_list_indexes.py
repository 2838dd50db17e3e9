"""client list indexes: one client's invoices, payments and quotes in keyset order
(created_at, id), the lists its contacts page through (the portal's landing query reads
all three). See models.base.client_order_index.

Revision ID: 0021_client_list_indexes
Revises: 0020_prepayment_retries
Create Date: 2026-12-07 14:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021_client_list_indexes"
down_revision: str | None = "0020_prepayment_retries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("invoice", "payment", "quote")


def upgrade() -> None:
    for table in TABLES:
        op.create_index(f"ix_{table}_client_order", table, ["client_id", "created_at", "id"])


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_client_order", table_name=table)
