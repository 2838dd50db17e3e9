"""Signed, expiring download URLs for PDFs (``pdfUrl``) and uploaded documents
(``Document.downloadUrl``), and what they fetch.

A download token is signed with the DOWNLOAD salt (a session or any other token never
verifies as one) and carries what to render (kind, document id or statement
parameters), the account, and who asked: the sign-in session (staff, contact, staff
viewing as a contact) or the partner API token. It works for
``download_url_ttl_seconds``, and only while the one who asked could still read the
document: on each download the session or API token must still be valid (signing out
ends its links), the caller's profile must still hold the document's permission and
module, and the document is read again through the caller's scope (a contact's link to
an invoice that was voided since stops working).

Everything that goes wrong answers :class:`DownloadUnavailable` without saying why,
except an expired link with a genuine signature (:class:`DownloadExpired`), so the
frontend can ask for a fresh one.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from itsdangerous import SignatureExpired
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.policy import Permission
from auth.principals import AuthenticatedPrincipal, PartnerPrincipal
from auth.profiles import profile_for
from auth.tokens import InvalidToken, TokenPurpose, TokenSigner
from models.auth import ApiToken
from models.enums import Module
from services import sessions
from services.access import access_document, access_invoice, access_quote
from services.config import Settings
from services.errors import PorticoError
from services.pdf.invoice import load_invoice_pdf, render_invoice
from services.pdf.quote import load_quote_pdf, render_quote
from services.pdf.statement import load_statement_pdf, render_statement
from services.statements import StatementRequest, StatementStatus, build_statement
from services.storage.base import Storage


class DownloadKind(StrEnum):
    INVOICE = "invoice"
    QUOTE = "quote"
    STATEMENT = "statement"
    DOCUMENT = "document"


REQUIRES: dict[DownloadKind, tuple[Permission, Module]] = {
    DownloadKind.INVOICE: (Permission.INVOICES_READ, Module.INVOICES),
    DownloadKind.QUOTE: (Permission.QUOTES_READ, Module.QUOTES),
    DownloadKind.STATEMENT: (Permission.STATEMENTS_READ, Module.STATEMENTS),
    DownloadKind.DOCUMENT: (Permission.DOCUMENTS_READ, Module.DOCUMENTS),
}
"""What a caller must still hold to download each kind: the same rule as the schema
field that handed out the link."""


class DownloadUnavailable(Exception):
    """Malformed, tampered with, for another purpose, or no longer allowed."""


class DownloadExpired(DownloadUnavailable):
    """A genuine link past its lifetime."""


@dataclass(frozen=True, slots=True)
class DownloadGrant:
    kind: DownloadKind
    account_id: uuid.UUID
    holder_session_id: uuid.UUID | None
    holder_api_token_id: uuid.UUID | None
    document_id: uuid.UUID | None = None
    statement: StatementRequest | None = None


@dataclass(frozen=True, slots=True)
class Download:
    """A document ready to render: ``render`` is CPU work (run it off the event loop)."""

    filename: str
    render: Callable[[], bytes]


@dataclass(frozen=True, slots=True)
class StoredDownload:
    """An uploaded file, streamed from storage as it was uploaded."""

    filename: str
    content_type: str
    size_bytes: int
    storage_key: str


# --- signing ----------------------------------------------------------------------------


def download_url(
    *,
    signer: TokenSigner,
    settings: Settings,
    principal: AuthenticatedPrincipal,
    kind: DownloadKind,
    document_id: uuid.UUID | None = None,
    statement: StatementRequest | None = None,
) -> str:
    """``{public_base_url}/downloads/{token}`` for ``principal``."""
    payload: dict[str, Any] = {"k": kind.value, "a": principal.account_id.hex}
    if isinstance(principal, PartnerPrincipal):
        payload["t"] = principal.token_id.hex
    else:
        payload["s"] = principal.session_id.hex
    if document_id is not None:
        payload["d"] = document_id.hex
    if statement is not None:
        payload["p"] = {
            "c": statement.client_id.hex,
            "f": statement.date_from.isoformat(),
            "u": statement.date_to.isoformat(),
            "st": statement.status.value,
            "cur": statement.currency,
        }
    token = signer.sign(TokenPurpose.DOWNLOAD, payload)
    return f"{settings.public_base_url.rstrip('/')}/downloads/{token}"


def read_download_token(signer: TokenSigner, token: str, *, max_age_seconds: int) -> DownloadGrant:
    try:
        payload = signer.unsign(TokenPurpose.DOWNLOAD, token, max_age_seconds=max_age_seconds)
    except InvalidToken as error:
        if isinstance(error.__cause__, SignatureExpired):
            raise DownloadExpired() from error
        raise DownloadUnavailable() from error
    try:
        return _grant(payload)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise DownloadUnavailable() from error


def _grant(payload: Any) -> DownloadGrant:
    kind = DownloadKind(payload["k"])
    params = payload.get("p")
    statement = None
    if kind is DownloadKind.STATEMENT:
        statement = StatementRequest(
            client_id=uuid.UUID(hex=params["c"]),
            date_from=date.fromisoformat(params["f"]),
            date_to=date.fromisoformat(params["u"]),
            status=StatementStatus(params["st"]),
            currency=params.get("cur"),
        )
    document = payload.get("d")
    session_id = payload.get("s")
    api_token_id = payload.get("t")
    if kind is not DownloadKind.STATEMENT and document is None:
        raise ValueError("a document download names its document")
    if (session_id is None) == (api_token_id is None):
        raise ValueError("a download names exactly one holder")
    return DownloadGrant(
        kind=kind,
        account_id=uuid.UUID(hex=payload["a"]),
        holder_session_id=uuid.UUID(hex=session_id) if session_id else None,
        holder_api_token_id=uuid.UUID(hex=api_token_id) if api_token_id else None,
        document_id=uuid.UUID(hex=document) if document else None,
        statement=statement,
    )


# --- fetching ---------------------------------------------------------------------------


async def open_download(
    *,
    session: AsyncSession,
    signer: TokenSigner,
    settings: Settings,
    token: str,
    storage: Storage | None = None,
) -> Download | StoredDownload:
    """The document behind ``token``, read again in the scope of the one who asked."""
    grant = read_download_token(signer, token, max_age_seconds=settings.download_url_ttl_seconds)
    principal = await _holder(session, grant)
    permission, module = REQUIRES[grant.kind]
    if principal.account_id != grant.account_id or not profile_for(principal).allows(
        permission, module
    ):
        raise DownloadUnavailable()
    try:
        return await _prepare(session, settings, principal, grant, storage)
    except PorticoError as error:  # NotFound (out of scope, gone), BadInput (stale params)
        raise DownloadUnavailable() from error


async def _holder(session: AsyncSession, grant: DownloadGrant) -> AuthenticatedPrincipal:
    """Who the link was issued to, checked by the same rules as their bearer token
    (services.sessions): a revoked session or API token takes its links with it."""
    try:
        if grant.holder_session_id is not None:
            return await sessions.principal_for_session(session, grant.holder_session_id)
        api_token = await session.get(ApiToken, grant.holder_api_token_id)
        if api_token is None or api_token.account_id != grant.account_id:
            raise DownloadUnavailable()
        return await sessions.partner_principal(session, api_token)
    except PorticoError as error:
        raise DownloadUnavailable() from error


async def _prepare(
    session: AsyncSession,
    settings: Settings,
    principal: AuthenticatedPrincipal,
    grant: DownloadGrant,
    storage: Storage | None,
) -> Download | StoredDownload:
    """What the link names, with the account's uploaded logo (from ``storage``) on PDFs."""
    upload_dir = settings.upload_dir
    if grant.kind is DownloadKind.DOCUMENT and grant.document_id is not None:
        document = await access_document(session, principal, grant.document_id)
        return StoredDownload(
            document.filename, document.content_type, document.size_bytes, document.storage_key
        )
    if grant.kind is DownloadKind.INVOICE and grant.document_id is not None:
        invoice = await access_invoice(session, principal, grant.document_id)
        invoice_pdf = await load_invoice_pdf(
            session, invoice, upload_dir=upload_dir, storage=storage
        )
        return Download(safe_filename(invoice_pdf.filename), lambda: render_invoice(invoice_pdf))
    if grant.kind is DownloadKind.QUOTE and grant.document_id is not None:
        quote = await access_quote(session, principal, grant.document_id)
        quote_pdf = await load_quote_pdf(session, quote, upload_dir=upload_dir, storage=storage)
        return Download(safe_filename(quote_pdf.filename), lambda: render_quote(quote_pdf))
    if grant.kind is DownloadKind.STATEMENT and grant.statement is not None:
        request = grant.statement
        statement = await build_statement(
            session=session,
            principal=principal,
            date_from=request.date_from,
            date_to=request.date_to,
            status=request.status,
            client_id=request.client_id,
            currency=request.currency,
        )
        statement_pdf = await load_statement_pdf(
            session, statement, upload_dir=upload_dir, storage=storage
        )
        return Download(
            safe_filename(statement_pdf.filename), lambda: render_statement(statement_pdf)
        )
    raise DownloadUnavailable()  # pragma: no cover - _grant guarantees the parts


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_QUOTED_UNSAFE = re.compile(r'[^\x20-\x7e]|["\\%;]')


def content_disposition(filename: str) -> str:
    """``attachment`` with the name twice (RFC 6266): an ASCII fallback in which anything
    else, quotes and backslashes become ``_``, and the exact name percent-encoded
    (``filename*``). It never opens inline, whatever the type."""
    fallback = _QUOTED_UNSAFE.sub("_", filename) or "document"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def safe_filename(name: str) -> str:
    """A file name fit for ``Content-Disposition`` (numbers carry account prefixes)."""
    stem, dot, suffix = name.rpartition(".")
    cleaned = _UNSAFE.sub("-", stem).strip("-.") or "document"
    return f"{cleaned[:100]}{dot}{suffix}"
