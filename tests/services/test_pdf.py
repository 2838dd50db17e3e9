"""PDFs are parsed back (pypdf) and show what their document says: number, dates, each
line, totals formatted at the currency's precision, the account's branding."""

from __future__ import annotations

import base64
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from PIL import Image
from pypdf import PdfReader

from models.accounts import Account
from models.enums import PaymentMethodKind, QuoteKind, StaffRole
from services.clients import ClientData, create_client
from services.invoices import InvoiceData, create_invoice, send_invoice
from services.lines import LineData
from services.payments import AllocationData, PaymentData, record_payment
from services.pdf.invoice import load_invoice_pdf, render_invoice
from services.pdf.layout import Branding, load_logo, parse_color, pdf_text
from services.pdf.quote import load_quote_pdf, render_quote
from services.pdf.statement import load_statement_pdf, render_statement
from services.quotes import QuoteData, create_quote, send_quote
from services.statements import StatementStatus, build_statement
from tests.conftest import as_work

D = Decimal
TODAY = datetime.now(UTC).date()
VALID_UNTIL = TODAY + timedelta(days=30)


def text_of(content: bytes) -> str:
    """The PDF's text, whitespace collapsed (a cell's text may wrap onto lines)."""
    reader = PdfReader(io.BytesIO(content))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def images_of(content: bytes) -> int:
    reader = PdfReader(io.BytesIO(content))
    return sum(len(page.images) for page in reader.pages)


def png(color=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), color).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
async def acme(session, tenant):
    actor = tenant.principals[StaffRole.ADMIN]
    account = await session.get(Account, actor.account_id)
    account.name = "Brightside Studio"
    account.primary_color = "#7C3AED"
    client = await create_client(
        session=session,
        actor=actor,
        data=ClientData(
            name="Jane Doe",
            company="Łódź Ősz Trading 日本",
            address="12 Harbour Road\nPortsmouth",
            currency="USD",
        ),
    )
    await session.commit()
    return actor, client


LINES = [
    LineData(
        description="Brand workshop \N{EN DASH} two days",
        quantity=D(2),
        unit_price=D("1250.00"),
        discount_percent=D(10),
        tax_rate=D("8.875"),
        tax_name="NY tax",
    ),
    LineData(description="Logo files (“final”)", quantity=D("3.5"), unit_price=D("19.99")),
    LineData(description="Hosting €, one year", quantity=D(1), unit_price=D("1000")),
]


async def test_invoice_pdf_shows_number_lines_and_totals(session, settings, acme):
    # given a sent invoice with three lines, partly paid
    actor, client = acme
    invoice = await create_invoice(
        session=session,
        actor=actor,
        data=InvoiceData(
            client_id=client.id,
            issue_date=date(2024, 3, 1),
            due_date=date(2024, 3, 31),
            po_number="PO-77",
            public_notes="Thank you for your business.",
            terms="Net 30.",
            lines=LINES,
        ),
    )
    invoice = await send_invoice(as_work(session), actor=actor, invoice_id=invoice.id)
    await record_payment(
        session=session,
        actor=actor,
        data=PaymentData(
            client_id=client.id,
            amount=D("1000"),
            method=PaymentMethodKind.CHECK,
            received_on=date(2024, 3, 10),
            allocations=[AllocationData(invoice.id, D("1000"))],
        ),
    )
    invoice.private_notes = "Client is slow to pay"
    await session.commit()
    # when its PDF is rendered and read back
    document = await load_invoice_pdf(session, invoice, upload_dir=settings.upload_dir)
    content = render_invoice(document)
    text = text_of(content)
    # then it is a PDF with the branding, number, dates and client
    assert content.startswith(b"%PDF-")
    assert document.filename == f"{invoice.number}.pdf"
    for expected in (
        "Brightside Studio",
        f"Invoice {invoice.number}",
        "2024-03-01",
        "2024-03-31",
        "PO-77",
        "Jane Doe",
        "Lódz Osz Trading ??",  # outside the built-in fonts: base letters, then "?"
        "12 Harbour Road",
    ):
        assert expected in text, expected
    # and every line with its amounts
    for expected in (
        "Brand workshop \N{EN DASH} two days",
        "1,250.00",  # unit price
        "250.00 (10%)",  # discount
        "199.69 (8.875% NY tax)",  # tax on 2,250.00
        "2,449.69",
        "Logo files (“final”)",
        "3.5",
        "69.97",
        "Hosting €, one year",
        "1,000.00",
    ):
        assert expected in text, expected
    # and the totals, formatted to the cent
    assert invoice.total == D("3519.66")
    for label, amount in (
        ("Subtotal", "3,569.97"),
        ("Discount", "-250.00"),
        ("Tax", "199.69"),
        ("Total (USD)", "3,519.66"),
        ("Amount paid", "1,000.00"),
        ("Balance due (USD)", "2,519.66"),
    ):
        assert f"{label} {amount}" in text, label
    assert "Thank you for your business." in text
    assert "Net 30." in text
    # and never what only staff may read
    assert "slow to pay" not in text


async def test_quote_pdf_shows_validity_terms_lines_and_totals(session, settings, acme):
    actor, client = acme
    quote = await create_quote(
        session=session,
        actor=actor,
        data=QuoteData(
            client_id=client.id,
            kind=QuoteKind.PROPOSAL,
            title="Website relaunch",
            currency="JPY",
            issue_date=TODAY,
            valid_until=VALID_UNTIL,
            terms="50% upfront.",
            lines=[
                LineData(description="Design", quantity=D(1), unit_price=D(150000)),
                LineData(description="Build", quantity=D(3), unit_price=D(98765)),
            ],
        ),
    )
    quote = await send_quote(as_work(session), actor=actor, quote_id=quote.id)
    await session.commit()

    document = await load_quote_pdf(session, quote, upload_dir=settings.upload_dir)
    text = text_of(render_quote(document))

    assert document.filename == f"{quote.number}.pdf"
    for expected in (
        f"Proposal {quote.number}",
        "Valid until",
        VALID_UNTIL.isoformat(),
        "Website relaunch",
        "Design",
        "150,000",  # yen have no minor unit
        "Build",
        "296,295",
        "Total (JPY) 446,295",
        "50% upfront.",
    ):
        assert expected in text, expected
    assert "446,295.00" not in text


