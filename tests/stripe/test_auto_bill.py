"""Auto-bill through a real localstripe (issue 12, item 6): the scheduler charges the
invoices of auto-billed schedules off-session to the client's default card, once per
invoice, retries a decline 1, 3 and 5 days later with a mail to the billing contacts each
time, hands a 3-D Secure card to the client, and charges once with two schedulers
running at the same time."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import col, select

from models.auto_bill import InvoiceAutoBill
from models.enums import PaymentStatus
from models.mail import MailMessage
from models.payments import Payment
from server.scheduler import RecurringScheduler
from services.db import create_engine
from services.recurring.scheduler import generate_due_invoices
from services.runtime import Runtime
from services.stripe_gateway import auto_bill
from services.stripe_gateway.auto_bill import charge_due_invoices
from services.stripe_gateway.off_session import NEEDS_AUTHENTICATION, NO_METHOD, STALE_AFTER
from tests.schema.test_payments import billing_setup, create_invoice_with
from tests.stripe.helpers import (
    PAY,
    connect_stripe,
    eventually,
    intent_of,
    methods_of,
    save_card,
    serving,
)

CREATE_RECURRING = """
mutation($input: RecurringInvoiceInput!) { createRecurringInvoice(input: $input) { id } }
"""
START_RECURRING = "mutation($id: ID!) { startRecurringInvoice(id: $id) { id status } }"
ISSUED = """
query($id: ID!) {
  recurringInvoice(id: $id) {
    invoices {
      edges { node {
        id status balance
        autoBill { status attempts nextAttemptAt lastAttemptAt lastError }
      } }
    }
  }
}
"""
SET_DEFAULT = "mutation($id: ID!) { setDefaultPaymentMethod(id: $id) { id isDefault } }"
RECORD_PAYMENT = "mutation($input: RecordPaymentInput!) { recordPayment(input: $input) { id } }"
CONTACT_EMAIL = """
query { viewer { ... on Contact { email } } }
"""


def later(days: float = 0, minutes: float = 1) -> datetime:
    return datetime.now(UTC) + timedelta(days=days, minutes=minutes)


async def auto_billed(gql, tenant, client_id, price="500.00", auto_bill="ALWAYS") -> str:
    """A started schedule of one line whose first invoice is due today."""
    lines = [{"description": "Retainer", "quantity": "1", "unitPrice": price}]
    recurring = (
        await gql.data(
            CREATE_RECURRING,
            {"input": {"clientId": client_id, "autoBill": auto_bill, "lines": lines}},
            token=tenant.admin,
        )
    )["createRecurringInvoice"]["id"]
    await gql.data(START_RECURRING, {"id": recurring}, token=tenant.admin)
    return str(recurring)


async def issued(gql, token, recurring_id) -> list[dict[str, Any]]:
    data = await gql.data(ISSUED, {"id": recurring_id}, token=token)
    return [edge["node"] for edge in data["recurringInvoice"]["invoices"]["edges"]]


async def payments(runtime) -> list[Payment]:
    async with runtime.sessions() as session:
        return list((await session.exec(select(Payment).order_by(col(Payment.created_at)))).all())


async def failure_mails(runtime) -> list[MailMessage]:
    async with runtime.sessions() as session:
        rows = await session.exec(
            select(MailMessage)
            .where(col(MailMessage.template) == "auto_bill_failed")
            .order_by(col(MailMessage.created_at))
        )
        return list(rows.all())


async def billing(gql, runtime, tenant, client, localstripe, card: str | None = "ok"):
    """Stripe connected, a billing contact, and (unless ``card`` is None) its card saved."""
    await connect_stripe(gql, tenant.admin)
    acme, contact = await billing_setup(gql, runtime, tenant)
    if card is not None:
        await save_card(gql, client, localstripe, tenant.account_id, contact, card)
    return acme, contact


async def test_an_auto_billed_invoice_is_charged_off_session_once(
    gql, tenant, runtime, client, localstripe
):
    # given a client with a saved card and a schedule that bills automatically
    acme, contact = await billing(gql, runtime, tenant, client, localstripe)
    recurring = await auto_billed(gql, tenant, acme["id"])
    scheduler = RecurringScheduler(runtime)
    # when the scheduler runs
    run = await scheduler.run_once()
    # then the invoice is issued and paid by the card, in one attempt
    assert (len(run.issued), run.auto_bill_attempts) == (1, 1)
    [invoice] = await issued(gql, tenant.admin, recurring)
    assert (invoice["status"], invoice["balance"]) == ("PAID", "0.00")
    assert invoice["autoBill"]["status"] == "SUCCEEDED"
    assert invoice["autoBill"]["attempts"] == 1
    assert invoice["autoBill"]["nextAttemptAt"] is None
    [payment] = await payments(runtime)
    assert (payment.status, payment.amount, payment.provider) == (
        PaymentStatus.COMPLETED,
        Decimal("500.00"),
        "stripe",
    )
    intent = localstripe.intent(payment.provider_payment_id)
    assert (intent["status"], intent["amount"], intent["metadata"]["portico_payment_id"]) == (
        "succeeded",
        50000,
        str(payment.id),
    )
    [card] = await methods_of(gql, contact)
    assert payment.payment_method_id == uuid.UUID(card["id"])
    # and the client sees it too
    [seen] = await issued(gql, contact, recurring)
    assert seen["autoBill"]["status"] == "SUCCEEDED"
    # when the scheduler runs again (and again tomorrow), nothing more is charged
    await scheduler.run_once()
    await scheduler.run_once(now=later(days=1))
    assert len(await payments(runtime)) == 1
    assert await failure_mails(runtime) == []


async def test_a_stripe_outage_spends_no_attempt_and_charges_once_when_it_ends(
    gql, tenant, runtime, client, localstripe
):
    # given an auto-billed invoice due today, and Stripe unreachable
    acme, contact = await billing(gql, runtime, tenant, client, localstripe)
    recurring = await auto_billed(gql, tenant, acme["id"])
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{closed.getsockname()[1]}"
    outage = dataclasses.replace(
        runtime, settings=runtime.settings.model_copy(update={"stripe_api_base": dead})
    )
    # when the scheduler runs during the outage, twice
    first = await RecurringScheduler(outage).run_once()
    assert len(first.issued) == 1
    again = await charge_due_invoices(outage, now=later(minutes=20))
    # then no attempt is spent, the client is not mailed and the payment waits
    assert len(again.unreachable) == 1
    assert again.attempts == 0
    [invoice] = await issued(gql, tenant.admin, recurring)
    assert invoice["status"] == "SENT"
    assert invoice["autoBill"]["attempts"] == 1
    assert invoice["autoBill"]["status"] == "CHARGING"
    assert "APIConnectionError" in invoice["autoBill"]["lastError"]
    assert await failure_mails(runtime) == []
    [waiting] = await payments(runtime)
    assert waiting.status is PaymentStatus.PENDING
    # when Stripe is back, the next run charges that same attempt, once
    run = await charge_due_invoices(runtime, now=later(minutes=40))
    assert len(run.succeeded) == 1
    [invoice] = await issued(gql, contact, recurring)
    assert (invoice["status"], invoice["autoBill"]["attempts"]) == ("PAID", 1)
    [paid] = await payments(runtime)
    assert (paid.id, paid.status) == (waiting.id, PaymentStatus.COMPLETED)
    assert localstripe.intent(paid.provider_payment_id)["status"] == "succeeded"


async def test_a_declined_card_is_retried_after_1_3_and_5_days_then_given_up(
    gql, tenant, runtime, client, localstripe
):
    # given the client's card attaches but every charge fails (4000000000000341)
    acme, _contact = await billing(gql, runtime, tenant, client, localstripe, "fails_to_charge")
    recurring = await auto_billed(gql, tenant, acme["id"])
    scheduler = RecurringScheduler(runtime)
    # when the scheduler charges the new invoice
    await scheduler.run_once()
    # then the attempt failed, is visible, and the next is planned a day later
    [invoice] = await issued(gql, tenant.admin, recurring)
    auto = invoice["autoBill"]
    assert (invoice["status"], invoice["balance"]) == ("SENT", "500.00")
    assert (auto["status"], auto["attempts"]) == ("SCHEDULED", 1)
    assert "declined" in auto["lastError"].lower()
    first_try = datetime.fromisoformat(auto["lastAttemptAt"])
    assert datetime.fromisoformat(auto["nextAttemptAt"]) - first_try == timedelta(days=1)
    # and the billing contact was mailed the reason and the date of the next try
    [mail] = await failure_mails(runtime)
    assert "did not go through" in mail.subject
    assert "declined" in mail.text_body.lower()
    retry = (first_try + timedelta(days=1)).date()  # the account's time zone is UTC
    assert f"try again on {retry:%b} {retry.day}, {retry.year}." in mail.text_body
    assert "/portal/" in mail.text_body  # a link to pay the invoice
    # when the scheduler runs before the retry is due, nothing is tried
    await scheduler.run_once(now=later(days=0.9))
    assert len(await payments(runtime)) == 1
    # when the retries come, 1, then 3, then 5 days after each failure
    elapsed = 0.0
    for attempt, wait in ((2, 1), (3, 3), (4, 5)):
        elapsed += wait
        await scheduler.run_once(now=later(days=elapsed, minutes=attempt))
        [invoice] = await issued(gql, tenant.admin, recurring)
        assert invoice["autoBill"]["attempts"] == attempt
    # then after the fourth attempt no more are made, and the invoice is still owed
    auto = invoice["autoBill"]
    assert (auto["status"], auto["nextAttemptAt"]) == ("FAILED", None)
    await scheduler.run_once(now=later(days=30))
    attempts = await payments(runtime)
    assert [p.status for p in attempts] == [PaymentStatus.FAILED] * 4
    mails = await failure_mails(runtime)
    assert len(mails) == 4
    assert "will not try again" in mails[-1].text_body
    assert (invoice["status"], invoice["balance"]) == ("SENT", "500.00")


async def test_a_new_default_card_pays_on_the_next_retry(gql, tenant, runtime, client, localstripe):
    acme, contact = await billing(gql, runtime, tenant, client, localstripe, "fails_to_charge")
    recurring = await auto_billed(gql, tenant, acme["id"])
    scheduler = RecurringScheduler(runtime)
    await scheduler.run_once()
    # when the client adds a working card and makes it the default after the mail
    await save_card(gql, client, localstripe, tenant.account_id, contact, "ok")
    newest = (await methods_of(gql, contact))[0]
    await gql.data(SET_DEFAULT, {"id": newest["id"]}, token=contact)
    await scheduler.run_once(now=later(days=1))
    # then the retry charges it and the invoice is paid
    [invoice] = await issued(gql, tenant.admin, recurring)
    assert (invoice["status"], invoice["autoBill"]["status"]) == ("PAID", "SUCCEEDED")
    assert invoice["autoBill"]["attempts"] == 2
    assert invoice["autoBill"]["lastError"] is None
    assert [p.status for p in await payments(runtime)] == [
        PaymentStatus.FAILED,
        PaymentStatus.COMPLETED,
    ]


async def test_without_a_saved_card_the_client_is_asked_to_add_one(
    gql, tenant, runtime, client, localstripe
):
    acme, _contact = await billing(gql, runtime, tenant, client, localstripe, card=None)
    recurring = await auto_billed(gql, tenant, acme["id"])
    await RecurringScheduler(runtime).run_once()
    [invoice] = await issued(gql, tenant.admin, recurring)
    assert invoice["autoBill"]["status"] == "SCHEDULED"
    assert invoice["autoBill"]["lastError"] == NO_METHOD
    assert await payments(runtime) == []  # nothing was sent to Stripe
    [mail] = await failure_mails(runtime)
    assert "add one in the client portal" in mail.text_body


async def three_d_secure_card(gql, runtime, tenant, localstripe):
    """Stripe connected, a billing contact, and the 3-D Secure card it saved (its default)
    while paying an invoice, authenticated then."""
    await connect_stripe(gql, tenant.admin)
    acme, contact = await billing_setup(gql, runtime, tenant)
    first = await create_invoice_with(gql, tenant.admin, acme["id"])
    started = (await gql.data(PAY, {"invoiceIds": [first], "save": True}, token=contact))[
        "payInvoices"
    ]
    intent = intent_of(started["clientSecret"])
    async with serving(runtime) as base:
        localstripe.send_webhooks_to(f"{base}/webhooks/stripe/{tenant.account_id}")
        localstripe.confirm(intent, "3ds")
        localstripe.authenticate(intent, started["clientSecret"])

        async def saved():
            return await methods_of(gql, contact)

        [card] = await eventually(saved)
    assert card["last4"] == "3155"
    return acme, contact


async def test_a_card_asking_for_3d_secure_is_left_to_the_client(gql, tenant, runtime, localstripe):
    # given a 3-D Secure card the client saved while paying an invoice (authenticated then)
    acme, _contact = await three_d_secure_card(gql, runtime, tenant, localstripe)
    # when a schedule bills it automatically, off-session (nobody can authenticate)
    recurring = await auto_billed(gql, tenant, acme["id"])
    scheduler = RecurringScheduler(runtime)
    await scheduler.run_once()
    # then the client is asked to pay it in the portal, and no retry is planned
    [invoice] = await issued(gql, tenant.admin, recurring)
    auto = invoice["autoBill"]
    assert (auto["status"], auto["attempts"], auto["nextAttemptAt"]) == ("ACTION_REQUIRED", 1, None)
    assert auto["lastError"] == NEEDS_AUTHENTICATION
    attempt = (await payments(runtime))[-1]
    assert attempt.status is PaymentStatus.FAILED
    assert localstripe.intent(attempt.provider_payment_id)["status"] == "canceled"
    [mail] = await failure_mails(runtime)
    assert mail.subject.startswith("Please confirm your payment")
    await scheduler.run_once(now=later(days=2))
    assert (await issued(gql, tenant.admin, recurring))[0]["autoBill"]["attempts"] == 1


async def test_an_invoice_paid_otherwise_is_not_charged_again(
    gql, tenant, runtime, client, localstripe
):
    acme, _contact = await billing(gql, runtime, tenant, client, localstripe, "fails_to_charge")
    recurring = await auto_billed(gql, tenant, acme["id"])
    scheduler = RecurringScheduler(runtime)
    await scheduler.run_once()
    [invoice] = await issued(gql, tenant.admin, recurring)
    # when staff record a bank transfer for it before the retry
    await gql.data(
        RECORD_PAYMENT,
        {
            "input": {
                "clientId": acme["id"],
                "amount": "500.00",
                "method": "BANK_TRANSFER",
                "allocations": [{"invoiceId": invoice["id"], "amount": "500.00"}],
            }
        },
        token=tenant.admin,
    )
    await scheduler.run_once(now=later(days=1))
    # then the retry is canceled and no card is charged
    [invoice] = await issued(gql, tenant.admin, recurring)
    assert (invoice["status"], invoice["autoBill"]["status"]) == ("PAID", "CANCELED")
    assert invoice["autoBill"]["attempts"] == 1
    card_payments = [p for p in await payments(runtime) if p.provider == "stripe"]
    assert len(card_payments) == 1


async def test_two_schedulers_at_once_charge_each_invoice_once(
    gql, tenant, runtime, client, localstripe, backend
):
    # given three clients whose auto-billed invoices come due together
    await connect_stripe(gql, tenant.admin)
    schedules = []
    for _ in range(3):
        acme, contact = await billing_setup(gql, runtime, tenant)
        await save_card(gql, client, localstripe, tenant.account_id, contact)
        schedules.append(await auto_billed(gql, tenant, acme["id"]))
    # when two server instances (each its own engine) run the scheduler at the same moment
    engines = [create_engine(backend.url, **backend.engine_kwargs) for _ in range(2)]
    try:
        schedulers = [RecurringScheduler(Runtime.build(runtime.settings, e)) for e in engines]
        runs = await asyncio.gather(*(s.run_once() for s in schedulers))
        again = await asyncio.gather(*(s.run_once() for s in schedulers))
    finally:
        for engine in engines:
            await engine.dispose()
    # then each invoice was issued once and charged once
    assert sum(len(run.issued) for run in runs) == 3
    assert sum(run.auto_bill_attempts for run in (*runs, *again)) == 3
    charged = await payments(runtime)
    assert len(charged) == 3
    assert {p.status for p in charged} == {PaymentStatus.COMPLETED}
    async with runtime.sessions() as session:
        rows = (await session.exec(select(InvoiceAutoBill))).all()
    assert sorted((row.status.value, row.attempts) for row in rows) == [("SUCCEEDED", 1)] * 3
    for recurring in schedules:
        [invoice] = await issued(gql, tenant.admin, recurring)
        assert invoice["status"] == "PAID"


async def test_an_attempt_left_charging_by_a_stopped_scheduler_is_finished_once(
    gql, tenant, runtime, client, localstripe
):
    # given a scheduler that claimed an invoice's attempt and stopped before Stripe answered
    acme, _contact = await billing(gql, runtime, tenant, client, localstripe)
    recurring = await auto_billed(gql, tenant, acme["id"])
    await generate_due_invoices(runtime, today=datetime.now(UTC).date())
    [invoice] = await issued(gql, tenant.admin, recurring)
    claimed_at = datetime.now(UTC)
    claimed = await auto_bill._claim(runtime, uuid.UUID(invoice["id"]), claimed_at)
    assert isinstance(claimed, auto_bill._Charge)
    # when another run comes soon after, the attempt is left alone (it may be in flight)
    soon = await charge_due_invoices(runtime, now=claimed_at + timedelta(minutes=5))
    assert soon.attempts == 0
    # when it has been CHARGING for longer than a charge takes, it is finished: the same
    # attempt (same idempotency key) with the same payment
    late = await charge_due_invoices(runtime, now=claimed_at + STALE_AFTER)
    assert late.succeeded == [uuid.UUID(invoice["id"])]
    [payment] = await payments(runtime)
    assert (payment.id, payment.status) == (claimed.payment_id, PaymentStatus.COMPLETED)
    [invoice] = await issued(gql, tenant.admin, recurring)
    assert (invoice["status"], invoice["autoBill"]["attempts"]) == ("PAID", 1)
