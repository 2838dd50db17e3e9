"""One money formatter (services.money.format_money): Babel's style for the locale, the
currency's precision, half-up rounding; mails and PDFs show what it writes."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest

from models.clients import Contact
from models.enums import PaymentMethodKind, StaffRole
from services.clients import ClientData, create_client
from services.errors import BadInput
from services.invoices import InvoiceData, create_invoice, send_invoice
from services.lines import LineData
from services.mail import rendering
from services.money import format_money
from services.payments import AllocationData, PaymentData, record_payment
from services.pdf.invoice import load_invoice_pdf, render_invoice
from tests.conftest import as_work
from tests.services.test_pdf import text_of

D = Decimal


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (D("1234.5"), "USD", "$1,234.50"),
        (D("100.0000"), "USD", "$100.00"),  # never the stored scale
        (D("1500"), "JPY", "¥1,500"),  # yen have no minor unit
        (D("1234.5"), "JPY", "¥1,235"),  # half up, to the yen
        (D("1234.5"), "EUR", "€1,234.50"),
        (D("1.2345"), "KWD", "KWD1.235"),  # three decimals, half up
        (D("0.125"), "USD", "$0.13"),  # half up, where Babel alone gives $0.12
        (D("-0.125"), "USD", "-$0.13"),  # half up is away from zero
        (D("-5"), "USD", "-$5.00"),
        (D("-0.001"), "USD", "$0.00"),  # no "-$0.00"
    ],
)
def test_format_money_in_en_us(amount, currency, expected):
    assert format_money(amount, currency) == expected


def test_format_money_in_another_locale():
    assert format_money(D("1234.5"), "EUR", locale="de_DE") == "1.234,50\N{NO-BREAK SPACE}€"
    assert format_money(D("-1234.565"), "EUR", locale="de_DE") == "-1.234,57\N{NO-BREAK SPACE}€"
    assert format_money(D("1500"), "JPY", locale="ja_JP") == "￥1,500"


def test_format_money_without_the_symbol_keeps_the_locale_style():
    assert format_money(D("1234.5"), "USD", symbol=False) == "1,234.50"
    assert format_money(D("-250"), "USD", symbol=False) == "-250.00"
    assert format_money(D("1234.5"), "JPY", symbol=False) == "1,235"
    assert format_money(D("1234.5"), "EUR", locale="de_DE", symbol=False) == "1.234,50"


def test_mail_templates_format_money_with_the_same_function():
    template = rendering._environment.from_string(
        "{{ total|money(currency) }} / {{ total|money('EUR', locale='de_DE') }}"
    )
    assert template.render(total=D("1234.5"), currency="USD") == (
        f"{format_money(D('1234.5'), 'USD')} / {format_money(D('1234.5'), 'EUR', locale='de_DE')}"
    )


def contact(first_name: str = "", last_name: str = "") -> Contact:
    return Contact(
        account_id=uuid.uuid4(),
        client_id=uuid.uuid4(),
        email="jo@x.test",
        first_name=first_name,
        last_name=last_name,
    )


def test_a_contact_is_shown_by_name_or_else_by_email():
    assert contact(first_name="Jo", last_name="Bloggs").display_name == "Jo Bloggs"
    assert contact(first_name="Jo").display_name == "Jo"
    assert contact(last_name="Bloggs").display_name == "Bloggs"
    assert contact(first_name=" ", last_name="").display_name == "jo@x.test"
    assert contact().display_name == "jo@x.test"


async def sent_invoice(session, tenant, unit_price: Decimal):
    actor = tenant.principals[StaffRole.ADMIN]
    client = await create_client(
        session=session, actor=actor, data=ClientData(name="Jane Doe", currency="USD")
    )
    invoice = await create_invoice(
        session=session,
        actor=actor,
        data=InvoiceData(
            client_id=client.id,
            issue_date=date(2024, 3, 1),
            lines=[
                LineData(
                    description="Workshop",
                    quantity=D(3),
                    unit_price=unit_price,
                    discount_percent=D(10),
                    tax_rate=D("8.875"),
                )
            ],
        ),
    )
    invoice = await send_invoice(as_work(session), actor=actor, invoice_id=invoice.id)
    await session.commit()
    return actor, invoice


async def test_a_refused_allocation_shows_the_balance_as_format_money_writes(session, tenant):
    # given a sent invoice of 3,629.11
    actor, invoice = await sent_invoice(session, tenant, D("1234.55"))
    # when a payment puts more than its balance on it
    with pytest.raises(BadInput) as refused:
        await record_payment(
            session=session,
            actor=actor,
            data=PaymentData(
                client_id=invoice.client_id,
                amount=D(5000),
                method=PaymentMethodKind.CHECK,
                allocations=[AllocationData(invoice.id, D(5000))],
            ),
        )
    # then the message shows the balance formatted, not the stored 3629.1100
    assert refused.value.message == "The amount exceeds the invoice's balance of $3,629.11."


async def test_the_invoice_pdf_shows_the_totals_format_money_writes(session, settings, tenant):
    # given a sent USD invoice whose total needs grouping and half-up rounding
    _, invoice = await sent_invoice(session, tenant, D("1234.55"))
    # when its PDF is rendered and read back
    document = await load_invoice_pdf(session, invoice, upload_dir=settings.upload_dir)
    text = text_of(render_invoice(document))
    # then each total reads as format_money writes it (the currency named in the label)
    total = format_money(invoice.total, "USD", symbol=False)
    assert total == "3,629.11"  # 3,703.65 - 370.37 + 295.83
    assert f"Total (USD) {total}" in text
    assert f"Balance due (USD) {format_money(invoice.balance, 'USD', symbol=False)}" in text
    assert f"Discount {format_money(-invoice.discount_total, 'USD', symbol=False)}" in text