async def test_statement_pdf_shows_period_balances_entries_and_aging(session, settings, acme):
    actor, client = acme
    invoices = []
    for issued, due, amount in (
        (date(2024, 1, 5), date(2024, 1, 20), "1200.00"),
        (date(2024, 3, 3), date(2024, 4, 2), "80.25"),
    ):
        invoice = await create_invoice(
            session=session,
            actor=actor,
            data=InvoiceData(
                client_id=client.id,
                issue_date=issued,
                due_date=due,
                lines=[LineData(description="Retainer", quantity=D(1), unit_price=D(amount))],
            ),
        )
        invoice = await send_invoice(as_work(session), actor=actor, invoice_id=invoice.id)
        invoices.append(invoice)
    await record_payment(
        session=session,
        actor=actor,
        data=PaymentData(
            client_id=client.id,
            amount=D("200"),
            method=PaymentMethodKind.BANK_TRANSFER,
            received_on=date(2024, 3, 12),
            allocations=[AllocationData(invoices[0].id, D("200"))],
        ),
    )
    await session.commit()

    statement = await build_statement(
        session=session,
        principal=actor,
        date_from=date(2024, 3, 1),
        date_to=date(2024, 3, 31),
        status=StatementStatus.ALL,
        client_id=client.id,
    )
    document = await load_statement_pdf(session, statement, upload_dir=settings.upload_dir)
    text = text_of(render_statement(document))

    assert document.filename == "statement-2024-03-01-2024-03-31-USD.pdf"
    for expected in (
        "Statement",
        "Brightside Studio",
        "Jane Doe",
        "2024-03-01 to 2024-03-31",
        "Opening balance 1,200.00",
        "Invoiced 80.25",
        "Payments and credits 200.00",
        "Closing balance (USD) 1,080.25",
        f"Invoice {invoices[1].number}",
        "80.25",
        "1,280.25",  # running balance after the invoice
        "-200.00",
        "Aging as of 2024-03-31",
    ):
        assert expected in text, expected
    # aging: 80.25 not yet due, 1,000.00 of the January invoice 71 days late
    aging_row = text[text.index("Over 90 days") :]
    assert "80.25 0.00 0.00 1,000.00 0.00 1,080.25" in aging_row


# --- branding ---------------------------------------------------------------------------


def test_logo_sources(tmp_path):
    uploads = tmp_path / "uploads"
    (uploads / "branding").mkdir(parents=True)
    (uploads / "branding" / "logo.png").write_bytes(png())
    (tmp_path / "secret.png").write_bytes(png((0, 0, 0)))
    # a file in the upload directory, by relative path, absolute path or file: URL
    assert load_logo("branding/logo.png", upload_dir=uploads) == png()
    assert load_logo(str(uploads / "branding" / "logo.png"), upload_dir=uploads) == png()
    assert load_logo((uploads / "branding" / "logo.png").as_uri(), upload_dir=uploads) == png()
    # never a file outside it, nor a non-image, nor anything remote
    assert load_logo("../secret.png", upload_dir=uploads) is None
    assert load_logo(str(tmp_path / "secret.png"), upload_dir=uploads) is None
    assert load_logo("/etc/passwd", upload_dir=uploads) is None
    assert load_logo("https://example.com/logo.png", upload_dir=uploads) is None
    assert load_logo("data:image/svg+xml;base64,PHN2Zy8+", upload_dir=uploads) is None
    assert load_logo("data:image/png;base64,not base64!", upload_dir=uploads) is None


async def test_branded_pdf_draws_the_logo_or_the_name(session, settings, acme, tmp_path):
    actor, client = acme
    invoice = await create_invoice(
        session=session,
        actor=actor,
        data=InvoiceData(client_id=client.id, lines=LINES[:1]),
    )
    account = await session.get(Account, actor.account_id)
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    (uploads / "logo.png").write_bytes(png())
    for logo_url, images in (
        ("logo.png", 1),
        ("data:image/png;base64," + base64.b64encode(png()).decode(), 1),
        ("https://example.com/logo.png", 0),  # never fetched
        ("data:image/png;base64," + base64.b64encode(b"not a png").decode(), 0),
    ):
        account.logo_url = logo_url
        document = await load_invoice_pdf(session, invoice, upload_dir=uploads)
        content = render_invoice(document)
        assert images_of(content) == images, logo_url
        assert "Brightside Studio" in text_of(content)
    # an unnumbered draft (staff preview) says so
    assert "Draft invoice" in text_of(content)
    assert document.filename == "invoice-draft.pdf"


WESTERN = "Crème brûlée \N{EN DASH} “ok” €5"


def test_brand_colours_and_text_fallbacks():
    assert parse_color("#7C3AED") == (124, 58, 237)
    assert parse_color("7c3aed") == (124, 58, 237)
    assert parse_color("red") == (47, 111, 235)  # the default brand colour
    assert pdf_text(WESTERN) == WESTERN
    assert pdf_text("Łukasz Őrs 日本\u200b\x07") == "Lukasz Ors ??"
    assert Branding("x", (0, 0, 0)).logo is None
