"""Uploading, changing and deleting documents (the files of ``schema/documents.py``).

An upload runs in three steps, so that a failure anywhere leaves nothing behind and no
transaction stays open while bytes stream:

1. where the file goes is checked in the caller's scope (the client, project, invoice or
   quote, each one the caller may read), then the read transaction ends;
2. the bytes stream into storage under a new key, checked on the way
   (:func:`services.uploads.store_upload`: type from the bytes, size, SHA-256);
3. one unit of work checks the place again, refuses a duplicate and writes the row and
   its activity entry. If it fails (a duplicate, a lost race, the database), the stored
   file is deleted before the error is answered.

Staff upload anywhere in their account; contacts (BILLING, COLLABORATOR) upload to their
own client when the account allows client uploads (``clientUploadsEnabled``, at most
``clientUploadMaxBytes``), and what they upload is visible to their client and to staff.

**Duplicates** — one file (same SHA-256) per owner: a client's staff-side files, a
client's own uploads, and the account-wide files are three owners. A second upload of
the same bytes to the same owner is refused with ``CONFLICT`` and the existing
document's id (``extensions.existingDocumentId``), which the caller can always read: a
contact's duplicates are among its client's uploads. A unique index backs the check
against concurrent uploads.

Deleting a document deletes its stored file after the commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.policy import Permission
from auth.principals import AuthenticatedPrincipal, ContactPrincipal, StaffPrincipal
from auth.profiles import profile_for
from models.accounts import Account
from models.documents import Document
from models.enums import Module
from models.types import utcnow
from services.access import (
    access_client,
    access_document,
    access_invoice,
    access_project,
    access_quote,
)
from services.errors import BadInput, Conflict, Forbidden, NotFound
from services.events import documents as document_events
from services.runtime import Runtime
from services.unit_of_work import UnitOfWork, after_commit, end_read, unit_of_work
from services.uploads import (
    DOCUMENT_TYPES,
    StoredUpload,
    UploadedFile,
    clean_filename,
    store_upload,
)

T = TypeVar("T")


@dataclass(slots=True)
class UploadDocumentData:
    client_id: uuid.UUID | None = None
    project_id: uuid.UUID | None = None
    invoice_id: uuid.UUID | None = None
    quote_id: uuid.UUID | None = None
    visible_in_portal: bool | None = None
    """Staff: whether the client's contacts see it (default no). Contacts: their uploads
    are always visible to their client (``false`` is refused)."""
    name: str | None = None
    """The document's file name; default: the uploaded file's."""


@dataclass(slots=True)
class UpdateDocumentData:
    name: str | None = None
    visible_in_portal: bool | None = None


@dataclass(frozen=True, slots=True)
class Placement:
    client_id: uuid.UUID | None
    project_id: uuid.UUID | None
    invoice_id: uuid.UUID | None
    quote_id: uuid.UUID | None


class DuplicateDocument(Conflict):
    def __init__(self, existing_id: uuid.UUID) -> None:
        super().__init__("This file is already uploaded here.", field="file")
        self.existing_id = existing_id

    @property
    def extensions(self) -> dict[str, object]:
        return {**super().extensions, "existingDocumentId": str(self.existing_id)}


def _readable(
    principal: AuthenticatedPrincipal, permission: Permission, module: Module, what: str
) -> None:
    """A place the caller's profile cannot read answers like one that does not exist."""
    if not profile_for(principal).allows(permission, module):
        raise NotFound(what)


def _same_client(found: uuid.UUID, client_id: uuid.UUID | None, *, field: str) -> uuid.UUID:
    if client_id is not None and found != client_id:
        raise BadInput("It belongs to another client.", field=field)
    return found


async def _placement(
    session: AsyncSession, principal: AuthenticatedPrincipal, data: UploadDocumentData
) -> Placement:
    """Where the file goes, each part read in the caller's scope; the client follows from
    the project, invoice or quote when it is not given, and must be the same for all."""
    client_id = data.client_id
    if isinstance(principal, ContactPrincipal):
        if client_id is not None and client_id != principal.client_id:
            raise NotFound("Client")
        client_id = principal.client_id
    if data.project_id is not None:
        _readable(principal, Permission.PROJECTS_READ, Module.PROJECTS, "Project")
        project = await access_project(session, principal, data.project_id)
        client_id = _same_client(project.client_id, client_id, field="projectId")
    if data.invoice_id is not None:
        _readable(principal, Permission.INVOICES_READ, Module.INVOICES, "Invoice")
        invoice = await access_invoice(session, principal, data.invoice_id)
        client_id = _same_client(invoice.client_id, client_id, field="invoiceId")
    if data.quote_id is not None:
        _readable(principal, Permission.QUOTES_READ, Module.QUOTES, "Quote")
        quote = await access_quote(session, principal, data.quote_id)
        client_id = _same_client(quote.client_id, client_id, field="quoteId")
    if client_id is not None:
        await access_client(session, principal, client_id)
    return Placement(client_id, data.project_id, data.invoice_id, data.quote_id)


async def _account(session: AsyncSession, principal: AuthenticatedPrincipal) -> Account:
    return (await session.exec(select(Account).where(Account.id == principal.account_id))).one()


def _limit(runtime: Runtime, account: Account, principal: AuthenticatedPrincipal) -> int:
    """The largest file the caller may upload."""
    server_limit = runtime.settings.upload_max_bytes
    if isinstance(principal, ContactPrincipal):
        if not account.client_uploads_enabled:
            raise Forbidden("Uploads from the portal are turned off.")
        return min(account.client_upload_max_bytes or server_limit, server_limit)
    return server_limit


