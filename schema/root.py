"""The root types: each domain contributes its Query and Mutation, merged here."""

from __future__ import annotations

from strawberry.tools import merge_types

from schema.accounts import AccountMutation, AccountQuery
from schema.activity import ActivityQuery
from schema.clients import ClientMutation, ClientQuery
from schema.credits import CreditMutation, CreditQuery
from schema.documents import DocumentQuery
from schema.invoices import InvoiceMutation, InvoiceQuery
from schema.payment_methods import PaymentMethodQuery
from schema.payments import PaymentMutation, PaymentQuery
from schema.portal_access import PortalAccessMutation, PortalAccessQuery
from schema.projects import ProjectQuery
from schema.quotes import QuoteMutation, QuoteQuery
from schema.recurring import RecurringInvoiceMutation, RecurringInvoiceQuery
from schema.statements import StatementQuery
from schema.subscriptions import SubscriptionQuery
from schema.time_logs import TimeLogQuery

Query = merge_types(
    "Query",
    (
        AccountQuery,
        PortalAccessQuery,
        ClientQuery,
        InvoiceQuery,
        QuoteQuery,
        PaymentQuery,
        CreditQuery,
        RecurringInvoiceQuery,
        SubscriptionQuery,
        PaymentMethodQuery,
        ProjectQuery,
        DocumentQuery,
        TimeLogQuery,
        ActivityQuery,
        StatementQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        AccountMutation,
        PortalAccessMutation,
        ClientMutation,
        InvoiceMutation,
        QuoteMutation,
        PaymentMutation,
        CreditMutation,
        RecurringInvoiceMutation,
    ),
)
