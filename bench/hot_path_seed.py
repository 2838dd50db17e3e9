"""A realistic account for ``python -m bench hot_path``, bulk-inserted in seconds.

One account, one admin, ``clients`` clients (two contacts each: a primary BILLING one and
a COLLABORATOR), ``invoices_per_client`` invoices each with ``lines`` lines, the payments
that paid them (allocated, so ``amount_paid`` and the statuses are what
``services.payments`` leaves), and a few quotes per client; a staff session and a
BILLING contact's session to call the API with.

Rows are built as the services build them — line amounts and document totals by
:func:`services.lines.build_lines` (the one money rule), numbers as
:func:`services.lines` numbers them — and written with SQLAlchemy core ``executemany``
(one ``INSERT`` per table and batch), not one unit of work per document. Dates spread
over two years up to now: older invoices are mostly paid, recent ones open (some
overdue), one in twenty voided, a few recent drafts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from models.accounts import Account, StaffUser
from models.auth import AuthSession
from models.clients import Client, Contact
from models.enums import (
    ContactRole,
    InvoiceStatus,
    PaymentMethodKind,
    PaymentStatus,
    QuoteKind,
    QuoteStatus,
    SessionKind,
    StaffRole,
)
from models.invoices import Invoice, InvoiceLine
from models.payments import Payment, PaymentAllocation
from models.quotes import Quote, QuoteLine
from models.types import utcnow
from services.lines import LineData, build_lines
from services.money import round_money
from services.planner_stats import refresh_planner_statistics

SEED_VERSION = 1
"""Bump when what is seeded changes: cached databases of other versions are not reused."""

PRICES = ("95.00", "120.00", "47.50", "1250.00", "12.99", "300.00", "8.25")
SPAN = timedelta(days=730)


@dataclass(frozen=True)
class SeedSize:
    clients: int = 200
    invoices_per_client: int = 50
    lines: int = 5
    quotes_per_client: int = 5


@dataclass(frozen=True)
class Seeded:
    """What the bench needs to call the API as the admin and as a BILLING contact."""

    account_id: str
    staff_session_id: str
    contact_session_id: str
    contact_client_id: str
    invoices: int
    lines: int
    payments: int
    quotes: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _rows(objects: list[Any]) -> list[dict[str, Any]]:
    if not objects:
        return []
    columns = [column.name for column in type(objects[0]).__table__.columns]
    return [{name: getattr(item, name) for name in columns} for item in objects]


def _invoice_status(index: int, count: int) -> InvoiceStatus:
    """Old invoices paid (a few left unpaid: overdue), recent ones mostly open."""
    age = index / count  # 0: the oldest, 1: the newest
    turn = index % 20
    if turn == 0:
        return InvoiceStatus.VOID
    if age > 0.97 and turn in (1, 2):
        return InvoiceStatus.DRAFT
    if age > 0.85:
        return (
            InvoiceStatus.PAID,
            InvoiceStatus.SENT,
            InvoiceStatus.VIEWED,
            InvoiceStatus.PARTIAL,
        )[turn % 4]
    if turn == 3:
        return InvoiceStatus.PARTIAL
    if turn == 4:
        return InvoiceStatus.SENT
    return InvoiceStatus.PAID


async def seed_account(
    engine: AsyncEngine, size: SeedSize = SeedSize(), *, now: datetime | None = None
) -> Seeded:
    """Insert the account into the migrated, empty database behind ``engine``, then
    refresh the planner's statistics (a database that has lived has them)."""
    now = now or utcnow()
    start = now - SPAN
    account = Account(name="Bench Studio", slug="bench", currency="USD", timezone="UTC")
    admin = StaffUser(
        account_id=account.id, email="admin@bench.test", name="Admin", role=StaffRole.ADMIN
    )
    clients, contacts = [], []
    for number in range(size.clients):
        client = Client(
            account_id=account.id,
            name=f"Client {number:03d}",
            company=f"Client {number:03d} Ltd",
            email=f"billing{number}@client.test",
            avatar_url=f"https://cdn.bench.test/avatars/{number}.png",
            currency="EUR" if number % 5 == 4 else "USD",
            created_at=start + timedelta(seconds=number),
        )
        clients.append(client)
        for role, name in ((ContactRole.BILLING, "billing"), (ContactRole.COLLABORATOR, "team")):
            contacts.append(
                Contact(
                    account_id=account.id,
                    client_id=client.id,
                    email=f"{name}{number}@client.test",
                    first_name=name.title(),
                    last_name=f"{number:03d}",
                    role=role,
                    is_primary=role is ContactRole.BILLING,
                )
            )
    invoices: list[Invoice] = []
    lines: list[Any] = []
    payments: list[Payment] = []
    allocations: list[PaymentAllocation] = []
    count = size.clients * size.invoices_per_client
    numbered = 0
    for index in range(count):
        client = clients[index % size.clients]
        created = start + SPAN * (index / count) + timedelta(microseconds=index)
        status = _invoice_status(index, count)
        invoice = Invoice(
            account_id=account.id,
            client_id=client.id,
            currency=client.currency,
            status=status,
            created_by_id=admin.id,
            created_at=created,
            updated_at=created,
        )
        lines += build_lines(
            InvoiceLine,
            "invoice_id",
            invoice,
            [
                LineData(
                    description=f"Consulting, part {position + 1}",
                    quantity=Decimal(1 + (index + position) % 8),
                    unit_price=Decimal(PRICES[(index * size.lines + position) % len(PRICES)]),
                    tax_rate=Decimal(10) if position == size.lines - 1 else Decimal(0),
                    tax_name="VAT" if position == size.lines - 1 else None,
                )
                for position in range(size.lines)
            ],
        )
        if status is not InvoiceStatus.DRAFT:
            numbered += 1
            invoice.number = f"INV-{numbered:04d}"
            invoice.issue_date = created.date()
            invoice.due_date = created.date() + timedelta(days=30)
            invoice.sent_at = created + timedelta(minutes=5)
        if status in (InvoiceStatus.VIEWED, InvoiceStatus.PARTIAL, InvoiceStatus.PAID):
            invoice.viewed_at = min(created + timedelta(hours=3), now)
        if status is InvoiceStatus.VOID:
            invoice.voided_at = min(created + timedelta(days=2), now)
        if status in (InvoiceStatus.PAID, InvoiceStatus.PARTIAL):
            amount = (
                invoice.total
                if status is InvoiceStatus.PAID
                else round_money(invoice.total / 2, invoice.currency)
            )
            received = min(created + timedelta(days=7), now - timedelta(minutes=1))
            payment = Payment(
                account_id=account.id,
                client_id=client.id,
                amount=amount,
                currency=invoice.currency,
                method=PaymentMethodKind.BANK_TRANSFER,
                status=PaymentStatus.COMPLETED,
                reference=f"TRF-{index:05d}",
                received_on=received.date(),
                created_by_id=admin.id,
                created_at=received,
                updated_at=received,
            )
            payments.append(payment)
            allocations.append(
                PaymentAllocation(
                    account_id=account.id,
                    payment_id=payment.id,
                    invoice_id=invoice.id,
                    amount=amount,
                    created_at=received,
                )
            )
            invoice.amount_paid = amount
            if status is InvoiceStatus.PAID:
                invoice.paid_at = received
        invoices.append(invoice)
    quotes: list[Quote] = []
    quote_lines: list[Any] = []
    quote_statuses = (
        QuoteStatus.SENT,
        QuoteStatus.VIEWED,
        QuoteStatus.APPROVED,
        QuoteStatus.DECLINED,
        QuoteStatus.DRAFT,
    )
    quote_count = size.clients * size.quotes_per_client
    for index in range(quote_count):
        client = clients[index % size.clients]
        created = now - timedelta(days=90) * (1 - index / quote_count) - timedelta(hours=1)
        quote_status = quote_statuses[(index // size.clients) % len(quote_statuses)]
        quote = Quote(
            account_id=account.id,
            client_id=client.id,
            kind=QuoteKind.PROPOSAL if index % 2 else QuoteKind.ESTIMATE,
            status=quote_status,
            currency=client.currency,
            title=f"Website phase {index % 7 + 1}",
            created_by_id=admin.id,
            created_at=created,
            updated_at=created,
        )
        if quote_status is not QuoteStatus.DRAFT:
            quote.number = f"Q-{index + 1:04d}"
            quote.issue_date = created.date()
            quote.valid_until = created.date() + timedelta(days=120)
            quote.sent_at = created + timedelta(minutes=5)
        if quote_status is QuoteStatus.VIEWED:
            quote.viewed_at = created + timedelta(hours=2)
        if quote_status is QuoteStatus.APPROVED:
            quote.approved_at = created + timedelta(days=1)
        if quote_status is QuoteStatus.DECLINED:
            quote.declined_at = created + timedelta(days=1)
        quote_lines += build_lines(
            QuoteLine,
            "quote_id",
            quote,
            [
                LineData(description="Design", quantity=Decimal(3), unit_price=Decimal("800.00")),
                LineData(
                    description="Build",
                    quantity=Decimal(index % 4 + 1),
                    unit_price=Decimal("1500.00"),
                ),
            ],
        )
        quotes.append(quote)
    account.next_invoice_number = numbered + 1
    account.next_quote_number = quote_count + 1
    billing = contacts[0]  # client 0's primary BILLING contact
    expires = now + timedelta(days=365)
    staff_session = AuthSession(
        account_id=account.id, kind=SessionKind.STAFF, staff_user_id=admin.id, expires_at=expires
    )
    contact_session = AuthSession(
        account_id=account.id, kind=SessionKind.CONTACT, contact_id=billing.id, expires_at=expires
    )
    tables: list[list[Any]] = [
        [account],
        [admin],
        clients,
        contacts,
        [staff_session, contact_session],
        invoices,
        lines,
        payments,
        allocations,
        quotes,
        quote_lines,
    ]
    async with engine.begin() as connection:
        for objects in tables:
            table = type(objects[0]).__table__ if objects else None
            if table is None:
                continue
            rows = _rows(objects)
            for offset in range(0, len(rows), 5000):
                await connection.execute(insert(table), rows[offset : offset + 5000])
    async with engine.connect() as connection:
        await connection.run_sync(refresh_planner_statistics, after_migration=True)
        await connection.commit()
    return Seeded(
        account_id=str(account.id),
        staff_session_id=str(staff_session.id),
        contact_session_id=str(contact_session.id),
        contact_client_id=str(billing.client_id),
        invoices=len(invoices),
        lines=len(lines),
        payments=len(payments),
        quotes=len(quotes),
    )
