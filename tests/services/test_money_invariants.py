"""Property-based tests of the money invariants (hypothesis), on SQLite and PostgreSQL.

Each example builds a fresh account (one client in a currency of 0, 2 or 3 decimals, a
few sent invoices, some with deposits) and runs a random sequence of money movements
through the services: manual payments with allocations, applying unapplied remainders,
full and partial refunds (with and without named invoices), credits issued and applied,
portal payments started, completed and failed, invoices voided. Amounts are drawn near
the limits, so many operations are refused. After every operation:

- a refused operation changed nothing (it ran in one transaction that rolled back);
- no invoice balance is negative, and each invoice's ``amount_paid`` is exactly what the
  settled payments' allocations hold on it (net of refunds), its ``credits_applied``
  exactly its credit applications, and its status matches what it has received;
- no payment's allocations and refunds exceed it; refunds never exceed a payment;
  pending and failed payments have put nothing on an invoice, nor has a charged-back one
  (a lost dispute) any more, while a disputed one still counts;
- no credit is applied beyond its amount;
- every amount is exact at the currency's precision, and the money adds up: what was
  received and credited equals what sits on invoices plus what is left unapplied.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from auth.principals import ContactPrincipal, StaffPrincipal
from models.clients import Contact
from models.credits import Credit, CreditApplication
from models.enums import (
    ContactRole,
    CreditStatus,
    InvoiceStatus,
    Module,
    PaymentMethodKind,
    PaymentStatus,
    StaffRole,
)
from models.invoices import Invoice
from models.payments import Payment, PaymentAllocation
from services import credits, payments
from services.accounts import create_account, create_staff_user
from services.clients import ClientData, ContactData, create_client
from services.errors import PorticoError
from services.invoices import InvoiceData, create_invoice, send_invoice, void_invoice
from services.lines import LineData
from services.money import currency_precision, round_money
from services.payments import portal as portal_payments
from services.unit_of_work import begin_write
from tests.conftest import as_work

CURRENCIES = ("USD", "JPY", "KWD")
OPERATIONS = (
    *("record",) * 3,
    *("apply",) * 2,
    *("refund",) * 3,
    "credit",
    *("apply_credit",) * 2,
    *("portal",) * 2,
    *("complete",) * 2,
    "fail",
    "void",
)
"""Weighted: voiding (which takes an invoice out of play) is the rarest."""


@dataclass
class Ledger:
    """One example's account: who acts, and the rows' ids by kind."""

    staff: StaffPrincipal
    contact: ContactPrincipal
    currency: str
    invoices: list[uuid.UUID] = field(default_factory=list)
    payments: list[uuid.UUID] = field(default_factory=list)
    credits: list[uuid.UUID] = field(default_factory=list)

    def money(self, units: int) -> Decimal:
        """``units`` minor units of the currency (cents, yen, fils)."""
        return Decimal(units).scaleb(-currency_precision(self.currency))


async def open_account(runtime: Any, data: st.DataObject) -> Ledger:
    tag = uuid.uuid4().hex[:12]
    currency = data.draw(st.sampled_from(CURRENCIES), label="currency")
    async with runtime.sessions() as session:
        account = await create_account(session, name="Prop", slug=f"p{tag}")
        account.allow_overpayment = data.draw(st.booleans(), label="allow_overpayment")
        account.allow_partial_payments = data.draw(st.booleans(), label="allow_partial")
        user = await create_staff_user(
            session,
            account=account,
            email=f"admin-{tag}@prop.test",
            name="Admin",
            role=StaffRole.ADMIN,
            password="correct-Horse-9",
        )
        staff = StaffPrincipal(
            account_id=account.id, user_id=user.id, role=StaffRole.ADMIN, session_id=uuid.uuid4()
        )
        client = await create_client(
            session=session,
            actor=staff,
            data=ClientData(name="Client", currency=currency),
            contacts=[ContactData(email=f"billing-{tag}@prop.test", role=ContactRole.BILLING)],
        )
        contact = (await session.exec(select(Contact).where(Contact.client_id == client.id))).one()
        ledger = Ledger(
            staff=staff,
            contact=ContactPrincipal(
                account_id=account.id,
                contact_id=contact.id,
                client_id=client.id,
                role=ContactRole.BILLING,
                modules=frozenset(Module),
                session_id=uuid.uuid4(),
            ),
            currency=currency,
        )
        count = data.draw(st.integers(1, 4), label="invoices")
        today = datetime.now(UTC).date()
        for index in range(count):
            total = data.draw(st.integers(1, 50_000), label="invoice total")
            deposit = data.draw(st.none() | st.integers(1, total), label="deposit")
            invoice = await create_invoice(
                session=session,
                actor=staff,
                data=InvoiceData(
                    client_id=client.id,
                    due_date=today + timedelta(days=data.draw(st.integers(0, 60), label="due")),
                    deposit_amount=None if deposit is None else ledger.money(deposit),
                    lines=[
                        LineData(
                            description=f"Work {index}",
                            quantity=Decimal(1),
                            unit_price=ledger.money(total),
                        )
                    ],
                ),
            )
            await send_invoice(as_work(session, runtime), actor=staff, invoice_id=invoice.id)
            ledger.invoices.append(invoice.id)
        await session.commit()
    return ledger


# --- reading the state ---------------------------------------------------------------


@dataclass
class State:
    invoices: dict[uuid.UUID, Invoice]
    payments: dict[uuid.UUID, Payment]
    allocations: list[PaymentAllocation]
    credits: dict[uuid.UUID, Credit]
    applications: list[CreditApplication]
    invoice_order: dict[uuid.UUID, int]

    def snapshot(self) -> tuple[Any, ...]:
        """Every amount and status, to compare before and after a refused operation."""
        return (
            sorted(
                (str(i.id), i.status, i.amount_paid, i.credits_applied, i.paid_at is None)
                for i in self.invoices.values()
            ),
            sorted((str(p.id), p.status, p.refunded_amount) for p in self.payments.values()),
            sorted((str(a.id), a.amount, a.refunded_amount) for a in self.allocations),
            sorted((str(c.id), c.status, c.balance) for c in self.credits.values()),
            sorted((str(a.id), a.amount) for a in self.applications),
        )

    def held(self, payment_id: uuid.UUID) -> list[PaymentAllocation]:
        """The payment's allocations in a replayable order (by invoice, since a payment
        has at most one allocation per invoice)."""
        rows = [a for a in self.allocations if a.payment_id == payment_id]
        return sorted(rows, key=lambda a: self.invoice_order[a.invoice_id])


async def read_state(runtime: Any, ledger: Ledger) -> State:
    account_id = ledger.staff.account_id
    async with runtime.sessions() as session:
        invoices = (
            await session.exec(select(Invoice).where(Invoice.account_id == account_id))
        ).all()
        payment_rows = (
            await session.exec(select(Payment).where(Payment.account_id == account_id))
        ).all()
        allocations = (
            await session.exec(
                select(PaymentAllocation).where(PaymentAllocation.account_id == account_id)
            )
        ).all()
        credit_rows = (
            await session.exec(select(Credit).where(Credit.account_id == account_id))
        ).all()
        applications = (
            await session.exec(
                select(CreditApplication).where(CreditApplication.account_id == account_id)
            )
        ).all()
    return State(
        invoices={row.id: row for row in invoices},
        payments={row.id: row for row in payment_rows},
        allocations=list(allocations),
        credits={row.id: row for row in credit_rows},
        applications=list(applications),
        invoice_order={invoice_id: i for i, invoice_id in enumerate(ledger.invoices)},
    )


def check_invariants(state: State, currency: str) -> None:
    def exact(value: Decimal) -> None:
        assert value == round_money(value, currency), value

    settled = {p.id for p in state.payments.values() if p.status in payments.SETTLED_STATUSES}
    paid_on: dict[uuid.UUID, Decimal] = defaultdict(Decimal)
    for allocation in state.allocations:
        exact(allocation.amount)
        exact(allocation.refunded_amount)
        assert allocation.amount > 0
        assert 0 <= allocation.refunded_amount <= allocation.amount
        if allocation.payment_id in settled:
            paid_on[allocation.invoice_id] += allocation.amount - allocation.refunded_amount
    credited_on: dict[uuid.UUID, Decimal] = defaultdict(Decimal)
    applied_from: dict[uuid.UUID, Decimal] = defaultdict(Decimal)
    for application in state.applications:
        exact(application.amount)
        assert application.amount > 0
        credited_on[application.invoice_id] += application.amount
        applied_from[application.credit_id] += application.amount

    for invoice in state.invoices.values():
        for amount in (invoice.total, invoice.amount_paid, invoice.credits_applied):
            exact(amount)
        # balance = total - allocations (net of refunds) - credits applied, never negative;
        # a VOID invoice owes nothing (and holds no money: checked below)
        assert invoice.amount_paid == paid_on[invoice.id]
        assert invoice.credits_applied == credited_on[invoice.id]
        owed = invoice.total - paid_on[invoice.id] - credited_on[invoice.id]
        assert invoice.balance == (0 if invoice.status is InvoiceStatus.VOID else owed)
        assert invoice.balance >= 0
        applied = invoice.amount_paid + invoice.credits_applied
        if invoice.status is InvoiceStatus.VOID:
            assert applied == 0
        elif applied == invoice.total:
            assert invoice.status is InvoiceStatus.PAID
            assert invoice.paid_at is not None
        elif applied > 0:
            assert invoice.status is InvoiceStatus.PARTIAL
            assert invoice.paid_at is None
        else:
            assert invoice.status in (InvoiceStatus.SENT, InvoiceStatus.VIEWED)

    unapplied_total = Decimal(0)
    received_total = Decimal(0)
    for payment in state.payments.values():
        exact(payment.amount)
        exact(payment.refunded_amount)
        held = state.held(payment.id)
        gross = sum((a.amount for a in held), Decimal(0))
        refunded_from_invoices = sum((a.refunded_amount for a in held), Decimal(0))
        # allocations never exceed the payment; refunds never exceed it either
        assert gross <= payment.amount
        assert 0 <= payment.refunded_amount <= payment.amount
        assert refunded_from_invoices <= payment.refunded_amount
        if payment.id in settled:
            left = payments.unapplied(payment, held)
            assert left >= 0
            unapplied_total += left
            received_total += payment.amount - payment.refunded_amount
            expected = (
                PaymentStatus.COMPLETED
                if payment.refunded_amount == 0
                else PaymentStatus.REFUNDED
                if payment.refunded_amount == payment.amount
                else PaymentStatus.PARTIALLY_REFUNDED
            )
            # a disputed payment still counts, whatever was refunded of it
            assert payment.status in (expected, PaymentStatus.DISPUTED)
        elif payment.status is PaymentStatus.CHARGED_BACK:
            pass  # a lost dispute: it holds nothing on invoices (checked above) any more
        else:
            assert payment.status in (
                PaymentStatus.PENDING,
                PaymentStatus.PROCESSING,
                PaymentStatus.FAILED,
                PaymentStatus.CANCELED,
            )
            assert payment.refunded_amount == 0
            assert refunded_from_invoices == 0

    credit_left = Decimal(0)
    credited_total = Decimal(0)
    for credit in state.credits.values():
        exact(credit.amount)
        exact(credit.balance)
        assert credit.balance == credit.amount - applied_from[credit.id]
        assert 0 <= credit.balance <= credit.amount
        assert credit.status is (CreditStatus.APPLIED if credit.balance == 0 else CreditStatus.OPEN)
        credit_left += credit.balance
        credited_total += credit.amount

    # the money adds up
    on_invoices = sum(
        (i.amount_paid + i.credits_applied for i in state.invoices.values()), Decimal(0)
    )
    assert received_total + credited_total == on_invoices + unapplied_total + credit_left


# --- the operations ------------------------------------------------------------------


def draw_units(data: st.DataObject, limit: Decimal, ledger: Ledger, label: str) -> Decimal:
    """An amount around ``limit``: mostly within it, sometimes just above, now and then
    zero or finer than the currency allows."""
    units = int(limit.scaleb(currency_precision(ledger.currency)))
    kind = data.draw(st.sampled_from(("within", "within", "within", "above", "odd")), label=label)
    if kind == "within" and units > 0:
        return ledger.money(data.draw(st.integers(1, units), label=label))
    if kind == "above":
        return ledger.money(units + data.draw(st.integers(1, 3), label=label))
    odd = data.draw(st.sampled_from(("zero", "fine")), label=label)
    return Decimal(0) if odd == "zero" else ledger.money(1) / 10


def pick(
    data: st.DataObject, preferred: list[uuid.UUID], every: list[uuid.UUID], label: str
) -> uuid.UUID:
    """Mostly one of ``preferred`` (the rows the operation can work on), sometimes any."""
    if preferred and data.draw(st.integers(0, 3), label=f"{label} preferred") > 0:
        return data.draw(st.sampled_from(preferred), label=label)
    return data.draw(st.sampled_from(every), label=label)


def draw_shares(
    data: st.DataObject, ledger: Ledger, state: State, budget: Decimal
) -> list[payments.AllocationData]:
    chosen = data.draw(
        st.lists(st.sampled_from(ledger.invoices), max_size=3, unique=True), label="invoices"
    )
    return [
        payments.AllocationData(
            invoice_id,
            draw_units(
                data, min(state.invoices[invoice_id].balance, budget) or budget, ledger, "share"
            ),
        )
        for invoice_id in chosen
    ]


async def run_operation(
    session: Any, data: st.DataObject, ledger: Ledger, state: State, operation: str
) -> None:
    staff = ledger.staff
    # Rows in creation order (never by their random ids), so that a replayed example
    # draws the same choices.
    payment_ids = list(ledger.payments)
    if operation == "record":
        amount = draw_units(data, Decimal(600), ledger, "payment")
        payment = await payments.record_payment(
            session=session,
            actor=staff,
            data=payments.PaymentData(
                client_id=ledger.contact.client_id,
                amount=amount,
                method=PaymentMethodKind.CASH,
                allocations=draw_shares(data, ledger, state, amount),
            ),
        )
        ledger.payments.append(payment.id)
    elif operation == "apply" and payment_ids:
        with_credit = [
            p for p in payment_ids if payments.unapplied(state.payments[p], state.held(p)) > 0
        ]
        payment_id = pick(data, with_credit, payment_ids, "payment")
        row = state.payments[payment_id]
        left = payments.unapplied(row, state.held(payment_id))
        await payments.apply_payment(
            session=session,
            actor=staff,
            payment_id=payment_id,
            allocations=draw_shares(data, ledger, state, left or row.amount),
        )
    elif operation == "refund" and payment_ids:
        refundable = [
            p
            for p in payment_ids
            if state.payments[p].status in payments.SETTLED_STATUSES
            and state.payments[p].refunded_amount < state.payments[p].amount
        ]
        payment_id = pick(data, refundable, payment_ids, "payment")
        row = state.payments[payment_id]
        amount = draw_units(
            data, (row.amount - row.refunded_amount) or row.amount, ledger, "refund"
        )
        named = None
        if data.draw(st.booleans(), label="name invoices"):
            named = [
                payments.AllocationData(
                    a.invoice_id,
                    draw_units(data, (a.amount - a.refunded_amount) or a.amount, ledger, "back"),
                )
                for a in state.held(payment_id)
                if data.draw(st.booleans(), label="take back")
            ]
        await payments.refund_payment(
            session=session, actor=staff, payment_id=payment_id, amount=amount, allocations=named
        )
    elif operation == "credit":
        credit = await credits.create_credit(
            session=session,
            actor=staff,
            data=credits.CreditData(
                client_id=ledger.contact.client_id,
                amount=draw_units(data, Decimal(300), ledger, "credit"),
            ),
        )
        ledger.credits.append(credit.id)
    elif operation == "apply_credit" and state.credits:
        every_credit = list(ledger.credits)
        open_credits = [c for c in every_credit if state.credits[c].balance > 0]
        credit_id = pick(data, open_credits, every_credit, "credit")
        owing = [i for i in ledger.invoices if state.invoices[i].balance > 0]
        invoice_id = pick(data, owing, ledger.invoices, "invoice")
        limit = min(state.credits[credit_id].balance, state.invoices[invoice_id].balance)
        applying: Decimal | None = None
        if not data.draw(st.booleans(), label="as much as possible"):
            applying = draw_units(data, limit or state.credits[credit_id].amount, ledger, "apply")
        await credits.apply_credit(
            session=session,
            actor=staff,
            credit_id=credit_id,
            invoice_id=invoice_id,
            amount=applying,
        )
    elif operation == "portal":
        chosen = data.draw(
            st.lists(st.sampled_from(ledger.invoices), min_size=1, max_size=3, unique=True),
            label="invoices",
        )
        due = sum((state.invoices[i].balance for i in chosen), Decimal(0))
        paying: Decimal | None = None
        if not data.draw(st.booleans(), label="pay what is due"):
            paying = draw_units(data, due or Decimal(1), ledger, "portal")
        started = await portal_payments.pay_invoices(
            session=session, contact=ledger.contact, invoice_ids=chosen, amount=paying
        )
        ledger.payments.append(started.payment.id)
    elif operation in ("complete", "fail") and payment_ids:
        pending = [p for p in payment_ids if state.payments[p].status is PaymentStatus.PENDING]
        payment_id = pick(data, pending, payment_ids, "payment")
        if operation == "complete":
            await payments.complete_payment(session=session, payment_id=payment_id)
        else:
            await payments.fail_payment(session=session, payment_id=payment_id)
    elif operation == "void":
        invoice_id = data.draw(st.sampled_from(ledger.invoices), label="invoice")
        await void_invoice(session=session, actor=staff, invoice_id=invoice_id)


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_money_invariants_hold_under_any_sequence_of_movements(runtime, data):
    ledger = await open_account(runtime, data)
    state = await read_state(runtime, ledger)
    check_invariants(state, ledger.currency)
    steps = data.draw(st.integers(4, 14), label="steps")
    for _ in range(steps):
        operation = data.draw(st.sampled_from(OPERATIONS), label="operation")
        before = state.snapshot()
        async with runtime.sessions() as session:
            try:
                await run_operation(session, data, ledger, state, operation)
            except PorticoError:
                await session.rollback()
                refused = True
            else:
                await session.commit()
                refused = False
        event(f"{operation} {'refused' if refused else 'done'}")
        state = await read_state(runtime, ledger)
        if refused:
            assert state.snapshot() == before, operation
        check_invariants(state, ledger.currency)


# --- concurrent movements (PostgreSQL row locks) -----------------------------------------


async def concurrently(runtime: Any, calls: list[Any]) -> list[bool]:
    """Run each ``call(session)`` in its own session and write transaction (as a
    mutation runs) at the same time; ``True`` for those that committed, ``False`` for
    those refused."""

    async def one(call: Any) -> bool:
        async with runtime.sessions() as session:
            await begin_write(session)
            try:
                await call(session)
            except PorticoError:
                await session.rollback()
                return False
            await session.commit()
            return True

    return list(await asyncio.gather(*(one(call) for call in calls)))


async def test_concurrent_movements_never_overdraw(runtime, tenant):
    staff = tenant.principals[StaffRole.ADMIN]
    async with runtime.sessions() as session:
        client = await create_client(session=session, actor=staff, data=ClientData(name="C"))
        invoice_ids = []
        for _ in range(4):
            invoice = await create_invoice(
                session=session,
                actor=staff,
                data=InvoiceData(
                    client_id=client.id,
                    lines=[LineData(description="W", quantity=Decimal(1), unit_price=Decimal(100))],
                ),
            )
            await send_invoice(as_work(session, runtime), actor=staff, invoice_id=invoice.id)
            invoice_ids.append(invoice.id)
        payment = await payments.record_payment(
            session=session,
            actor=staff,
            data=payments.PaymentData(
                client_id=client.id, amount=Decimal(100), method=PaymentMethodKind.CASH
            ),
        )
        credit = await credits.create_credit(
            session=session,
            actor=staff,
            data=credits.CreditData(client_id=client.id, amount=Decimal(100)),
        )
        await session.commit()
    ledger = Ledger(
        staff=staff,
        contact=ContactPrincipal(
            account_id=staff.account_id,
            contact_id=uuid.uuid4(),
            client_id=client.id,
            role=ContactRole.BILLING,
            modules=frozenset(Module),
            session_id=uuid.uuid4(),
        ),
        currency="USD",
        invoices=invoice_ids,
    )

    def apply(invoice_id: uuid.UUID) -> Any:
        async def call(session: Any) -> None:
            await payments.apply_payment(
                session=session,
                actor=staff,
                payment_id=payment.id,
                allocations=[payments.AllocationData(invoice_id, Decimal(70))],
            )

        return call

    def use_credit(invoice_id: uuid.UUID) -> Any:
        async def call(session: Any) -> None:
            await credits.apply_credit(
                session=session,
                actor=staff,
                credit_id=credit.id,
                invoice_id=invoice_id,
                amount=Decimal(70),
            )

        return call

    async def refund(session: Any) -> None:
        await payments.refund_payment(
            session=session, actor=staff, payment_id=payment.id, amount=Decimal(60)
        )

    # when four connections each apply 70.00 of the same 100.00 payment to an invoice
    applied = await concurrently(runtime, [apply(i) for i in invoice_ids])
    # then exactly one succeeds
    assert applied.count(True) == 1
    # and likewise for a 100.00 credit, and for refunds of 60.00 of the payment
    assert (await concurrently(runtime, [use_credit(i) for i in invoice_ids])).count(True) == 1
    assert (await concurrently(runtime, [refund] * 3)).count(True) == 1
    check_invariants(await read_state(runtime, ledger), "USD")
