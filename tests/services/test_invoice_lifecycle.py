"""The invoice lifecycle in services/invoices.py: who counts as viewing an invoice, the
derived overdue state (in Python and in SQL), what is due, and the status that follows
the money applied."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from auth.principals import ContactPrincipal, PartnerPrincipal
from models.activity import Activity
from models.clients import Client, Contact
from models.enums import ActorKind, ContactRole, InvoiceStatus, Module, StaffRole
from models.invoices import Invoice
from services.errors import NotFound
from services.invoices import (
    InvoiceFilter,
    amount_due,
    is_overdue,
    list_invoices,
    mark_invoice_viewed,
    settle_status,
)

TODAY = datetime.now(UTC).date()
YESTERDAY = TODAY - timedelta(days=1)
NEXT_MONTH = TODAY + timedelta(days=30)


def invoice(**fields) -> Invoice:
    values = {
        "account_id": uuid.uuid4(),
        "client_id": uuid.uuid4(),
        "currency": "USD",
        "status": InvoiceStatus.SENT,
        "total": Decimal("100.00"),
    }
    return Invoice(**{**values, **fields})


# --- derived state ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "overdue"),
    [
        ({}, False),
        ({"due_date": YESTERDAY}, True),
        ({"due_date": TODAY}, False),
        ({"due_date": YESTERDAY, "amount_paid": Decimal("100.00")}, False),
        ({"due_date": YESTERDAY, "status": InvoiceStatus.DRAFT}, False),
        ({"due_date": YESTERDAY, "status": InvoiceStatus.VOID}, False),
        ({"due_date": YESTERDAY, "status": InvoiceStatus.PARTIAL}, True),
        # a late deposit makes it overdue before its own due date...
        (
            {"due_date": NEXT_MONTH, "deposit_amount": Decimal(30), "deposit_due_date": YESTERDAY},
            True,
        ),
        # ...while the deposit is not covered by payments and credits together
        (
            {
                "due_date": NEXT_MONTH,
                "deposit_amount": Decimal(30),
                "deposit_due_date": YESTERDAY,
                "amount_paid": Decimal(20),
                "credits_applied": Decimal(10),
            },
            False,
        ),
        (
            {"deposit_amount": Decimal(30), "deposit_due_date": YESTERDAY, "amount_paid": 29},
            True,
        ),
        ({"deposit_amount": Decimal(30), "deposit_due_date": TODAY}, False),
        ({"deposit_amount": Decimal(30)}, False),
    ],
)
def test_is_overdue(fields, overdue):
    assert is_overdue(invoice(**fields), TODAY) is overdue


@pytest.mark.parametrize(
    ("fields", "due"),
    [
        ({}, "100.00"),
        ({"deposit_amount": Decimal(30)}, "30.00"),
        ({"deposit_amount": Decimal(30), "amount_paid": Decimal(10)}, "20.00"),
        ({"deposit_amount": Decimal(30), "credits_applied": Decimal(30)}, "70.00"),
        ({"amount_paid": Decimal(60)}, "40.00"),
        ({"status": InvoiceStatus.DRAFT}, "0"),
        ({"status": InvoiceStatus.VOID}, "0"),
        ({"status": InvoiceStatus.PAID, "amount_paid": Decimal(100)}, "0"),
    ],
)
def test_amount_due_is_the_unpaid_deposit_else_the_balance(fields, due):
    assert amount_due(invoice(**fields)) == Decimal(due)


def settled(row: Invoice) -> tuple[InvoiceStatus, bool]:
    settle_status(row)
    return row.status, row.paid_at is not None


def test_status_follows_the_money_applied():
    row = invoice()
    row.amount_paid = Decimal(40)
    assert settled(row) == (InvoiceStatus.PARTIAL, False)
    row.credits_applied = Decimal(60)
    assert settled(row) == (InvoiceStatus.PAID, True)
    # money taken back reopens it, as VIEWED when the client had opened it
    row.viewed_at = datetime.now(UTC)
    row.amount_paid = row.credits_applied = Decimal(0)
    assert settled(row) == (InvoiceStatus.VIEWED, False)
    # drafts and voids never move
    for status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
        held = invoice(status=status, amount_paid=Decimal(100))
        settle_status(held)
        assert held.status is status


async def test_the_overdue_filter_agrees_with_is_overdue(session, tenant):
    # given invoices in every combination of status, dates, deposit and money applied
    client = Client(account_id=tenant.account_id, name="Acme")
    session.add(client)
    await session.flush()
    rows = []
    for status, due, deposit, deposit_due, paid in itertools.product(
        [InvoiceStatus.DRAFT, InvoiceStatus.SENT, InvoiceStatus.PARTIAL, InvoiceStatus.VOID],
        [None, YESTERDAY, TODAY, NEXT_MONTH],
        [None, Decimal(30)],
        [None, YESTERDAY, TODAY],
        [Decimal(0), Decimal(20), Decimal(30), Decimal(100)],
    ):
        if deposit is None and deposit_due is not None:
            continue
        row = Invoice(
            account_id=tenant.account_id,
            client_id=client.id,
            currency="USD",
            status=status,
            total=Decimal(100),
            due_date=due,
            deposit_amount=deposit,
            deposit_due_date=deposit_due,
            amount_paid=paid,
        )
        rows.append(row)
    session.add_all(rows)
    await session.commit()
    staff = tenant.principals[StaffRole.ADMIN]

    async def listed(overdue: bool) -> set[uuid.UUID]:
        ids: set[uuid.UUID] = set()
        after = None
        while True:
            page = await list_invoices(
                session=session,
                principal=staff,
                filters=InvoiceFilter(overdue=overdue),
                first=100,
                after=after,
            )
            ids |= {node.id for node in page.nodes}
            if not page.page_info.has_next_page:
                return ids
            after = page.page_info.end_cursor

    # then SQL and Python pick the same invoices, and the two filters split them all
    expected = {row.id for row in rows if is_overdue(row, TODAY)}
    assert expected  # the table holds overdue invoices of both kinds
    assert await listed(True) == expected
    assert await listed(False) == {row.id for row in rows} - expected


# --- viewing --------------------------------------------------------------------------------


@pytest.fixture
async def sent(session, tenant):
    client = Client(account_id=tenant.account_id, name="Acme")
    session.add(client)
    await session.flush()
    contact = Contact(
        account_id=tenant.account_id,
        client_id=client.id,
        email="pat@acme.test",
        role=ContactRole.BILLING,
    )
    row = Invoice(
        account_id=tenant.account_id,
        client_id=client.id,
        currency="USD",
        number="INV-0001",
        status=InvoiceStatus.SENT,
        total=Decimal(100),
    )
    session.add_all([contact, row])
    await session.commit()
    return row, contact


def as_contact(contact: Contact, *, viewer: uuid.UUID | None = None) -> ContactPrincipal:
    return ContactPrincipal(
        account_id=contact.account_id,
        contact_id=contact.id,
        client_id=contact.client_id,
        role=contact.role,
        modules=frozenset(Module),
        session_id=uuid.uuid4(),
        read_only=viewer is not None,
        viewer_staff_id=viewer,
    )


async def viewed_entries(session, invoice_id):
    return (
        await session.exec(
            select(Activity).where(
                Activity.subject_id == invoice_id, Activity.verb == "invoice.viewed"
            )
        )
    ).all()


async def test_only_a_contact_acting_for_itself_marks_an_invoice_viewed(session, tenant, sent):
    row, contact = sent
    staff = tenant.principals[StaffRole.ADMIN]
    others = [
        staff,
        as_contact(contact, viewer=staff.user_id),
        PartnerPrincipal(account_id=tenant.account_id, token_id=uuid.uuid4(), scopes=frozenset()),
    ]
    # when staff, staff viewing as the contact, or a partner open it, nothing changes
    for principal in others:
        seen = await mark_invoice_viewed(session=session, actor=principal, invoice_id=row.id)
        await session.commit()
        assert (seen.status, seen.viewed_at) == (InvoiceStatus.SENT, None)
    assert await viewed_entries(session, row.id) == []
    # when the contact opens it, it is viewed, with one client-visible entry by the contact
    seen = await mark_invoice_viewed(session=session, actor=as_contact(contact), invoice_id=row.id)
    await session.commit()
    first_view = seen.viewed_at
    assert seen.status is InvoiceStatus.VIEWED
    assert first_view is not None
    # and opening it again changes nothing
    again = await mark_invoice_viewed(session=session, actor=as_contact(contact), invoice_id=row.id)
    await session.commit()
    assert (again.status, again.viewed_at) == (InvoiceStatus.VIEWED, first_view)
    (entry,) = await viewed_entries(session, row.id)
    assert (entry.actor_kind, entry.actor_id) == (ActorKind.CONTACT, contact.id)
    assert entry.visible_to_client is True
    assert entry.client_id == row.client_id
    assert entry.details == {"number": "INV-0001"}


async def test_a_contact_cannot_view_a_draft_or_void_invoice(session, sent):
    row, contact = sent
    principal, invoice_id = as_contact(contact), row.id
    for status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
        row.status = status
        session.add(row)
        await session.commit()
        with pytest.raises(NotFound):
            await mark_invoice_viewed(session=session, actor=principal, invoice_id=invoice_id)
        await session.rollback()
    assert await viewed_entries(session, invoice_id) == []
