"""quote.converted_invoice_id references invoice on PostgreSQL too

0001 declared the constraint inside ``create_table`` with ``use_alter=True``: SQLite
builds it into the table, but on PostgreSQL Alembic leaves a ``use_alter`` constraint out
of ``CREATE TABLE`` and nothing added it afterwards, so a quote could name an invoice that
does not exist. References to missing invoices are cleared first (the quote stays
approved; it only loses a link that led nowhere).

Revision ID: 0017_quote_converted_invoice_fk
Revises: 0015_list_indexes
Create Date: 2026-12-02 17:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_quote_converted_invoice_fk"
down_revision: str | None = "0015_list_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "fk_quote_converted_invoice_id"


def _exists() -> bool:
    bind = op.get_bind()
    row = bind.execute(
        sa.text(
            "SELECT 1 FROM information_schema.table_constraints "
            "WHERE constraint_name = :name AND table_name = 'quote' "
            "AND table_schema = current_schema()"
        ),
        {"name": NAME},
    ).first()
    return row is not None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite" or _exists():
        return
    op.execute(
        "UPDATE quote SET converted_invoice_id = NULL WHERE converted_invoice_id IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM invoice WHERE invoice.id = quote.converted_invoice_id)"
    )
    op.create_foreign_key(NAME, "quote", "invoice", ["converted_invoice_id"], ["id"])


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(NAME, "quote", type_="foreignkey")
