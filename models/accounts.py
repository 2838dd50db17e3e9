"""The tenant (account) and its staff users."""

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel

from models.base import (
    account_fk,
    created_at_field,
    datetime_field,
    enum_field,
    id_field,
    money_field,
    updated_at_field,
)
from models.enums import Module, PartnerDocuments, StaffRole, UnpaidSubscriptionAction


def all_modules() -> list[str]:
    return [m.value for m in Module]


class Account(SQLModel, table=True):
    """A business using Portico: its settings, branding and enabled modules."""

    __tablename__ = "account"

    id: uuid.UUID = id_field()
    name: str = Field(max_length=200)
    slug: str = Field(max_length=63, unique=True, index=True)
    currency: str = Field(default="USD", max_length=3)
    timezone: str = Field(default="UTC", max_length=64)
    locale: str = Field(default="en_US", max_length=16)
    """How the portal writes money and dates (a CLDR locale: ``en_US``, ``de_DE``)."""
    # Branding (public: the portal login page shows it)
    logo_url: str | None = Field(default=None, max_length=500)
    primary_color: str = Field(default="#2F6FEB", max_length=7)
    background_image_url: str | None = Field(default=None, max_length=500)
    logo_key: str | None = Field(default=None, max_length=300)
    """An uploaded logo (storage key); it wins over ``logo_url``."""
    background_image_key: str | None = Field(default=None, max_length=300)
    white_label: bool = False
    """Show only the business's brand (no "Powered by Portico") in the portal and mails."""
    terms_text: str | None = Field(default=None, sa_column=Column(Text))
    privacy_text: str | None = Field(default=None, sa_column=Column(Text))
    # Portal settings
    portal_enabled: bool = True
    registration_enabled: bool = False
    password_login_enabled: bool = True
    client_uploads_enabled: bool = True
    client_upload_max_bytes: int | None = None
    """Largest file a contact may upload (``None``: the server's ``upload_max_bytes``)."""
    client_payments_enabled: bool = True
    """Whether contacts may pay from the portal (``payInvoices``)."""
    task_sharing_enabled: bool = True
    """Tasks in the portal, for every client: off, no contact's schema (nor a partner
    token's) has the TASKS module (``services.client_modules``)."""
    enabled_modules: list[str] = Field(default_factory=all_modules, sa_column=Column(JSON))
    lock_sent_invoices: bool = True
    convert_quote_on_approval: bool = True
    quote_requires_terms: bool = False
    quote_requires_signature: bool = False
    quote_requires_po_number: bool = False
    quote_terms: str | None = Field(default=None, sa_column=Column(Text))
    allow_partial_payments: bool = True
    allow_overpayment: bool = False
    minimum_payment_amount: Decimal = money_field()
    client_prepayments_enabled: bool = False
    """Client-initiated payments: billing contacts may pre-pay (``makePrepayment``)."""
    client_prepayment_minimum: Decimal = money_field()
    """Smallest pre-payment a client may make."""
    subscription_unpaid_action: UnpaidSubscriptionAction = enum_field(
        UnpaidSubscriptionAction, UnpaidSubscriptionAction.UNPAID
    )
    """What a subscription becomes once every retry of a period's charge failed."""
    partner_documents: PartnerDocuments = enum_field(PartnerDocuments, PartnerDocuments.ANY)
    """REGISTERED: partner tokens run only the account's registered documents
    (``models.persisted_queries``); staff and contacts are never restricted."""
    # Numbering: incremented under a row lock when a document is sent
    invoice_number_prefix: str = Field(default="INV-", max_length=20)
    next_invoice_number: int = 1
    quote_number_prefix: str = Field(default="Q-", max_length=20)
    next_quote_number: int = 1
    credit_number_prefix: str = Field(default="CR-", max_length=20)
    next_credit_number: int = 1
    # Stripe. The secrets are sealed (auth.secret_box) and never readable through the API
    stripe_secret_key: str | None = Field(default=None, sa_column=Column(Text))
    stripe_webhook_secret: str | None = Field(default=None, sa_column=Column(Text))
    stripe_publishable_key: str | None = Field(default=None, max_length=255)
    stripe_connected_at: datetime | None = datetime_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class StaffUser(SQLModel, table=True):
    """Someone who works for the business. Emails are unique across Portico: staff sign in
    with an email and a password only."""

    __tablename__ = "staff_user"

    id: uuid.UUID = id_field()
    account_id: uuid.UUID = account_fk()
    email: str = Field(max_length=254, unique=True, index=True)
    name: str = Field(max_length=200)
    role: StaffRole = enum_field(StaffRole, StaffRole.MEMBER)
    password_hash: str | None = Field(default=None, max_length=255)
    is_active: bool = True
    last_sign_in_at: datetime | None = datetime_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
