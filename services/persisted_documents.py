"""Persisted documents: the identity of a GraphQL document (the sha256 of its exact text,
as Apollo's automatic persisted queries hash it), and the documents an account admin
registers for the account's partner API tokens.

Under ``Account.partner_documents = REGISTERED`` a partner token runs only registered
documents (enforced in ``server.execution``): sent in full, or by hash alone. Staff and
contacts are never restricted. A webhook's document is registered with it
(:func:`register_document` from ``services.webhooks.endpoints``), and a document a
webhook uses cannot be deleted while it does.

The document is checked against the schema (above this layer) through a
:class:`DocumentChecker` before it is stored.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Protocol

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import StaffPrincipal
from models.persisted_queries import PersistedQuery
from models.webhooks import Webhook
from services.errors import BadInput, Conflict, NotFound
from services.events import access as access_events
from services.validation import optional_text

DOCUMENT_MAX_LENGTH = 100_000


def document_hash(document: str) -> str:
    """The lowercase hex sha256 of ``document``'s UTF-8 text."""
    return hashlib.sha256(document.encode()).hexdigest()


class DocumentChecker(Protocol):
    def __call__(self, document: str) -> None:
        """Nothing if ``document`` parses and validates for a partner token, else
        :class:`~services.errors.BadInput` (``field="document"``) saying what is wrong."""


async def registered_document(
    session: AsyncSession, account_id: uuid.UUID, sha256: str
) -> str | None:
    """The text of the account's document registered under ``sha256``, if any."""
    statement = select(PersistedQuery.document).where(
        col(PersistedQuery.account_id) == account_id, col(PersistedQuery.sha256) == sha256
    )
    document: str | None = (await session.exec(statement)).first()
    return document


async def _registered_row(
    session: AsyncSession, account_id: uuid.UUID, sha256: str
) -> PersistedQuery | None:
    statement = select(PersistedQuery).where(
        col(PersistedQuery.account_id) == account_id, col(PersistedQuery.sha256) == sha256
    )
    return (await session.exec(statement)).first()


async def register_document(
    *,
    session: AsyncSession,
    actor: StaffPrincipal,
    document: str,
    name: str | None,
    check: DocumentChecker,
    webhook: bool = False,
) -> PersistedQuery:
    """The account's registration of ``document`` (checked first). Registering the same
    text again is no error: the registration stays, renamed when ``name`` is given."""
    if not document.strip():
        raise BadInput("Give the document's text.", field="document")
    if len(document) > DOCUMENT_MAX_LENGTH:
        raise BadInput(
            f"A document has at most {DOCUMENT_MAX_LENGTH} characters.", field="document"
        )
    check(document)
    name = None if name is None else optional_text(name, field="name", max_length=200)
    sha256 = document_hash(document)
    existing = await _registered_row(session, actor.account_id, sha256)
    if existing is not None:
        if name is not None and name != existing.name:
            existing.name = name
            session.add(existing)
        return existing
    row = PersistedQuery(
        account_id=actor.account_id,
        sha256=sha256,
        document=document,
        name=name,
        created_by_id=actor.user_id,
    )
    session.add(row)
    await session.flush()
    access_events.persisted_query_registered(session, row, actor, webhook=webhook)
    return row


async def list_documents(session: AsyncSession, actor: StaffPrincipal) -> list[PersistedQuery]:
    """The account's registered documents, newest first."""
    statement = (
        select(PersistedQuery)
        .where(col(PersistedQuery.account_id) == actor.account_id)
        .order_by(col(PersistedQuery.created_at).desc(), col(PersistedQuery.id).desc())
    )
    return list((await session.exec(statement)).all())


async def delete_document(
    *, session: AsyncSession, actor: StaffPrincipal, sha256: str
) -> PersistedQuery:
    """Remove the registration: partner tokens of an account that requires registered
    documents can no longer run it. Refused while a webhook of the account uses it."""
    row = await _registered_row(session, actor.account_id, sha256.strip().lower())
    if row is None:
        raise NotFound("Persisted query")
    in_use = await session.exec(
        select(Webhook.id).where(
            col(Webhook.account_id) == actor.account_id, col(Webhook.query) == row.document
        )
    )
    if in_use.first() is not None:
        raise Conflict(
            "A webhook uses this document: change or delete the webhook first.", field="sha256"
        )
    await session.delete(row)
    await session.flush()
    access_events.persisted_query_deleted(session, row, actor)
    return row
