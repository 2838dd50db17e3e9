"""Statements: opening balance, entries with running balances, closing balance, aging
and the status filter, on a scripted history with fixed dates (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from auth.principals import ContactPrincipal
from models.accounts import Account
from models.clients import Client
from models.credits import Credit, CreditApplication
from models.enums import ContactRole, CreditStatus, Module, PaymentMethodKind, StaffRole
from models.invoices import Invoice
from services.clients import ClientData, create_client
from services.errors import BadInput, NotFound
from services.invoices import (
    InvoiceData,
    create_invoice,
    send_invoice,
    settle_status,
    void_invoice,
)
from services.lines import LineData
from services.payments import AllocationData, PaymentData, record_payment, refund_payment
from services.statements import EntryKind, StatementStatus, build_statement
from tests.conftest import as_work

D = Decimal
MARCH_1 = date(2024, 3, 1)
MARCH_31 = date(2024, 3, 31)


@dataclass
class World:
    """The scripted history of one USD client (see ``world``)."""

    client: Client
    other: Client
    invoices: dict[str, Invoice]


async def make_client(session, actor, name, currency="USD"):
    return await create_client(
        session=session, actor=actor, data=ClientData(name=name, currency=currency)
    )


async def make_invoice(session, actor, client, total, issued, due=None, *, currency=None):
    invoice = await create_invoice(
        session=session,
        actor=actor,
        data=InvoiceData(
            client_id=client.id,
            currency=currency,
            issue_date=issued,
            due_date=due,
            lines=[LineData(description="Work", quantity=D(1), unit_price=D(total))],
        ),
    )
    return await send_invoice(as_work(session), actor=actor, invoice_id=invoice.id)


async def pay(session, actor, client, amount, received_on, *shares):
    return await record_payment(
        session=session,
        actor=actor,
        data=PaymentData(
            client_id=client.id,
            amount=D(amount),
            method=PaymentMethodKind.BANK_TRANSFER,
            received_on=received_on,
            allocations=[AllocationData(invoice.id, D(part)) for invoice, part in shares],
        ),
    )


async def apply_credit_on(session, client, invoice, amount, applied_at, number="CR-0100"):
    """A credit note applied to ``invoice`` at a fixed moment (the credit service dates
    applications now)."""
    credit = Credit(
        account_id=client.account_id,
        client_id=client.id,
        number=number,
        currency=invoice.currency,
        amount=D(amount),
        balance=D(0),
        status=CreditStatus.APPLIED,
    )
    session.add(credit)
    await session.flush()
    session.add(
        CreditApplication(
            account_id=client.account_id,
            credit_id=credit.id,
            invoice_id=invoice.id,
            amount=D(amount),
            created_at=applied_at,
        )
    )
    invoice.credits_applied += D(amount)
    settle_status(invoice)
    await session.flush()
    return credit


@pytest.fixture
async def world(session, tenant):
    """Opening (1 March 2024) owed: A 60 of 100, B 250, X 10, Y 20, Z 30 = 370.

    In March: C issued +80 (5th), payment -110 on A and B (10th), credit -30 on B (15th),
    D issued +45.50 (20th) and paid -45.50 (25th). Closing: B 170, C 80, X, Y, Z = 310.
    Never on the statement: a later invoice and payment, a draft, a void invoice, a EUR
    invoice, an unapplied payment and another client's invoice.
    """
    actor = tenant.principals[StaffRole.ADMIN]
    client = await make_client(session, actor, "Acme Corp")
    other = await make_client(session, actor, "Other Ltd")
    inv = {}
    inv["X"] = await make_invoice(
        session, actor, client, "10", date(2023, 11, 1), date(2023, 11, 15)
    )
    inv["Y"] = await make_invoice(session, actor, client, "20", date(2024, 1, 1), date(2024, 1, 15))
    inv["A"] = await make_invoice(
        session, actor, client, "100", date(2024, 1, 10), date(2024, 1, 25)
    )
    inv["Z"] = await make_invoice(
        session, actor, client, "30", date(2024, 1, 20), date(2024, 2, 10)
    )
    await pay(session, actor, client, "40", date(2024, 2, 1), (inv["A"], "40"))
    inv["B"] = await make_invoice(
        session, actor, client, "250", date(2024, 2, 20), date(2024, 3, 5)
    )
    inv["C"] = await make_invoice(session, actor, client, "80", date(2024, 3, 5), date(2024, 4, 4))
    await pay(session, actor, client, "110", date(2024, 3, 10), (inv["A"], "60"), (inv["B"], "50"))
    await apply_credit_on(session, client, inv["B"], "30", datetime(2024, 3, 15, 12, tzinfo=UTC))
    inv["D"] = await make_invoice(session, actor, client, "45.50", date(2024, 3, 20))
    await pay(session, actor, client, "45.50", date(2024, 3, 25), (inv["D"], "45.50"))
    # never on the March USD statement
    inv["E"] = await make_invoice(session, actor, client, "999", date(2024, 4, 2), date(2024, 5, 2))
    await pay(session, actor, client, "20", date(2024, 4, 5), (inv["B"], "20"))
    await pay(session, actor, client, "100", date(2024, 3, 12))  # unapplied
    inv["draft"] = await create_invoice(
        session=session,
        actor=actor,
        data=InvoiceData(
            client_id=client.id,
            issue_date=date(2024, 3, 12),
            lines=[LineData(description="Draft work", quantity=D(1), unit_price=D(500))],
        ),
    )
    inv["void"] = await make_invoice(session, actor, client, "70", date(2024, 3, 8))
    await void_invoice(session=session, actor=actor, invoice_id=inv["void"].id)
    inv["EUR"] = await make_invoice(session, actor, client, "70", date(2024, 3, 3), currency="EUR")
    inv["other"] = await make_invoice(session, actor, other, "5000", date(2024, 3, 6))
    await session.commit()
    return World(client, other, inv)


def rows(statement):
    return [
        (entry.on, entry.kind, entry.number, entry.amount, entry.balance)
        for entry in statement.entries
    ]


async def test_march_statement_balances_entries_and_aging(session, tenant, world):
    # given the scripted history
    inv = world.invoices
    # when staff build the client's March statement
    statement = await build_statement(
        session=session,
        principal=tenant.principals[StaffRole.MANAGER],
        date_from=MARCH_1,
        date_to=MARCH_31,
        client_id=world.client.id,
    )
    # then it opens with what was owed on 1 March
    assert statement.currency == "USD"
    assert statement.opening_balance == D("370")
    # and lists March in date order with the running balance after each row
    assert [(on, kind, amount, balance) for on, kind, _, amount, balance in rows(statement)] == [
        (date(2024, 3, 5), EntryKind.INVOICE, D("80"), D("450")),
        (date(2024, 3, 10), EntryKind.PAYMENT, D("-110"), D("340")),
        (date(2024, 3, 15), EntryKind.CREDIT, D("-30"), D("310")),
        (date(2024, 3, 20), EntryKind.INVOICE, D("45.50"), D("355.50")),
        (date(2024, 3, 25), EntryKind.PAYMENT, D("-45.50"), D("310")),
    ]
    assert statement.entries[0].number == inv["C"].number
    assert statement.entries[0].due_date == date(2024, 4, 4)
    assert statement.entries[0].document_id == inv["C"].id
    assert statement.entries[2].number == "CR-0100"
    assert inv["A"].number in statement.entries[1].description
    assert inv["B"].number in statement.entries[1].description
    # and closes with what is owed on 31 March; the totals add up
    assert statement.closing_balance == D("310")
    assert statement.invoiced == D("125.50")
    assert statement.received == D("185.50")
    assert statement.opening_balance + statement.invoiced - statement.received == D("310")
    # and the aging splits the closing balance by days past due on 31 March
    aging = statement.aging
    assert (aging.current, aging.days_1_30, aging.days_31_60, aging.days_61_90, aging.over_90) == (
        D("80"),  # C, due 4 April
        D("170"),  # B, 26 days late: 250 - 50 paid - 30 credit
        D("30"),  # Z, 50 days late
        D("20"),  # Y, 76 days late
        D("10"),  # X, 137 days late
    )
    assert aging.total == statement.closing_balance
    # and the client was invoiced in two currencies
    assert statement.currencies == ["EUR", "USD"]


async def test_drafts_voids_other_currencies_and_clients_never_appear(session, tenant, world):
    statement = await build_statement(
        session=session,
        principal=tenant.principals[StaffRole.ADMIN],
        date_from=date(2023, 1, 1),
        date_to=date(2024, 12, 31),
        client_id=world.client.id,
    )
    listed = {entry.document_id for entry in statement.entries}
    for name in ("draft", "void", "EUR", "other"):
        assert world.invoices[name].id not in listed, name
    for name in ("X", "Y", "A", "Z", "B", "C", "D", "E"):
        assert world.invoices[name].id in listed, name
    # the whole history: everything owed now, which is what the invoices say
    owed_now = sum(
        (world.invoices[name].balance for name in ("X", "Y", "A", "Z", "B", "C", "D", "E")),
        D(0),
    )
    assert statement.opening_balance == 0
    assert statement.closing_balance == owed_now == D("1289")
    assert statement.aging.total == owed_now


async def test_statement_in_another_currency(session, tenant, world):
    statement = await build_statement(
        session=session,
        principal=tenant.principals[StaffRole.ADMIN],
        date_from=MARCH_1,
        date_to=MARCH_31,
        client_id=world.client.id,
        currency="eur",
    )
    assert statement.currency == "EUR"
    assert [(e.kind, e.document_id) for e in statement.entries] == [
        (EntryKind.INVOICE, world.invoices["EUR"].id)
    ]
    assert (statement.opening_balance, statement.closing_balance) == (D(0), D(70))


@pytest.mark.parametrize(
    ("status", "listed"),
    [
        (StatementStatus.ALL, ["C", "D"]),
        (StatementStatus.PAID, ["D"]),
        (StatementStatus.UNPAID, ["C"]),
    ],
)
async def test_status_filters_invoice_rows_only(session, tenant, world, status, listed):
    statement = await build_statement(
        session=session,
        principal=tenant.principals[StaffRole.ADMIN],
        date_from=MARCH_1,
        date_to=MARCH_31,
        status=status,
        client_id=world.client.id,
    )
    invoices = [e.document_id for e in statement.entries if e.kind is EntryKind.INVOICE]
    assert invoices == [world.invoices[name].id for name in listed]
    # payments and credits stay, and every balance is the account's true one
    assert [e.kind for e in statement.entries if e.kind is not EntryKind.INVOICE] == [
        EntryKind.PAYMENT,
        EntryKind.CREDIT,
        EntryKind.PAYMENT,
    ]
    balances = {e.on: e.balance for e in statement.entries}
    assert balances[date(2024, 3, 15)] == D("310")
    assert (statement.opening_balance, statement.closing_balance) == (D("370"), D("310"))
    assert statement.aging.total == D("310")


async def test_paid_means_paid_by_the_end_of_the_period(session, tenant, world):
    # A was paid in full on 10 March: in February it was still unpaid
    february = {
        status: await build_statement(
            session=session,
            principal=tenant.principals[StaffRole.ADMIN],
            date_from=date(2024, 1, 1),
            date_to=date(2024, 2, 29),
            status=status,
            client_id=world.client.id,
        )
        for status in (StatementStatus.PAID, StatementStatus.UNPAID)
    }
    a = world.invoices["A"].id
    assert a in {e.document_id for e in february[StatementStatus.UNPAID].entries}
    assert a not in {e.document_id for e in february[StatementStatus.PAID].entries}


async def test_refund_reopens_what_it_gives_back(session, tenant):
    actor = tenant.principals[StaffRole.ADMIN]
    client = await make_client(session, actor, "Refunded Inc")
    invoice = await make_invoice(session, actor, client, "200", date(2024, 5, 1), date(2024, 5, 31))
    payment = await pay(session, actor, client, "200", date(2024, 5, 10), (invoice, "200"))
    await refund_payment(session=session, actor=actor, payment_id=payment.id, amount=D("75"))
    payment.updated_at = datetime(2024, 5, 20, 9, tzinfo=UTC)  # the refund's day
    await session.commit()

    statement = await build_statement(
        session=session,
        principal=actor,
        date_from=date(2024, 5, 1),
        date_to=date(2024, 6, 30),
        client_id=client.id,
    )
    assert [(e.on, e.kind, e.amount, e.balance) for e in statement.entries] == [
        (date(2024, 5, 1), EntryKind.INVOICE, D("200"), D("200")),
        (date(2024, 5, 10), EntryKind.PAYMENT, D("-200"), D("0")),
        (date(2024, 5, 20), EntryKind.REFUND, D("75"), D("75")),
    ]
    assert statement.closing_balance == invoice.balance == D("75")
    assert statement.aging.days_1_30 == D("75")  # due 31 May, 30 days late on 30 June
    # before the refund the invoice was paid
    before = await build_statement(
        session=session,
        principal=actor,
        date_from=date(2024, 5, 1),
        date_to=date(2024, 5, 15),
        status=StatementStatus.PAID,
        client_id=client.id,
    )
    assert before.closing_balance == 0
    assert [e.kind for e in before.entries] == [EntryKind.INVOICE, EntryKind.PAYMENT]


async def test_aging_bucket_edges(session, tenant):
    actor = tenant.principals[StaffRole.ADMIN]
    client = await make_client(session, actor, "Edges Co")
    end = date(2024, 6, 30)
    days_late = {"0": 0, "1": 1, "30": 30, "31": 31, "60": 60, "61": 61, "90": 90, "91": 91}
    for index, late in enumerate(days_late.values()):
        due = end - timedelta(days=late)
        await make_invoice(session, actor, client, str(10**index), due - timedelta(days=1), due)
    await make_invoice(session, actor, client, D("0.01"), end)  # no due date: due on issue
    await session.commit()

    aging = (
        await build_statement(
            session=session, principal=actor, date_from=end, date_to=end, client_id=client.id
        )
    ).aging
    assert aging.current == D(D("1.01"))  # 0 days late, and the one due on issue
    assert aging.days_1_30 == D("10") + D("100")  # 1 and 30 days
    assert aging.days_31_60 == D("1000") + D("10000")  # 31 and 60
    assert aging.days_61_90 == D("100000") + D("1000000")  # 61 and 90
    assert aging.over_90 == D("10000000")  # 91


async def test_contacts_get_their_own_clients_statement(session, tenant, world):
    def contact_of(client):
        return ContactPrincipal(
            account_id=client.account_id,
            contact_id=uuid.uuid4(),
            client_id=client.id,
            role=ContactRole.BILLING,
            modules=frozenset(Module),
            session_id=uuid.uuid4(),
        )

    contact = contact_of(world.client)
    # without a client id: its own client's
    own = await build_statement(
        session=session, principal=contact, date_from=MARCH_1, date_to=MARCH_31
    )
    assert own.client.id == world.client.id
    assert own.closing_balance == D("310")
    # the same with its own id
    same = await build_statement(
        session=session,
        principal=contact,
        date_from=MARCH_1,
        date_to=MARCH_31,
        client_id=world.client.id,
    )
    assert rows(same) == rows(own)
    # another client's id answers NOT_FOUND, like any row outside its scope
    with pytest.raises(NotFound):
        await build_statement(
            session=session,
            principal=contact,
            date_from=MARCH_1,
            date_to=MARCH_31,
            client_id=world.other.id,
        )


async def test_another_accounts_client_is_not_found(session, tenant, world, make_tenant):
    stranger = await make_tenant("stranger")
    with pytest.raises(NotFound):
        await build_statement(
            session=session,
            principal=stranger.principals[StaffRole.ADMIN],
            date_from=MARCH_1,
            date_to=MARCH_31,
            client_id=world.client.id,
        )


@pytest.mark.parametrize(
    ("date_from", "date_to", "named", "currency", "field"),
    [
        (MARCH_31, MARCH_1, True, None, "from"),
        (date(2019, 1, 1), date(2024, 3, 1), True, None, "to"),
        (MARCH_1, MARCH_31, False, None, "clientId"),
        (MARCH_1, MARCH_31, True, "XYZ", "currency"),
    ],
)
async def test_bad_input(session, tenant, world, date_from, date_to, named, currency, field):
    with pytest.raises(BadInput) as error:
        await build_statement(
            session=session,
            principal=tenant.principals[StaffRole.ADMIN],
            date_from=date_from,
            date_to=date_to,
            client_id=world.client.id if named else None,
            currency=currency,
        )
    assert error.value.field == field


async def test_five_years_is_the_longest_period(session, tenant, world):
    statement = await build_statement(
        session=session,
        principal=tenant.principals[StaffRole.ADMIN],
        date_from=date(2019, 4, 1),
        date_to=MARCH_31,
        client_id=world.client.id,
    )
    assert statement.closing_balance == D("310")


async def test_days_are_the_accounts_days(session, tenant):
    # given an account in New York and a credit applied at 02:00 UTC on 1 April,
    # which is 22:00 on 31 March there
    actor = tenant.principals[StaffRole.ADMIN]
    account = await session.get(Account, actor.account_id)
    account.timezone = "America/New_York"
    client = await make_client(session, actor, "Late Night LLC")
    invoice = await make_invoice(session, actor, client, "90", date(2024, 3, 1), date(2024, 3, 31))
    await apply_credit_on(session, client, invoice, "25", datetime(2024, 4, 1, 2, tzinfo=UTC))
    await session.commit()
    # then the credit is on the March statement, on 31 March
    statement = await build_statement(
        session=session, principal=actor, date_from=MARCH_1, date_to=MARCH_31, client_id=client.id
    )
    assert [(e.on, e.kind, e.amount) for e in statement.entries] == [
        (date(2024, 3, 1), EntryKind.INVOICE, D("90")),
        (date(2024, 3, 31), EntryKind.CREDIT, D("-25")),
    ]
    assert statement.closing_balance == D("65")
