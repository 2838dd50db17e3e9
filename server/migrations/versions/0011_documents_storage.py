"""Documents: uploads to storage (client side, one file per owner); portal settings

Revision ID: 0011_documents_storage
Revises: 0012_collaboration
Create Date: 2026-12-02 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_documents_storage"
down_revision: str | None = "0012_collaboration"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "uploaded_by_client", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    op.execute(
        "UPDATE document SET uploaded_by_client = "
        + ("TRUE" if op.get_bind().dialect.name == "postgresql" else "1")
        + " WHERE uploaded_by_contact_id IS NOT NULL"
    )
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.alter_column("uploaded_by_client", server_default=None)
        batch_op.create_index(
            "uq_document_client_sha256",
            ["account_id", "client_id", "uploaded_by_client", "sha256"],
            unique=True,
            sqlite_where=sa.text("client_id IS NOT NULL"),
            postgresql_where=sa.text("client_id IS NOT NULL"),
        )
        batch_op.create_index(
            "uq_document_account_sha256",
            ["account_id", "sha256"],
            unique=True,
            sqlite_where=sa.text("client_id IS NULL"),
            postgresql_where=sa.text("client_id IS NULL"),
        )
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("logo_key", sa.String(length=300), nullable=True))
        batch_op.add_column(
            sa.Column("background_image_key", sa.String(length=300), nullable=True)
        )
        batch_op.add_column(
            sa.Column("white_label", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("terms_text", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("privacy_text", sa.Text(), nullable=True))
        for flag in ("client_uploads_enabled", "client_payments_enabled"):
            batch_op.add_column(
                sa.Column(flag, sa.Boolean(), nullable=False, server_default=sa.true())
            )
        batch_op.add_column(sa.Column("client_upload_max_bytes", sa.Integer(), nullable=True))
    with op.batch_alter_table("account", schema=None) as batch_op:
        for flag in (
            "white_label",
            "client_uploads_enabled",
            "client_payments_enabled",
        ):
            batch_op.alter_column(flag, server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("account", schema=None) as batch_op:
        for column in (
            "client_upload_max_bytes",
            "client_payments_enabled",
            "client_uploads_enabled",
            "privacy_text",
            "terms_text",
            "white_label",
            "background_image_key",
            "logo_key",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.drop_index("uq_document_account_sha256")
        batch_op.drop_index("uq_document_client_sha256")
        batch_op.drop_column("uploaded_by_client")
