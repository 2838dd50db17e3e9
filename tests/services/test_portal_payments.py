"""Portal payments at the service level: the plan (what is due, how it is split), and a
pending payment completed or failed by the payment provider."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from auth.principals import ContactPrincipal, StaffPrincipal
from models.accounts import Account
from models.activity import Activity
from models.clients import Contact
from models.enums import (
    ActorKind,
    ContactRole,
    InvoiceStatus,
    Module,
    PaymentMethodKind,
    PaymentStatus,
    StaffRole,
)
from models.invoices import Invoice
from models.payments import Payment, PaymentAllocation
from services import payments
from services.clients import ClientData, ContactData, create_client
from services.errors import BadInput, Conflict
from services.invoices import InvoiceData, create_invoice, send_invoice, void_invoice
from services.lines import LineData
from services.payments import AllocationData, PaymentData
from services.payments.portal import pay_invoices, plan_portal_payment
from tests.conftest import as_work

TODAY = datetime.now(UTC).date()


@dataclass
class World:
    staff: StaffPrincipal
    contact: ContactPrincipal


@pytest.fixture
async def world(session, tenant) -> World:
    staff = tenant.principals[StaffRole.ADMIN]
    client = await create_client(
        session=session,
        actor=staff,
        data=ClientData(name="Acme Corp"),
        contacts=[ContactData(email="pay@acme.test", role=ContactRole.BILLING)],
    )
    await session.commit()
    contact = (await session.exec(select(Contact).where(Contact.client_id == client.id))).one()
    principal = ContactPrincipal(
        account_id=staff.account_id,
        contact_id=contact.id,
        client_id=client.id,
        role=ContactRole.BILLING,
        modules=frozenset(Module),
        session_id=uuid.uuid4(),
    )
    return World(staff=staff, contact=principal)


async def invoice(
    session,
    world: World,
    price: str,
    *,
    due: date | None = None,
    deposit: str | None = None,
    deposit_due: date | None = None,
    send: bool = True,
) -> Invoice:
    row = await create_invoice(
        session=session,
        actor=world.staff,
        data=InvoiceData(
            client_id=world.contact.client_id,
            due_date=due,
            deposit_amount=Decimal(deposit) if deposit else None,
            deposit_due_date=deposit_due,
            lines=[LineData(description="Work", quantity=Decimal(1), unit_price=Decimal(price))],
        ),
    )
    if send:
        await send_invoice(as_work(session), actor=world.staff, invoice_id=row.id)
    await session.commit()
    return row


async def manual(session, world: World, amount: str, *pairs: tuple[Invoice, str]) -> Payment:
    payment = await payments.record_payment(
        session=session,
        actor=world.staff,
        data=PaymentData(
            client_id=world.contact.client_id,
            amount=Decimal(amount),
            method=PaymentMethodKind.BANK_TRANSFER,
            allocations=[AllocationData(row.id, Decimal(share)) for row, share in pairs],
        ),
    )
    await session.commit()
    return payment


async def plan(session, world: World, invoices: list[Invoice], amount: str | None = None):
    return await plan_portal_payment(
        session=session,
        contact=world.contact,
        invoice_ids=[row.id for row in invoices],
        amount=None if amount is None else Decimal(amount),
    )


def split(result) -> list[tuple[uuid.UUID, Decimal, Decimal]]:
    """Each share as (invoice, amount due, amount paid): exact amounts, compared by value
    (a row read back from the database carries the column's scale, 50.0000)."""
    return [(s.invoice.id, s.amount_due, s.amount) for s in result.shares]


def shares(*rows: tuple[uuid.UUID, str, str]) -> list[tuple[uuid.UUID, Decimal, Decimal]]:
    return [(invoice_id, Decimal(due), Decimal(paid)) for invoice_id, due, paid in rows]


async def test_the_deposit_is_due_first_then_the_balance(session, world):
    # given a 1000.00 invoice asking a 300.00 deposit
    row = await invoice(session, world, "1000.00", deposit="300.00")
    # then the deposit is what is due
    first = await plan(session, world, [row])
    assert (first.total_due, first.amount) == (Decimal("300.00"), Decimal("300.00"))
    # when 200.00 of it was paid, the rest of the deposit is due
    await manual(session, world, "200.00", (row, "200.00"))
    assert (await plan(session, world, [row])).total_due == Decimal("100.00")
    # and once the deposit is covered, the balance is due
    await manual(session, world, "150.00", (row, "150.00"))
    assert (await plan(session, world, [row])).total_due == Decimal("650.00")


async def test_the_amount_goes_to_the_oldest_due_date_first(session, world):
    # given invoices due in 30 days, in 5 days, without a due date, and one whose
    # deposit is due in 2 days (its balance in 60)
    later = await invoice(session, world, "100.00", due=TODAY + timedelta(days=30))
    sooner = await invoice(session, world, "40.00", due=TODAY + timedelta(days=5))
    undated = await invoice(session, world, "10.00")
    deposit = await invoice(
        session,
        world,
        "500.00",
        due=TODAY + timedelta(days=60),
        deposit="50.00",
        deposit_due=TODAY + timedelta(days=2),
    )
    chosen = [undated, later, deposit, sooner]
    # when 120.00 of the 200.00 due is paid
    result = await plan(session, world, chosen, "120.00")
    # then it fills the deposit, then the invoice due soonest, then the next
    assert result.total_due == Decimal("200.00")
    assert split(result) == shares(
        (deposit.id, "50.00", "50.00"),
        (sooner.id, "40.00", "40.00"),
        (later.id, "100.00", "30.00"),
        (undated.id, "10.00", "0.00"),
    )
    assert result.unapplied == 0


async def test_an_overpayment_goes_to_remaining_balances_then_stays_as_credit(session, world):
    account = await session.get(Account, world.staff.account_id)
    account.allow_overpayment = True
    await session.commit()
    deposit = await invoice(session, world, "500.00", deposit="100.00")
    other = await invoice(session, world, "50.00", due=TODAY + timedelta(days=90))
    # 150.00 is due (deposit 100.00 + 50.00); 400.00 pays beyond it
    result = await plan(session, world, [other, deposit], "400.00")
    assert result.total_due == Decimal("150.00")
    assert split(result) == shares((other.id, "50.00", "50.00"), (deposit.id, "100.00", "350.00"))
    assert result.unapplied == 0
    # and beyond every balance, the rest stays as the client's credit
    result = await plan(session, world, [other, deposit], "600.00")
    assert split(result)[1] == shares((deposit.id, "100.00", "500.00"))[0]
    assert result.unapplied == Decimal("50.00")


async def test_amount_rules_follow_the_account_settings(session, world):
    row = await invoice(session, world, "80.00")
    account = await session.get(Account, world.staff.account_id)
    # partial payments allowed, no minimum: any positive amount up to the due
    assert (await plan(session, world, [row], "0.01")).amount == Decimal("0.01")
    for amount in ("0", "-1", "80.01", "0.001"):
        with pytest.raises(BadInput) as refused:
            await plan(session, world, [row], amount)
        assert refused.value.field == "amount"
    account.minimum_payment_amount = Decimal("20.00")
    await session.commit()
    with pytest.raises(BadInput):
        await plan(session, world, [row], "19.99")
    assert (await plan(session, world, [row], "20.00")).amount == Decimal("20.00")
    account.allow_partial_payments = False
    await session.commit()
    with pytest.raises(BadInput):
        await plan(session, world, [row], "79.99")
    assert (await plan(session, world, [row])).amount == Decimal("80.00")


async def test_only_open_invoices_can_be_paid(session, world):
    row = await invoice(session, world, "80.00")
    await manual(session, world, "80.00", (row, "80.00"))
    with pytest.raises(Conflict) as refused:
        await plan(session, world, [row])
    assert refused.value.field == "invoiceIds.0"


async def started(session, world, invoices, amount=None) -> Payment:
    result = await pay_invoices(
        session=session,
        contact=world.contact,
        invoice_ids=[row.id for row in invoices],
        amount=None if amount is None else Decimal(amount),
    )
    await session.commit()
    return result.payment


async def state(session, row: Invoice) -> tuple[InvoiceStatus, Decimal, Decimal]:
    await session.refresh(row)
    return row.status, row.amount_paid, row.balance


async def entries(session, verb: str) -> list[Activity]:
    rows = await session.exec(select(Activity).where(Activity.verb == verb))
    return list(rows.all())


async def test_completing_a_pending_payment_pays_its_invoices(session, world):
    # given a pending portal payment of two invoices
    first = await invoice(session, world, "100.00", due=TODAY)
    second = await invoice(session, world, "60.00", due=TODAY + timedelta(days=1))
    payment = await started(session, world, [first, second], "130.00")
    assert payment.status is PaymentStatus.PENDING
    assert await state(session, first) == (InvoiceStatus.SENT, Decimal(0), Decimal("100.00"))
    # when the provider confirms it
    done = await payments.complete_payment(
        session=session, payment_id=payment.id, provider_payment_id="pi_123"
    )
    await session.commit()
    # then the invoices are paid, the payment completed
    assert (done.status, done.provider_payment_id) == (PaymentStatus.COMPLETED, "pi_123")
    assert await state(session, first) == (InvoiceStatus.PAID, Decimal("100.00"), Decimal(0))
    assert await state(session, second) == (
        InvoiceStatus.PARTIAL,
        Decimal("30.00"),
        Decimal("30.00"),
    )
    # and the completion and the paid invoices are in the activity, by the system
    (completed,) = await entries(session, "payment.completed")
    assert (completed.actor_kind, completed.visible_to_client) == (ActorKind.SYSTEM, True)
    assert [e.subject_id for e in await entries(session, "invoice.paid")] == [first.id]
    # and a repeated confirmation changes nothing
    await payments.complete_payment(session=session, payment_id=payment.id)
    await session.commit()
    assert await state(session, first) == (InvoiceStatus.PAID, Decimal("100.00"), Decimal(0))
    assert len(await entries(session, "payment.completed")) == 1


async def test_completion_rechecks_balances_and_keeps_the_excess_as_credit(session, world):
    # given a pending payment of three invoices
    paid_meanwhile = await invoice(session, world, "100.00", due=TODAY)
    partly_meanwhile = await invoice(session, world, "50.00", due=TODAY + timedelta(days=1))
    voided_meanwhile = await invoice(session, world, "20.00", due=TODAY + timedelta(days=2))
    payment = await started(session, world, [paid_meanwhile, partly_meanwhile, voided_meanwhile])
    assert payment.amount == Decimal("170.00")
    # and meanwhile staff record a bank transfer paying one and part of another, and void
    # the third
    await manual(session, world, "130.00", (paid_meanwhile, "100.00"), (partly_meanwhile, "30.00"))
    await void_invoice(session=session, actor=world.staff, invoice_id=voided_meanwhile.id)
    await session.commit()
    # when the card payment is confirmed
    await payments.complete_payment(session=session, payment_id=payment.id)
    await session.commit()
    # then each invoice takes only what it still owes, never going negative
    assert await state(session, paid_meanwhile) == (
        InvoiceStatus.PAID,
        Decimal("100.00"),
        Decimal(0),
    )
    assert await state(session, partly_meanwhile) == (
        InvoiceStatus.PAID,
        Decimal("50.00"),
        Decimal(0),
    )
    assert await state(session, voided_meanwhile) == (
        InvoiceStatus.VOID,
        Decimal(0),
        Decimal(0),  # a void invoice owes nothing
    )
    # and the rest (170 - 20 = 150.00) stays on the payment as the client's credit
    allocations = await payments.allocations_of(session, payment.id)
    assert [(a.invoice_id, a.amount) for a in allocations] == [
        (partly_meanwhile.id, Decimal("20.00"))
    ]
    await session.refresh(payment)
    assert payments.unapplied(payment, allocations) == Decimal("150.00")


async def test_a_failed_payment_changes_no_invoice(session, world):
    row = await invoice(session, world, "100.00")
    payment = await started(session, world, [row])
    payment_id, invoice_id = payment.id, row.id
    # a pending payment can be neither applied nor refunded
    with pytest.raises(Conflict):
        await payments.refund_payment(
            session=session, actor=world.staff, payment_id=payment_id, amount=Decimal(1)
        )
    with pytest.raises(Conflict):
        await payments.apply_payment(
            session=session,
            actor=world.staff,
            payment_id=payment_id,
            allocations=[AllocationData(invoice_id, Decimal(1))],
        )
    await session.rollback()
    failed = await payments.fail_payment(
        session=session, payment_id=payment_id, reason="card_declined"
    )
    await session.commit()
    assert failed.status is PaymentStatus.FAILED
    assert await state(session, row) == (InvoiceStatus.SENT, Decimal(0), Decimal("100.00"))
    assert payments.unapplied(failed, await payments.allocations_of(session, payment.id)) == 0
    (entry,) = await entries(session, "payment.failed")
    assert (entry.actor_kind, entry.details["reason"]) == (ActorKind.SYSTEM, "card_declined")
    # and a provider retry that succeeds still pays the invoice
    await payments.complete_payment(session=session, payment_id=payment.id)
    await session.commit()
    assert await state(session, row) == (InvoiceStatus.PAID, Decimal("100.00"), Decimal(0))
    # but a completed payment cannot fail afterwards
    with pytest.raises(Conflict):
        await payments.fail_payment(session=session, payment_id=payment.id)


async def test_pending_allocations_are_not_money_on_the_invoice(session, world):
    """The planned split is stored, but only settled payments count on invoices."""
    row = await invoice(session, world, "100.00")
    payment = await started(session, world, [row], "40.00")
    planned = (
        await session.exec(
            select(PaymentAllocation).where(PaymentAllocation.payment_id == payment.id)
        )
    ).all()
    assert [(a.invoice_id, a.amount) for a in planned] == [(row.id, Decimal("40.00"))]
    assert await state(session, row) == (InvoiceStatus.SENT, Decimal(0), Decimal("100.00"))
    assert payments.unapplied(payment, planned) == 0
