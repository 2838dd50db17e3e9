"""The client's answer to a quote, below the API: the activity timeline, who counts as
having viewed it, and approvals racing on separate connections."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import col, select

from auth.principals import ContactPrincipal
from models.accounts import Account
from models.activity import Activity
from models.clients import Contact
from models.enums import ActorKind, ContactRole, Module, QuoteStatus, StaffRole
from models.events import OutboxEvent
from models.invoices import Invoice, InvoiceLine
from models.quotes import Quote, QuoteLine
from services import quotes
from services.clients import ClientData, ContactData, create_client
from services.errors import Conflict, Forbidden
from services.lines import LineData
from services.quotes import ApprovalData, QuoteData
from services.unit_of_work import begin_write
from tests.conftest import as_work

ADDRESS = "198.51.100.23"


async def sent_quote(runtime, tenant, client_id, *, lines=None):
    staff = tenant.principals[StaffRole.ADMIN]
    async with runtime.sessions() as session:
        quote = await quotes.create_quote(
            session=session,
            actor=staff,
            data=QuoteData(
                client_id=client_id,
                lines=lines or [LineData("Website redesign", Decimal(1), Decimal("1500.00"))],
            ),
        )
        await quotes.send_quote(as_work(session, runtime), actor=staff, quote_id=quote.id)
        await session.commit()
    return quote.id


async def billing_contact(runtime, tenant, name="Acme Corp"):
    """A client with a billing contact, and that contact's principal."""
    staff = tenant.principals[StaffRole.ADMIN]
    slug = name.split()[0].lower()
    async with runtime.sessions() as session:
        client = await create_client(
            session=session,
            actor=staff,
            data=ClientData(name=name),
            contacts=[ContactData(email=f"billing@{slug}.test", role=ContactRole.BILLING)],
        )
        contact = (await session.exec(select(Contact).where(Contact.client_id == client.id))).one()
        await session.commit()
    return ContactPrincipal(
        account_id=tenant.account_id,
        contact_id=contact.id,
        client_id=client.id,
        role=ContactRole.BILLING,
        modules=frozenset(Module),
        session_id=uuid.uuid4(),
    )


def view_as(contact, tenant):
    """The same contact seen by staff through "view as client" (read-only)."""
    return ContactPrincipal(
        account_id=contact.account_id,
        contact_id=contact.contact_id,
        client_id=contact.client_id,
        role=contact.role,
        modules=contact.modules,
        session_id=uuid.uuid4(),
        read_only=True,
        viewer_staff_id=tenant.principals[StaffRole.ADMIN].user_id,
    )


async def timeline(runtime, client_id):
    async with runtime.sessions() as session:
        return (
            await session.exec(
                select(Activity)
                .where(Activity.client_id == client_id, Activity.verb != "client.created")
                .order_by(col(Activity.created_at), col(Activity.verb))
            )
        ).all()


async def count(runtime, model, *conditions):
    async with runtime.sessions() as session:
        return (
            await session.exec(select(func.count()).select_from(model).where(*conditions))
        ).one()


async def test_every_answer_is_on_the_clients_timeline_with_its_actor(runtime, tenant):
    # given a sent quote
    contact = await billing_contact(runtime, tenant)
    quote_id = await sent_quote(runtime, tenant, contact.client_id)
    # when the billing contact opens it and approves it with a signature and a PO
    async with runtime.sessions() as session:
        await quotes.mark_quote_viewed(session=session, actor=contact, quote_id=quote_id)
        await session.commit()
    async with runtime.sessions() as session:
        approval = await quotes.approve_quote(
            as_work(session, runtime),
            actor=contact,
            quote_id=quote_id,
            data=ApprovalData(accept_terms=True, po_number="PO-9", signature_name="Jane Doe"),
            client_address=ADDRESS,
        )
        await session.commit()
    assert approval.invoice is not None
    # then each step is an entry the client can see, by the contact (sending by staff)
    entries = [
        (row.verb, row.actor_kind, row.actor_id, row.visible_to_client, row.details)
        for row in await timeline(runtime, contact.client_id)
        if row.verb != "quote.created"
    ]
    staff_id = tenant.principals[StaffRole.ADMIN].user_id
    by_contact = (ActorKind.CONTACT, contact.contact_id, True)
    assert sorted(entries, key=lambda entry: entry[0]) == sorted(
        [
            ("quote.sent", ActorKind.STAFF, staff_id, True, {"number": "Q-0001"}),
            ("quote.viewed", *by_contact, {"number": "Q-0001"}),
            (
                "quote.approved",
                *by_contact,
                {
                    "number": "Q-0001",
                    "po_number": "PO-9",
                    "signature_name": "Jane Doe",
                    "terms_accepted": True,
                },
            ),
            (
                "invoice.created",
                *by_contact,
                {
                    "number": "INV-0001",
                    "source": "quote",
                    "quote_id": str(quote_id),
                    "quote_number": "Q-0001",
                },
            ),
            ("invoice.sent", *by_contact, {"number": "INV-0001", "source": "quote"}),
            (
                "quote.converted",
                *by_contact,
                {
                    "number": "Q-0001",
                    "invoice_id": str(approval.invoice.id),
                    "invoice_number": "INV-0001",
                },
            ),
        ],
        key=lambda entry: entry[0],
    )
    # and partners subscribed to invoice changes hear about the new invoice
    assert (
        await count(
            runtime,
            OutboxEvent,
            OutboxEvent.subject_id == approval.invoice.id,
            OutboxEvent.kind == "invoice.created",
        )
        == 1
    )
    # and the signature is stored with its time and address
    async with runtime.sessions() as session:
        stored = await session.get(Quote, quote_id)
    assert (stored.signature_name, stored.signature_ip) == ("Jane Doe", ADDRESS)
    assert stored.signature_at == stored.approved_at == stored.terms_accepted_at
    assert stored.converted_invoice_id == approval.invoice.id


