"""Documents: GraphQL arguments -> service call -> rows."""

from __future__ import annotations

import uuid

from models.documents import Document
from models.invoices import Invoice
from models.quotes import Quote
from resolvers.common import atomic, caller, parse_id, staff
from resolvers.context import Info
from resolvers.views import ClientView
from services import access, document_uploads, documents, downloads
from services.pagination import Page
from services.uploads import UploadedFile


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


async def optional_client(info: Info, client_id: uuid.UUID | None) -> ClientView | None:
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


async def upload_document(
    info: Info, data: document_uploads.UploadDocumentData, upload: UploadedFile
) -> Document:
    return await document_uploads.upload_document(
        runtime=info.context.runtime,
        session=info.context.session,
        actor=caller(info),
        data=data,
        upload=upload,
    )


async def update_document(
    info: Info, id: str, data: document_uploads.UpdateDocumentData
) -> Document:
    actor = staff(info)
    async with atomic(info) as work:
        return await document_uploads.update_document(
            session=work.session, actor=actor, document_id=parse_id(id), data=data
        )


async def delete_document(info: Info, id: str) -> uuid.UUID:
    actor = staff(info)
    async with atomic(info) as work:
        return await document_uploads.delete_document(
            session=work.session, actor=actor, document_id=parse_id(id)
        )


def download_url(info: Info, document: Document) -> str:
    runtime = info.context.runtime
    return downloads.download_url(
        signer=runtime.signer,
        settings=runtime.settings,
        principal=caller(info),
        kind=downloads.DownloadKind.DOCUMENT,
        document_id=document.id,
    )
