"""Documents (uploaded files): reading their metadata. The bytes are served elsewhere."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import Principal
from models.documents import Document
from services.access import document_scope
from services.pagination import Page, paginate


@dataclass(slots=True)
class DocumentFilter:
    client_id: uuid.UUID | None = None
    project_id: uuid.UUID | None = None
    invoice_id: uuid.UUID | None = None
    quote_id: uuid.UUID | None = None
    search: str | None = None


async def list_documents(
    *,
    session: AsyncSession,
    principal: Principal,
    filters: DocumentFilter,
    first: int | None,
    after: str | None,
) -> Page[Document]:
    statement = select(Document).where(*document_scope(principal))
    if filters.client_id is not None:
        statement = statement.where(Document.client_id == filters.client_id)
    if filters.project_id is not None:
        statement = statement.where(Document.project_id == filters.project_id)
    if filters.invoice_id is not None:
        statement = statement.where(Document.invoice_id == filters.invoice_id)
    if filters.quote_id is not None:
        statement = statement.where(Document.quote_id == filters.quote_id)
    if filters.search:
        pattern = f"%{filters.search.strip().lower()}%"
        statement = statement.where(func.lower(Document.filename).like(pattern))
    return await paginate(session, statement, Document, first=first, after=after)
