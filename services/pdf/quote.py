"""The quote (estimate or proposal) PDF."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.accounts import Account
from models.clients import Client
from models.enums import QuoteKind
from models.quotes import Quote, QuoteLine
from services.pdf.layout import (
    LINE_ALIGNS,
    LINE_HEADINGS,
    LINE_WIDTHS,
    BrandedPDF,
    Branding,
    Party,
    branding_for,
    format_amount,
    format_date,
    line_cells,
)
from services.storage.base import Storage


@dataclass(frozen=True, slots=True)
class QuotePdf:
    branding: Branding
    client: Party
    quote: Quote
    lines: list[QuoteLine]
    account_terms: str | None = None

    @property
    def filename(self) -> str:
        return f"{self.quote.number or 'quote-draft'}.pdf"


async def load_quote_pdf(
    session: AsyncSession, quote: Quote, *, upload_dir: Path, storage: Storage | None = None
) -> QuotePdf:
    """What the PDF of ``quote`` shows; the caller has already scoped ``quote``."""
    account = await session.get(Account, quote.account_id)
    client = await session.get(Client, quote.client_id)
    if account is None or client is None:  # pragma: no cover - foreign keys hold both
        raise LookupError("quote without account or client")
    lines = (
        await session.exec(
            select(QuoteLine)
            .where(QuoteLine.quote_id == quote.id)
            .order_by(col(QuoteLine.position))
        )
    ).all()
    return QuotePdf(
        await branding_for(account, upload_dir=upload_dir, storage=storage),
        Party.of(client),
        quote,
        list(lines),
        account_terms=account.quote_terms,
    )


def render_quote(document: QuotePdf) -> bytes:
    quote = document.quote
    currency = quote.currency
    money = partial(format_amount, currency=currency)
    kind = "Proposal" if quote.kind is QuoteKind.PROPOSAL else "Estimate"
    pdf = BrandedPDF(document.branding, title=f"{kind} {quote.number or '(draft)'}")
    facts = [
        (f"{kind} number", quote.number or "Draft"),
        ("Issue date", format_date(quote.issue_date)),
        ("Valid until", format_date(quote.valid_until)),
    ]
    if quote.po_number:
        facts.append(("PO number", quote.po_number))
    facts.append(("Currency", currency))
    pdf.address_and_facts("Prepared for", document.client, facts)
    if quote.title:
        pdf.subtitle(quote.title)
    pdf.table_of(
        LINE_HEADINGS,
        [line_cells(line, currency) for line in document.lines],
        widths=LINE_WIDTHS,
        aligns=LINE_ALIGNS,
    )
    totals = [("Subtotal", money(quote.subtotal))]
    if quote.discount_total:
        totals.append(("Discount", money(-quote.discount_total)))
    totals += [("Tax", money(quote.tax_total)), (f"Total ({currency})", money(quote.total))]
    pdf.totals(totals, emphasis=(f"Total ({currency})",))
    pdf.section("Notes", quote.public_notes)
    pdf.section("Terms", quote.terms or document.account_terms)
    return pdf.to_bytes()