async def test_a_decline_is_on_the_timeline_with_its_reason(runtime, tenant):
    contact = await billing_contact(runtime, tenant)
    quote_id = await sent_quote(runtime, tenant, contact.client_id)
    async with runtime.sessions() as session:
        await quotes.decline_quote(
            session=session, actor=contact, quote_id=quote_id, reason=" Too expensive "
        )
        await session.commit()
    declined = [
        row for row in await timeline(runtime, contact.client_id) if row.verb == "quote.declined"
    ]
    assert [
        (row.actor_kind, row.actor_id, row.visible_to_client, row.details) for row in declined
    ] == [
        (
            ActorKind.CONTACT,
            contact.contact_id,
            True,
            {"number": "Q-0001", "reason": "Too expensive"},
        )
    ]


async def test_staff_and_view_as_never_count_as_the_client_viewing(runtime, tenant):
    contact = await billing_contact(runtime, tenant)
    quote_id = await sent_quote(runtime, tenant, contact.client_id)
    for actor in (tenant.principals[StaffRole.ADMIN], view_as(contact, tenant)):
        async with runtime.sessions() as session:
            quote = await quotes.mark_quote_viewed(session=session, actor=actor, quote_id=quote_id)
            await session.commit()
        assert (quote.status, quote.viewed_at) == (QuoteStatus.SENT, None)
    assert await count(runtime, Activity, Activity.verb == "quote.viewed") == 0


async def test_view_as_cannot_approve_or_decline_even_below_the_api(runtime, tenant):
    contact = await billing_contact(runtime, tenant)
    quote_id = await sent_quote(runtime, tenant, contact.client_id)
    read_only = view_as(contact, tenant)
    async with runtime.sessions() as session:
        with pytest.raises(Forbidden):
            await quotes.approve_quote(
                as_work(session, runtime),
                actor=read_only,
                quote_id=quote_id,
                data=ApprovalData(),
                client_address=ADDRESS,
            )
        with pytest.raises(Forbidden):
            await quotes.decline_quote(
                session=session, actor=read_only, quote_id=quote_id, reason=None
            )
        stored = await session.get(Quote, quote_id)
        assert stored.status is QuoteStatus.SENT


async def test_conversion_copies_the_lines_as_approved(runtime, tenant):
    # given a quote of three lines with discounts and tax
    contact = await billing_contact(runtime, tenant)
    lines = [
        LineData("Widgets", Decimal(3), Decimal("19.99"), Decimal(10), Decimal("8.875"), "NY"),
        LineData("Hours", Decimal("2.5"), Decimal("10.01"), unit_cost=Decimal("4.00")),
        LineData("Setup", Decimal(1), Decimal("250.00")),
    ]
    quote_id = await sent_quote(runtime, tenant, contact.client_id, lines=lines)
    # when it is approved
    async with runtime.sessions() as session:
        approval = await quotes.approve_quote(
            as_work(session, runtime),
            actor=contact,
            quote_id=quote_id,
            data=ApprovalData(),
            client_address=ADDRESS,
        )
        await session.commit()
    assert approval.invoice is not None
    # then the invoice's lines and totals are the quote's, field for field
    async with runtime.sessions() as session:
        quote = await session.get(Quote, quote_id)
        invoice = await session.get(Invoice, approval.invoice.id)
        invoice_lines = (
            await session.exec(
                select(InvoiceLine)
                .where(InvoiceLine.invoice_id == invoice.id)
                .order_by(col(InvoiceLine.position))
            )
        ).all()
        quote_lines = await quotes_lines(session, quote_id)
    copied = [
        "position",
        "description",
        "quantity",
        "unit_price",
        "unit_cost",
        "discount_percent",
        "tax_name",
        "tax_rate",
        "line_subtotal",
        "line_discount",
        "line_tax",
        "line_total",
    ]
    assert [[getattr(row, name) for name in copied] for row in invoice_lines] == [
        [getattr(row, name) for name in copied] for row in quote_lines
    ]
    totals = ["currency", "subtotal", "discount_total", "tax_total", "total"]
    assert [getattr(invoice, name) for name in totals] == [getattr(quote, name) for name in totals]
    assert (invoice.quote_id, invoice.client_id, invoice.amount_paid) == (
        quote_id,
        contact.client_id,
        Decimal(0),
    )
    assert invoice.issue_date == datetime.now(UTC).date()


