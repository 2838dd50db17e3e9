"""The root types: each domain contributes its Query and Mutation, merged here."""

from __future__ import annotations

from strawberry.tools import merge_types

from schema.accounts import AccountMutation, AccountQuery
from schema.clients import ClientMutation, ClientQuery
from schema.invoices import InvoiceMutation, InvoiceQuery
from schema.payments import PaymentMutation, PaymentQuery
from schema.quotes import QuoteMutation, QuoteQuery

Query = merge_types("Query", (AccountQuery, ClientQuery, InvoiceQuery, QuoteQuery, PaymentQuery))
Mutation = merge_types(
    "Mutation",
    (AccountMutation, ClientMutation, InvoiceMutation, QuoteMutation, PaymentMutation),
)
