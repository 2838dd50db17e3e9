"""mail_message.unsubscribe_url: sent as the List-Unsubscribe header

Revision ID: 0018_mail_unsubscribe_url
Revises: 0017_quote_converted_invoice_fk
Create Date: 2026-12-02 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_mail_unsubscribe_url"
down_revision: str | None = "0017_quote_converted_invoice_fk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("mail_message", sa.Column("unsubscribe_url", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mail_message") as batch:
        batch.drop_column("unsubscribe_url")