def _check_uploader(principal: AuthenticatedPrincipal, data: UploadDocumentData) -> None:
    if isinstance(principal, ContactPrincipal):
        if principal.read_only:
            raise Forbidden()
        if data.visible_in_portal is False:
            raise BadInput(
                "What a client uploads is always visible to the client.",
                field="visibleInPortal",
            )
    elif not isinstance(principal, StaffPrincipal):
        raise Forbidden()


async def upload_document(
    *,
    runtime: Runtime,
    session: AsyncSession,
    actor: AuthenticatedPrincipal,
    data: UploadDocumentData,
    upload: UploadedFile,
) -> Document:
    """Store ``upload`` and record it as a document where ``data`` says; see the module
    docstring for the steps and what is refused."""

    async def recorded(_work: UnitOfWork, document: Document) -> Document:
        return document

    return await upload_then(
        runtime=runtime, session=session, actor=actor, data=data, upload=upload, then=recorded
    )


async def upload_then(
    *,
    runtime: Runtime,
    session: AsyncSession,
    actor: AuthenticatedPrincipal,
    data: UploadDocumentData,
    upload: UploadedFile,
    then: Callable[[UnitOfWork, Document], Awaitable[T]],
) -> T:
    """:func:`upload_document`, with ``then`` (a reply that attaches the file, say) in
    the transaction that records the document: one unit — if ``then`` fails, neither the
    document nor its stored file is kept."""
    _check_uploader(actor, data)
    filename = clean_filename(data.name or upload.filename, field="name" if data.name else "file")
    await _placement(session, actor, data)
    max_bytes = _limit(runtime, await _account(session, actor), actor)
    await end_read(session)  # no transaction stays open while the file streams

    key = f"documents/{actor.account_id.hex}/{uuid.uuid4().hex}"
    stored = await store_upload(
        runtime.storage,
        upload,
        key=key,
        filename=filename,
        allowed=DOCUMENT_TYPES,
        max_bytes=max_bytes,
    )
    try:
        async with unit_of_work(runtime, session) as work:
            document = await _record_upload(work.session, actor, data, key, stored)
            return await then(work, document)
    except BaseException:
        await runtime.storage.delete(key)
        raise


async def _record_upload(
    session: AsyncSession,
    actor: AuthenticatedPrincipal,
    data: UploadDocumentData,
    key: str,
    stored: StoredUpload,
) -> Document:
    place = await _placement(session, actor, data)  # again, now in the write transaction
    by_client = isinstance(actor, ContactPrincipal)
    existing = await _duplicate(session, actor.account_id, place.client_id, by_client, stored)
    if existing is not None:
        raise DuplicateDocument(existing)
    document = Document(
        account_id=actor.account_id,
        client_id=place.client_id,
        project_id=place.project_id,
        invoice_id=place.invoice_id,
        quote_id=place.quote_id,
        filename=stored.filename,
        content_type=stored.content_type,
        size_bytes=stored.size_bytes,
        sha256=stored.sha256,
        storage_key=key,
        visible_in_portal=True if by_client else bool(data.visible_in_portal),
        uploaded_by_client=by_client,
        uploaded_by_staff_id=actor.user_id if isinstance(actor, StaffPrincipal) else None,
        uploaded_by_contact_id=actor.contact_id if isinstance(actor, ContactPrincipal) else None,
    )
    session.add(document)
    try:
        await session.flush()
    except IntegrityError as error:  # the same file, uploaded at the same moment
        raise Conflict("This file is already uploaded here.", field="file") from error
    document_events.uploaded(session, document, actor)
    return document


async def _duplicate(
    session: AsyncSession,
    account_id: uuid.UUID,
    client_id: uuid.UUID | None,
    by_client: bool,
    stored: StoredUpload,
) -> uuid.UUID | None:
    statement = select(Document.id).where(
        Document.account_id == account_id, Document.sha256 == stored.sha256
    )
    if client_id is None:
        statement = statement.where(col(Document.client_id).is_(None))
    else:
        statement = statement.where(
            Document.client_id == client_id,
            Document.uploaded_by_client == by_client,
        )
    return (await session.exec(statement)).first()


async def update_document(
    *,
    session: AsyncSession,
    actor: StaffPrincipal,
    document_id: uuid.UUID,
    data: UpdateDocumentData,
) -> Document:
    """Rename a document or share it in the portal (or stop sharing it). A client's own
    upload stays visible to the client."""
    document = await access_document(session, actor, document_id, lock=True)
    changed = []
    if data.name is not None:
        document.filename = clean_filename(data.name, field="name")
        changed.append("name")
    if data.visible_in_portal is not None:
        if document.uploaded_by_client and not data.visible_in_portal:
            raise BadInput(
                "What a client uploads is always visible to the client.",
                field="visibleInPortal",
            )
        document.visible_in_portal = data.visible_in_portal
        changed.append("visible_in_portal")
    document.updated_at = utcnow()
    document_events.updated(session, document, actor, changed=changed)
    return document


async def delete_document(
    *, session: AsyncSession, actor: StaffPrincipal, document_id: uuid.UUID
) -> uuid.UUID:
    """Delete the row now and its stored file once the deletion is committed (a rollback
    keeps both)."""
    document = await access_document(session, actor, document_id, lock=True)
    document_events.deleted(session, document, actor)
    key = document.storage_key
    await session.delete(document)
    await session.flush()

    async def delete_file(runtime: Runtime) -> None:
        await runtime.storage.delete(key)

    after_commit(session, f"document.delete_file:{key}", delete_file)
    return document_id
