"""Signed PDF download URLs of invoices and quotes (``pdfUrl``)."""

from __future__ import annotations

import uuid

from resolvers.common import caller
from resolvers.context import Info
from services.downloads import DownloadKind, download_url


def pdf_url(info: Info, kind: DownloadKind, document_id: uuid.UUID) -> str:
    """A link to the document's PDF for the caller, valid for a few minutes."""
    runtime = info.context.runtime
    return download_url(
        signer=runtime.signer,
        settings=runtime.settings,
        principal=caller(info),
        kind=kind,
        document_id=document_id,
    )


def invoice_pdf_url(info: Info, invoice_id: uuid.UUID) -> str:
    return pdf_url(info, DownloadKind.INVOICE, invoice_id)


def quote_pdf_url(info: Info, quote_id: uuid.UUID) -> str:
    return pdf_url(info, DownloadKind.QUOTE, quote_id)
