"""Documents: GraphQL arguments -> service call -> rows."""

from __future__ import annotations

import uuid

from models.clients import Client
from models.documents import Document
from models.invoices import Invoice
from models.quotes import Quote
from resolvers.common import caller, parse_id
from resolvers.context import Info
from services import access, documents
from services.pagination import Page


async def list_documents(
    info: Info, *, first: int | None, after: str | None, filters: documents.DocumentFilter
) -> Page[Document]:
    return await documents.list_documents(
        session=info.context.session,
        principal=caller(info),
        filters=filters,
        first=first,
        after=after,
    )


async def document(info: Info, id: str) -> Document:
    return await access.access_document(info.context.session, caller(info), parse_id(id))


async def optional_client(info: Info, client_id: uuid.UUID | None) -> Client | None:
    """A client, or ``None`` for an account-wide document."""
    if client_id is None:
        return None
    return await info.context.loaders.client_by_id.load(client_id)


async def optional_invoice(info: Info, invoice_id: uuid.UUID | None) -> Invoice | None:
    """An invoice, or ``None`` when there is none or the caller may not see it."""
    if invoice_id is None:
        return None
    return await info.context.loaders.invoice_by_id.load(invoice_id)


async def optional_quote(info: Info, quote_id: uuid.UUID | None) -> Quote | None:
    """A quote, or ``None`` when there is none or the caller may not see it."""
    if quote_id is None:
        return None
    return await info.context.loaders.quote_by_id.load(quote_id)
