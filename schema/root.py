"""The root types: each domain contributes its Query and Mutation, merged here.

The order of the classes is the order of the root fields in the printed schema
(schema/sdl/): keep it when moving fields between modules."""

from __future__ import annotations

from strawberry.tools import merge_types

from schema.account_settings import (
    AccountSettingsMutation,
    AccountSettingsQuery,
    ApiClient,
    ApiTokenCreationMutation,
)
from schema.accounts import AccountMutation, AccountQuery, StaffUser
from schema.activity import ActivityQuery
from schema.clients import ClientMutation, ClientQuery, Contact
from schema.credits import CreditMutation, CreditQuery
from schema.dashboard import DashboardQuery
from schema.documents import DocumentMutation, DocumentQuery
from schema.invoice_events import InvoiceEventSubscription
from schema.invoices import InvoiceMutation, InvoiceQuery
from schema.payment_methods import PaymentMethodMutation, PaymentMethodQuery
from schema.payments import PaymentMutation, PaymentQuery
from schema.persisted_documents import PersistedQueryMutation, PersistedQueryQuery
from schema.portal_access import PortalAccessMutation, PortalAccessQuery
from schema.prepayments import PrepaymentMutation, PrepaymentQuery
from schema.projects import ProjectMutation, ProjectQuery, UnsubscribeMutation
from schema.quotes import QuoteMutation, QuoteQuery
from schema.recurring import RecurringInvoiceMutation, RecurringInvoiceQuery
from schema.statements import StatementQuery
from schema.subscriptions import SubscriptionMutation, SubscriptionQuery
from schema.support import SupportMutation, SupportQuery
from schema.time_logs import TimeLogMutation, TimeLogQuery
from schema.webhooks import WebhookMutation, WebhookQuery

Query = merge_types(
    "Query",
    (
        AccountQuery,
        DashboardQuery,
        PortalAccessQuery,
        AccountSettingsQuery,
        ClientQuery,
        InvoiceQuery,
        QuoteQuery,
        PaymentQuery,
        CreditQuery,
        RecurringInvoiceQuery,
        SubscriptionQuery,
        PrepaymentQuery,
        PaymentMethodQuery,
        ProjectQuery,
        DocumentQuery,
        TimeLogQuery,
        SupportQuery,
        ActivityQuery,
        StatementQuery,
        WebhookQuery,
        PersistedQueryQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        ApiTokenCreationMutation,
        AccountMutation,
        PortalAccessMutation,
        AccountSettingsMutation,
        ClientMutation,
        InvoiceMutation,
        QuoteMutation,
        PaymentMutation,
        PaymentMethodMutation,
        PrepaymentMutation,
        CreditMutation,
        RecurringInvoiceMutation,
        SubscriptionMutation,
        ProjectMutation,
        TimeLogMutation,
        SupportMutation,
        UnsubscribeMutation,
        DocumentMutation,
        WebhookMutation,
        PersistedQueryMutation,
    ),
)
Subscription = merge_types("Subscription", (InvoiceEventSubscription,))

VIEWERS = [StaffUser, Contact, ApiClient]
"""The types behind ``viewer`` (the ``Viewer`` interface): part of every signed-in
caller's schema, as the members of a union would be."""
