"""Subscriptions billed by Portico: plan options, billing periods and their invoices,
auto-bill rows of subscriptions, recurring pre-payments, the account's client-payment and
unpaid-subscription settings

Revision ID: 0013_subscriptions
Revises: 0014_webhook_secret_rotation
Create Date: 2026-12-02 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0013_subscriptions"
down_revision: str | None = "0014_webhook_secret_rotation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=32)


def upgrade() -> None:
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "client_prepayments_enabled", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.add_column(
            sa.Column(
                "client_prepayment_minimum",
                models.types.ExactDecimal(),
                nullable=False,
                server_default="0",
            )
        )
        batch_op.add_column(
            sa.Column(
                "subscription_unpaid_action",
                _enum("unpaidsubscriptionaction", "UNPAID", "CANCELED"),
                nullable=False,
                server_default="UNPAID",
            )
        )
    with op.batch_alter_table("subscription_plan", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("allow_cancellation", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(
            sa.Column("allow_plan_changes", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(
            sa.Column("archived_at", models.types.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("subscription", schema=None) as batch_op:
        # status gains UNPAID: stored as its name in a VARCHAR(32), nothing to change
        batch_op.add_column(sa.Column("cancellation_reason", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("billing_anchor", models.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("period_number", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("invoice_auto_bill", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subscription_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            "fk_invoice_auto_bill_subscription_id_subscription",
            "subscription",
            ["subscription_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index(
            "ix_invoice_auto_bill_subscription_id", ["subscription_id"], unique=False
        )
    op.create_table(
        "subscription_invoice",
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind", _enum("subscriptioncharge", "PERIOD", "PLAN_CHANGE"), nullable=False
        ),
        sa.Column("period_start", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("period_end", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoice.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["subscription_id"], ["subscription.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("invoice_id"),
        sa.UniqueConstraint(
            "subscription_id", "kind", "period_start", name="uq_subscription_invoice_period"
        ),
    )
    with op.batch_alter_table("subscription_invoice", schema=None) as batch_op:
        batch_op.create_index("ix_subscription_invoice_account_id", ["account_id"], unique=False)
        batch_op.create_index("ix_subscription_invoice_created_at", ["created_at"], unique=False)
        batch_op.create_index(
            "ix_subscription_invoice_subscription_id", ["subscription_id"], unique=False
        )
    op.create_table(
        "recurring_prepayment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=True),
        sa.Column("amount", models.types.ExactDecimal(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "frequency",
            _enum(
                "frequency",
                "WEEKLY",
                "TWO_WEEKS",
                "MONTHLY",
                "TWO_MONTHS",
                "THREE_MONTHS",
                "SIX_MONTHS",
                "YEARLY",
            ),
            nullable=False,
        ),
        sa.Column("cycles", sa.Integer(), nullable=True),
        sa.Column("charges", sa.Integer(), nullable=False),
        sa.Column(
            "status", _enum("prepaymentstatus", "ACTIVE", "COMPLETED", "CANCELED"), nullable=False
        ),
        sa.Column("starts_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("next_charge_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("payment_method_id", sa.Uuid(), nullable=True),
        sa.Column("last_payment_id", sa.Uuid(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["client_id"], ["client.id"]),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["last_payment_id"], ["payment.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(
            ["payment_method_id"], ["payment_method.id"], ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("recurring_prepayment", schema=None) as batch_op:
        batch_op.create_index("ix_recurring_prepayment_account_id", ["account_id"], unique=False)
        batch_op.create_index("ix_recurring_prepayment_client_id", ["client_id"], unique=False)
        batch_op.create_index("ix_recurring_prepayment_created_at", ["created_at"], unique=False)
        batch_op.create_index(
            "ix_recurring_prepayment_next_charge_at", ["next_charge_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("recurring_prepayment")
    op.drop_table("subscription_invoice")
    with op.batch_alter_table("invoice_auto_bill", schema=None) as batch_op:
        batch_op.drop_index("ix_invoice_auto_bill_subscription_id")
        batch_op.drop_constraint(
            "fk_invoice_auto_bill_subscription_id_subscription", type_="foreignkey"
        )
        batch_op.drop_column("subscription_id")
    with op.batch_alter_table("subscription", schema=None) as batch_op:
        batch_op.drop_column("period_number")
        batch_op.drop_column("billing_anchor")
        batch_op.drop_column("cancellation_reason")
    with op.batch_alter_table("subscription_plan", schema=None) as batch_op:
        batch_op.drop_column("archived_at")
        batch_op.drop_column("allow_plan_changes")
        batch_op.drop_column("allow_cancellation")
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.drop_column("subscription_unpaid_action")
        batch_op.drop_column("client_prepayment_minimum")
        batch_op.drop_column("client_prepayments_enabled")
