"""The statement PDF: period, balances, every entry with its running balance, aging."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

from sqlmodel.ext.asyncio.session import AsyncSession

from models.accounts import Account
from services.pdf.layout import (
    BrandedPDF,
    Branding,
    Party,
    branding_for,
    format_amount,
    format_date,
)
from services.statements import EntryKind, Statement, StatementStatus
from services.storage.base import Storage

KIND_LABELS = {
    EntryKind.INVOICE: "Invoice",
    EntryKind.PAYMENT: "Payment",
    EntryKind.CREDIT: "Credit",
    EntryKind.REFUND: "Refund",
}
STATUS_LABELS = {
    StatementStatus.ALL: "All invoices",
    StatementStatus.PAID: "Paid invoices",
    StatementStatus.UNPAID: "Unpaid invoices",
}


@dataclass(frozen=True, slots=True)
class StatementPdf:
    branding: Branding
    statement: Statement

    @property
    def filename(self) -> str:
        statement = self.statement
        return (
            f"statement-{statement.date_from.isoformat()}-{statement.date_to.isoformat()}"
            f"-{statement.currency}.pdf"
        )


async def load_statement_pdf(
    session: AsyncSession,
    statement: Statement,
    *,
    upload_dir: Path,
    storage: Storage | None = None,
) -> StatementPdf:
    account = await session.get(Account, statement.client.account_id)
    if account is None:  # pragma: no cover - the client's account exists
        raise LookupError("statement without account")
    branding = await branding_for(account, upload_dir=upload_dir, storage=storage)
    return StatementPdf(branding, statement)


def render_statement(document: StatementPdf) -> bytes:
    statement = document.statement
    currency = statement.currency
    money = partial(format_amount, currency=currency)
    pdf = BrandedPDF(document.branding, title="Statement")
    pdf.address_and_facts(
        "Statement for",
        Party.of(statement.client),
        [
            ("Period", f"{format_date(statement.date_from)} to {format_date(statement.date_to)}"),
            ("Showing", STATUS_LABELS[statement.status]),
            ("Currency", currency),
            ("Generated", statement.generated_at.date().isoformat()),
        ],
    )
    pdf.totals(
        [
            ("Opening balance", money(statement.opening_balance)),
            ("Invoiced", money(statement.invoiced)),
            ("Payments and credits", money(statement.received)),
            (f"Closing balance ({currency})", money(statement.closing_balance)),
        ],
        emphasis=(f"Closing balance ({currency})",),
    )
    rows = [
        [
            format_date(statement.date_from),
            "",
            "",
            "Opening balance",
            "",
            money(statement.opening_balance),
        ],
    ]
    rows += [
        [
            format_date(entry.on),
            KIND_LABELS[entry.kind],
            entry.number or "-",
            entry.description,
            money(entry.amount),
            money(entry.balance),
        ]
        for entry in statement.entries
    ]
    rows.append(
        [
            format_date(statement.date_to),
            "",
            "",
            "Closing balance",
            "",
            money(statement.closing_balance),
        ]
    )
    pdf.table_of(
        ("Date", "Type", "Number", "Description", "Amount", "Balance"),
        rows,
        widths=(22, 18, 24, 64, 28, 29),
        aligns=("LEFT", "LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT"),
        bold_rows=(0, len(rows) - 1),
    )
    aging = statement.aging
    pdf.subtitle(f"Aging as of {format_date(statement.date_to)}")
    pdf.table_of(
        ("Current", "1-30 days", "31-60 days", "61-90 days", "Over 90 days", "Total"),
        [
            [
                money(aging.current),
                money(aging.days_1_30),
                money(aging.days_31_60),
                money(aging.days_61_90),
                money(aging.over_90),
                money(aging.total),
            ]
        ],
        widths=(1, 1, 1, 1, 1, 1),
        aligns=("RIGHT",) * 6,
    )
    return pdf.to_bytes()
