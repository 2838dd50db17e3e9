"""account.locale: how the portal writes the account's money and dates

Revision ID: 0019_account_locale
Revises: 0018_mail_unsubscribe_url
Create Date: 2026-12-02 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_account_locale"
down_revision: str | None = "0018_mail_unsubscribe_url"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("locale", sa.String(length=16), nullable=False, server_default="en_US")
        )
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.alter_column("locale", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.drop_column("locale")
