"""The invoice PDF."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.accounts import Account
from models.clients import Client
from models.enums import InvoiceStatus
from models.invoices import Invoice, InvoiceLine
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
class InvoicePdf:
    branding: Branding
    client: Party
    invoice: Invoice
    lines: list[InvoiceLine]

    @property
    def filename(self) -> str:
        return f"{self.invoice.number or 'invoice-draft'}.pdf"


async def load_invoice_pdf(
    session: AsyncSession, invoice: Invoice, *, upload_dir: Path, storage: Storage | None = None
) -> InvoicePdf:
    """What the PDF of ``invoice`` shows; the caller has already scoped ``invoice``."""
    account = await session.get(Account, invoice.account_id)
    client = await session.get(Client, invoice.client_id)
    if account is None or client is None:  # pragma: no cover - foreign keys hold both
        raise LookupError("invoice without account or client")
    lines = (
        await session.exec(
            select(InvoiceLine)
            .where(InvoiceLine.invoice_id == invoice.id)
            .order_by(col(InvoiceLine.position))
        )
    ).all()
    return InvoicePdf(
        await branding_for(account, upload_dir=upload_dir, storage=storage),
        Party.of(client),
        invoice,
        list(lines),
    )


def render_invoice(document: InvoicePdf) -> bytes:
    invoice = document.invoice
    currency = invoice.currency
    money = partial(format_amount, currency=currency)
    title = f"Invoice {invoice.number}" if invoice.number else "Draft invoice"
    pdf = BrandedPDF(document.branding, title=title)
    facts = [
        ("Invoice number", invoice.number or "Draft"),
        ("Issue date", format_date(invoice.issue_date)),
        ("Due date", format_date(invoice.due_date)),
    ]
    if invoice.po_number:
        facts.append(("PO number", invoice.po_number))
    facts.append(("Currency", currency))
    if invoice.status is InvoiceStatus.VOID:
        facts.append(("Status", "VOID"))
    pdf.address_and_facts("Bill to", document.client, facts)
    pdf.table_of(
        LINE_HEADINGS,
        [line_cells(line, currency) for line in document.lines],
        widths=LINE_WIDTHS,
        aligns=LINE_ALIGNS,
    )
    totals = [("Subtotal", money(invoice.subtotal))]
    if invoice.discount_total:
        totals.append(("Discount", money(-invoice.discount_total)))
    totals += [("Tax", money(invoice.tax_total)), (f"Total ({currency})", money(invoice.total))]
    totals.append(("Amount paid", money(invoice.amount_paid)))
    if invoice.credits_applied:
        totals.append(("Credits applied", money(invoice.credits_applied)))
    totals.append((f"Balance due ({currency})", money(invoice.balance)))
    if invoice.deposit_amount:
        due = f" by {format_date(invoice.deposit_due_date)}" if invoice.deposit_due_date else ""
        totals.append((f"Deposit{due}", money(invoice.deposit_amount)))
    pdf.totals(totals, emphasis=(f"Total ({currency})", f"Balance due ({currency})"))
    pdf.section("Notes", invoice.public_notes)
    pdf.section("Terms", invoice.terms)
    return pdf.to_bytes()
