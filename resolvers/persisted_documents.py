"""Registered documents for partner tokens: GraphQL arguments ->
:mod:`services.persisted_documents`."""

from __future__ import annotations

from models.persisted_queries import PersistedQuery
from resolvers.common import atomic, staff
from resolvers.context import Info
from services import persisted_documents
from services.persisted_documents import DocumentChecker


async def register_persisted_query(
    info: Info, document: str, name: str | None, check: DocumentChecker
) -> PersistedQuery:
    actor = staff(info)
    async with atomic(info) as work:
        return await persisted_documents.register_document(
            session=work.session, actor=actor, document=document, name=name, check=check
        )


async def delete_persisted_query(info: Info, sha256: str) -> PersistedQuery:
    actor = staff(info)
    async with atomic(info) as work:
        return await persisted_documents.delete_document(
            session=work.session, actor=actor, sha256=sha256
        )


async def persisted_query_list(info: Info) -> list[PersistedQuery]:
    return await persisted_documents.list_documents(info.context.session, staff(info))
