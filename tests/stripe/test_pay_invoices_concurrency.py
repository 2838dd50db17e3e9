"""``payInvoices(amounts:)`` sent many times at once by one billing contact, each paying a
part of the same open invoice with a saved card (charged off-session at once), on SQLite
and on PostgreSQL, against a real localstripe process.

What the contact and the business would check afterwards: the invoice's paid amount is
exactly the sum of the payments that went through, each applied once; a request that
could not be honoured was answered with a GraphQL error carrying a stable
``extensions.code``, charged nothing at Stripe and left no payment behind; and with
overpayments off, the card is never charged more than the invoice's total.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import select

from models.enums import PaymentMethodKind, PaymentStatus
from models.invoices import Invoice
from models.payments import Payment, PaymentAllocation
from models.types import utcnow
from services.stripe_gateway.card_payments import IN_FLIGHT
from tests.schema.test_capabilities import set_account
from tests.schema.test_payments import billing_setup, create_invoice_with
from tests.stripe.helpers import connect_stripe, methods_of, save_card

RACERS = 15

PAY_AMOUNTS = """
mutation($invoiceIds: [ID!]!, $amounts: [AllocationInput!], $paymentMethodId: ID) {
  payInvoices(invoiceIds: $invoiceIds, amounts: $amounts, paymentMethodId: $paymentMethodId) {
    payment { id status amount }
    clientSecret intentStatus amount
  }
}
"""
INVOICE = """
query($id: ID!) { invoice(id: $id) { status total amountPaid balance paidState } }
"""
PAYMENTS = """
query($invoiceId: ID) {
  payments(first: 100, invoiceId: $invoiceId) {
    totalCount
    edges { node { id status amount unappliedAmount allocations { amount invoice { id } } } }
  }
}
"""
GOING_THROUGH = "A payment for these invoices is already going through."


async def with_card(gql, runtime, tenant, client, localstripe, price: str):
    """A billing contact with a saved card and an open invoice of ``price``."""
    await connect_stripe(gql, tenant.admin)
    acme, contact = await billing_setup(gql, runtime, tenant)
    await save_card(gql, client, localstripe, tenant.account_id, contact)
    (card,) = await methods_of(gql, contact)
    invoice = await create_invoice_with(gql, tenant.admin, acme["id"], price=price)
    return contact, card["id"], invoice


async def race(gql, contact: str, card: str, invoice: str, amounts: list[str]):
    """Every amount paid at once, each its own request; the answers in the same order."""

    async def pay(amount: str) -> dict[str, Any]:
        variables = {
            "invoiceIds": [invoice],
            "amounts": [{"invoiceId": invoice, "amount": amount}],
            "paymentMethodId": card,
        }
        answer: dict[str, Any] = await gql(PAY_AMOUNTS, variables, token=contact)
        return answer

    return await asyncio.gather(*(pay(amount) for amount in amounts))


def outcomes(answers: list[dict[str, Any]], amounts: list[str], *, too_much: bool = False):
    """The payments that went through ``{payment id: amount}``. Each other answer must be
    a clean refusal: another payment for the invoice is going through (CONFLICT), or,
    where ``too_much`` may happen, the amount is now more than the balance."""
    paid: dict[str, Decimal] = {}
    refused = 0
    for amount, answer in zip(amounts, answers, strict=True):
        if answer.get("errors"):
            [error] = answer["errors"]
            assert answer["data"] is None, answer
            if error["extensions"]["code"] == "CONFLICT":
                assert error["message"] == GOING_THROUGH, answer
            else:
                assert too_much, answer
                assert error["extensions"] == {
                    "code": "BAD_USER_INPUT",
                    "field": "amounts.0.amount",
                }, answer
                assert error["message"].startswith("Pay at most the balance of $"), answer
            refused += 1
            continue
        started = answer["data"]["payInvoices"]
        # charged off-session with the saved card: through at once, nothing left to confirm
        assert started["payment"]["status"] == "COMPLETED", answer
        assert (started["intentStatus"], started["clientSecret"]) == ("succeeded", None)
        assert Decimal(started["payment"]["amount"]) == Decimal(amount)
        assert started["payment"]["id"] not in paid  # one payment per request
        paid[started["payment"]["id"]] = Decimal(amount)
    assert len(paid) + refused == len(amounts)
    return paid


async def check_books(gql, runtime, tenant, localstripe, invoice: str, paid: dict[str, Decimal]):
    """The invoice, the payments, the database and Stripe all agree with ``paid``."""
    total_paid = sum(paid.values(), Decimal(0))
    shown = (await gql.data(INVOICE, {"id": invoice}, token=tenant.admin))["invoice"]
    total = Decimal(shown["total"])
    assert Decimal(shown["amountPaid"]) == total_paid
    assert Decimal(shown["balance"]) == total - total_paid
    assert total_paid <= total
    # each payment that went through is applied once, all of it on the invoice
    listed = (await gql.data(PAYMENTS, {"invoiceId": invoice}, token=tenant.admin))["payments"]
    nodes = [edge["node"] for edge in listed["edges"]]
    assert {node["id"]: Decimal(node["amount"]) for node in nodes} == paid
    for node in nodes:
        assert node["status"] == "COMPLETED"
        assert Decimal(node["unappliedAmount"]) == 0  # nothing became credit by accident
        assert [(a["invoice"]["id"], Decimal(a["amount"])) for a in node["allocations"]] == [
            (invoice, paid[node["id"]])
        ]
    # the requests refused wrote nothing: no payment row, no planned allocation
    async with runtime.sessions() as session:
        payments = (
            await session.exec(select(Payment).where(Payment.account_id == tenant.account_id))
        ).all()
        allocations = (
            await session.exec(
                select(PaymentAllocation).where(PaymentAllocation.account_id == tenant.account_id)
            )
        ).all()
    assert {str(payment.id) for payment in payments} == set(paid)
    assert sorted(str(row.payment_id) for row in allocations) == sorted(paid)
    # and Stripe charged exactly the payments that went through, once each
    intents = localstripe.intents_for(tenant.account_id)
    charged = [intent for intent in intents if intent["status"] == "succeeded"]
    assert sorted(intent["metadata"]["portico_payment_id"] for intent in charged) == sorted(paid)
    assert sum(intent["amount"] for intent in charged) == int(total_paid * 100)
    assert all(intent["status"] in ("succeeded", "canceled") for intent in intents)


async def test_concurrent_partial_payments_are_each_applied_once(
    gql, runtime, tenant, client, localstripe
):
    # given an open invoice of 1,000.00 and a saved card
    contact, card, invoice = await with_card(gql, runtime, tenant, client, localstripe, "1000.00")
    # when 15 parts of it (1.01, 2.02, ... 15.15: 121.20 in all) are paid at once
    amounts = [f"{n}.{n:02d}" for n in range(1, RACERS + 1)]
    answers = await race(gql, contact, card, invoice, amounts)
    # then each went through or was refused cleanly, and the books agree
    paid = outcomes(answers, amounts)
    assert paid  # at least one payment goes through
    await check_books(gql, runtime, tenant, localstripe, invoice, paid)
    # and a payment sent once the race is over goes through
    [after] = await race(gql, contact, card, invoice, ["20.00"])
    paid |= outcomes([after], ["20.00"])
    await check_books(gql, runtime, tenant, localstripe, invoice, paid)


async def test_concurrent_payments_beyond_the_balance_never_overpay(
    gql, runtime, tenant, client, localstripe
):
    # given an open invoice of 100.00, overpayments off, and a saved card
    await set_account(runtime, tenant.account_id, allow_overpayment=False)
    contact, card, invoice = await with_card(gql, runtime, tenant, client, localstripe, "100.00")
    # when 15 payments of 12.00 (180.00 in all) are sent at once
    amounts = ["12.00"] * RACERS
    answers = await race(gql, contact, card, invoice, amounts)
    # then no more than the invoice's total was charged, and the books agree
    paid = outcomes(answers, amounts, too_much=True)
    assert paid
    assert sum(paid.values(), Decimal(0)) <= Decimal("100.00")
    await check_books(gql, runtime, tenant, localstripe, invoice, paid)
    # and paying on until the balance is less than 12.00, the next is refused as too much
    while (balance := await balance_of(gql, tenant, invoice)) >= Decimal("12.00"):
        [answer] = await race(gql, contact, card, invoice, ["12.00"])
        paid |= outcomes([answer], ["12.00"])
    [too_much] = await race(gql, contact, card, invoice, ["12.00"])
    assert too_much["errors"][0]["extensions"] == {
        "code": "BAD_USER_INPUT",
        "field": "amounts.0.amount",
    }, too_much
    assert balance == Decimal("100.00") - sum(paid.values(), Decimal(0))
    await check_books(gql, runtime, tenant, localstripe, invoice, paid)


async def balance_of(gql, tenant, invoice: str) -> Decimal:
    shown = (await gql.data(INVOICE, {"id": invoice}, token=tenant.admin))["invoice"]
    return Decimal(shown["balance"])


async def test_an_attempt_on_its_way_to_stripe_is_not_replaced_an_abandoned_one_is(
    gql, runtime, tenant, client, localstripe
):
    # given a started payment still without its PaymentIntent (its request is calling
    # Stripe, which may be charging a saved card right now)
    contact, card, invoice = await with_card(gql, runtime, tenant, client, localstripe, "100.00")
    async with runtime.sessions() as session:
        account_id = tenant.account_id
        payment = Payment(
            account_id=account_id,
            client_id=(await client_of(runtime, invoice)),
            amount=Decimal("40.00"),
            currency="USD",
            method=PaymentMethodKind.CARD,
            status=PaymentStatus.PENDING,
            received_on=utcnow().date(),
            provider="stripe",
        )
        session.add(payment)
        await session.flush()
        session.add(
            PaymentAllocation(
                account_id=account_id,
                payment_id=payment.id,
                invoice_id=uuid.UUID(invoice),
                amount=Decimal("40.00"),
            )
        )
        await session.commit()
        in_flight = payment.id
    # when the contact pays the invoice meanwhile, it is refused and writes nothing
    [refused] = await race(gql, contact, card, invoice, ["10.00"])
    assert refused["errors"][0]["message"] == GOING_THROUGH, refused
    assert refused["errors"][0]["extensions"] == {"code": "CONFLICT"}, refused
    async with runtime.sessions() as session:
        rows = (await session.exec(select(Payment).where(Payment.account_id == account_id))).all()
    assert [(row.id, row.status) for row in rows] == [(in_flight, PaymentStatus.PENDING)]
    assert await balance_of(gql, tenant, invoice) == Decimal("100.00")
    # but once it is older than any call to Stripe takes, it was abandoned: replaced
    async with runtime.sessions() as session:
        row = await session.get(Payment, in_flight)
        assert row is not None
        row.created_at = utcnow() - IN_FLIGHT - timedelta(seconds=1)
        await session.commit()
    [paid] = await race(gql, contact, card, invoice, ["10.00"])
    assert paid["data"]["payInvoices"]["payment"]["status"] == "COMPLETED", paid
    assert await balance_of(gql, tenant, invoice) == Decimal("90.00")
    async with runtime.sessions() as session:
        abandoned = await session.get(Payment, in_flight)
    assert abandoned is not None
    assert abandoned.status is PaymentStatus.CANCELED


async def client_of(runtime, invoice: str) -> uuid.UUID:
    async with runtime.sessions() as session:
        row = await session.get(Invoice, uuid.UUID(invoice))
    assert row is not None
    client_id: uuid.UUID = row.client_id
    return client_id