async def quotes_lines(session, quote_id):
    return (
        await session.exec(
            select(QuoteLine)
            .where(QuoteLine.quote_id == quote_id)
            .order_by(col(QuoteLine.position))
        )
    ).all()


def test_a_quote_expires_after_its_last_day_where_the_business_is():
    now = datetime.now(UTC)
    # far east of UTC the date is already tomorrow for part of the day, far west yesterday
    assert quotes.local_today("Pacific/Kiritimati") == (now + timedelta(hours=14)).date()
    assert quotes.local_today("Etc/GMT+12") == (now - timedelta(hours=12)).date()
    # an unset or unknown zone counts as UTC
    assert quotes.local_today(None) == now.date()
    assert quotes.local_today("Mars/Olympus_Mons") == now.date()
    assert quotes.local_today("../etc/passwd") == now.date()
    # and the valid-until day itself is still valid
    quote = Quote(account_id=uuid.uuid4(), client_id=uuid.uuid4(), currency="USD")
    quote.valid_until = now.date()
    assert not quotes.is_expired(quote, now.date())
    assert quotes.is_expired(quote, now.date() + timedelta(days=1))


# --- concurrency: separate sessions, separate connections -----------------------------

HOLD = 0.05
"""Seconds each racer keeps its transaction open after its answer, so the others queue
behind it (PostgreSQL: on the row lock; SQLite: on the database write lock)."""


async def approve_in_own_transaction(runtime, actor, quote_id):
    async with runtime.sessions() as session:
        await begin_write(session)  # as every mutation's transaction does (atomic)
        approval = await quotes.approve_quote(
            as_work(session, runtime),
            actor=actor,
            quote_id=quote_id,
            data=ApprovalData(signature_name="Racer"),
            client_address=ADDRESS,
        )
        await asyncio.sleep(HOLD)
        await session.commit()
    return approval


async def decline_in_own_transaction(runtime, actor, quote_id):
    async with runtime.sessions() as session:
        await begin_write(session)  # as every mutation's transaction does (atomic)
        quote = await quotes.decline_quote(
            session=session, actor=actor, quote_id=quote_id, reason="No"
        )
        await asyncio.sleep(HOLD)
        await session.commit()
    return quote


async def test_concurrent_approvals_create_exactly_one_invoice(runtime, tenant):
    # given a sent quote and five approvals of it on five connections at once
    contact = await billing_contact(runtime, tenant)
    quote_id = await sent_quote(runtime, tenant, contact.client_id)
    results = await asyncio.gather(
        *(approve_in_own_transaction(runtime, contact, quote_id) for _ in range(5))
    )
    # then every approval succeeded and answered the same invoice
    invoice_ids = {result.invoice.id for result in results if result.invoice is not None}
    assert len(invoice_ids) == 1
    assert all(result.quote.status is QuoteStatus.CONVERTED for result in results)
    # and the database holds one invoice, one approval, and one used number
    assert await count(runtime, Invoice) == 1
    assert await count(runtime, Activity, Activity.verb == "quote.approved") == 1
    assert await count(runtime, Activity, Activity.verb == "invoice.created") == 1
    async with runtime.sessions() as session:
        account = await session.get(Account, tenant.account_id)
        quote = await session.get(Quote, quote_id)
    assert account.next_invoice_number == 2
    assert quote.converted_invoice_id in invoice_ids


async def test_an_approval_racing_a_decline_settles_the_quote_once(runtime, tenant):
    contact = await billing_contact(runtime, tenant)
    for _ in range(3):
        quote_id = await sent_quote(runtime, tenant, contact.client_id)
        results: tuple[Any, Any] = await asyncio.gather(
            approve_in_own_transaction(runtime, contact, quote_id),
            decline_in_own_transaction(runtime, contact, quote_id),
            return_exceptions=True,
        )
        approval, decline = results
        # then exactly one of them won, and the loser was told the quote was answered
        outcomes = [isinstance(result, Conflict) for result in (approval, decline)]
        assert sorted(outcomes) == [False, True], (approval, decline)
        async with runtime.sessions() as session:
            quote = await session.get(Quote, quote_id)
            invoices = await count(runtime, Invoice, Invoice.quote_id == quote_id)
        if isinstance(decline, Conflict):
            assert quote.status is QuoteStatus.CONVERTED
            assert invoices == 1
        else:
            assert (quote.status, quote.approved_at, quote.signature_name) == (
                QuoteStatus.DECLINED,
                None,
                None,
            )
            assert invoices == 0
