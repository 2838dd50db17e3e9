"""Recurring pre-payment cycles are charged like auto-billed invoices, through a real
localstripe and a real SMTP server: a declined cycle is retried 1, 3 and 5 days later
and then given up, the billing contacts mailed each time; a 3-D Secure card is left to
the client; a Stripe outage spends no attempt; two schedulers at once charge a cycle
once."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select

from models.enums import PaymentStatus
from models.mail import MailMessage
from models.payments import Payment
from models.prepayments import RecurringPrepayment
from server.scheduler import RecurringScheduler
from services.db import create_engine
from services.runtime import Runtime
from services.stripe_gateway.off_session import NEEDS_AUTHENTICATION, STALE_AFTER
from services.stripe_gateway.prepayments import REFERENCE, charge_due_prepayments
from tests.schema.test_payments import billing_setup
from tests.stripe.helpers import connect_stripe, methods_of, save_card
from tests.stripe.test_auto_bill import SET_DEFAULT, three_d_secure_card
from tests.stripe.test_prepayments import CANCEL, CREDIT, PREPAY, enabled

PREPAYMENTS = """
query {
  recurringPrepayments {
    id status charges nextChargeAt lastError
    latestCharge { cycle status attempts nextAttemptAt lastAttemptAt lastError }
  }
}
"""
MONTHLY = {"frequency": "MONTHLY"}


async def monthly_prepayment(
    gql, runtime, tenant, client, localstripe, card: str | None = "ok", contact: str | None = None
):
    """A billing contact (``contact``, else a new client's, Stripe connected) whose default
    card is ``card`` (None: the one it has) pre-pays 50.00 a month; the first is paid in
    the portal (Stripe.js), the next is the scheduler's. Answers the contact's token and
    when the second cycle is due."""
    if contact is None:
        await connect_stripe(gql, tenant.admin)
        _acme, contact = await billing_setup(gql, runtime, tenant)
    await enabled(gql, tenant)
    if card is not None:
        await save_card(gql, client, localstripe, tenant.account_id, contact, card)
    started = (await gql.data(PREPAY, {"amount": "50.00", "recurring": MONTHLY}, token=contact))[
        "makePrepayment"
    ]
    return contact, datetime.fromisoformat(started["recurring"]["nextChargeAt"])


async def prepayment(gql, token) -> dict[str, Any]:
    [row] = (await gql.data(PREPAYMENTS, token=token))["recurringPrepayments"]
    return dict(row)


async def scheduler_payments(runtime) -> list[Payment]:
    """The pre-payments the scheduler made (the first, paid in the portal, names no card)."""
    async with runtime.sessions() as session:
        rows = await session.exec(
            select(Payment)
            .where(col(Payment.reference) == REFERENCE, col(Payment.payment_method_id).is_not(None))
            .order_by(col(Payment.created_at))
        )
        return list(rows.all())


async def failure_mails(runtime) -> list[MailMessage]:
    async with runtime.sessions() as session:
        rows = await session.exec(
            select(MailMessage).where(col(MailMessage.template) == "prepayment_failed")
        )
        return list(rows.all())


async def mails_received(runtime, smtp_server) -> list[Any]:
    """The pre-payment mails the SMTP server received, once the outbox is delivered."""
    await runtime.mailer.drain()
    return [m for m in smtp_server.messages if "pre-payment" in m["Subject"]]


def unreachable(runtime: Runtime) -> Runtime:
    """``runtime`` with Stripe at a port nobody listens on."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{closed.getsockname()[1]}"
    return dataclasses.replace(
        runtime, settings=runtime.settings.model_copy(update={"stripe_api_base": dead})
    )


async def test_a_declined_cycle_is_retried_after_1_3_and_5_days_then_given_up(
    gql, tenant, smtp_runtime, smtp_server, client, localstripe
):
    # given a monthly pre-payment whose card attaches but every charge fails (…0341)
    runtime = smtp_runtime
    contact, due = await monthly_prepayment(
        gql, runtime, tenant, client, localstripe, "fails_to_charge"
    )
    scheduler = RecurringScheduler(runtime)
    # when the scheduler charges the second cycle
    await scheduler.run_once(now=due + timedelta(minutes=1))
    # then the attempt failed, the contact sees it, and the next is planned a day later
    row = await prepayment(gql, contact)
    charge = row["latestCharge"]
    assert (row["status"], row["charges"]) == ("ACTIVE", 2)
    assert (charge["cycle"], charge["status"], charge["attempts"]) == (2, "SCHEDULED", 1)
    assert "declined" in charge["lastError"].lower()
    first_try = datetime.fromisoformat(charge["lastAttemptAt"])
    assert datetime.fromisoformat(charge["nextAttemptAt"]) - first_try == timedelta(days=1)
    # and the billing contact got a mail (over SMTP) with the reason and the next try's date
    [mail] = await mails_received(runtime, smtp_server)
    assert "$50.00" in mail["Subject"]
    assert "did not go through" in mail["Subject"]
    text = mail.get_body(("plain",)).get_content()
    assert "declined" in text.lower()
    retry = first_try + timedelta(days=1)
    assert f"try again on {retry:%b} {retry.day}, {retry.year}." in text
    assert "/portal/" in text
    # when the scheduler runs before the retry is due, nothing is tried
    await scheduler.run_once(now=first_try + timedelta(days=0.9))
    assert len(await scheduler_payments(runtime)) == 1
    # when the retries come, 1, then 3, then 5 days after each failure
    elapsed = 0
    for attempt, wait in ((2, 1), (3, 3), (4, 5)):
        elapsed += wait
        await scheduler.run_once(now=first_try + timedelta(days=elapsed, minutes=attempt))
        assert (await prepayment(gql, contact))["latestCharge"]["attempts"] == attempt
    # then after the fourth attempt the cycle is given up, and no more are made for it
    row = await prepayment(gql, contact)
    assert (row["latestCharge"]["status"], row["latestCharge"]["nextAttemptAt"]) == (
        "FAILED",
        None,
    )
    await scheduler.run_once(now=first_try + timedelta(days=20))
    assert [p.status for p in await scheduler_payments(runtime)] == [PaymentStatus.FAILED] * 4
    mails = await mails_received(runtime, smtp_server)
    assert len(mails) == 4
    assert {m["To"] for m in mails} == {m.to_address for m in await failure_mails(runtime)}
    last = mails[-1].get_body(("plain",)).get_content()
    assert "will not try this payment again" in last
    next_charge = datetime.fromisoformat(row["nextChargeAt"])  # the account is in UTC
    assert f"next one is due on {next_charge:%b} {next_charge.day}, {next_charge.year}." in last
    # and the schedule goes on: the third cycle is tried on its own date
    assert row["status"] == "ACTIVE"
    await scheduler.run_once(now=datetime.fromisoformat(row["nextChargeAt"]) + timedelta(minutes=1))
    row = await prepayment(gql, contact)
    assert (row["charges"], row["latestCharge"]["cycle"], row["latestCharge"]["attempts"]) == (
        3,
        3,
        1,
    )
    assert await gql.data(CREDIT, token=contact) == {"availableCredit": []}


async def test_a_new_default_card_pays_the_retry(gql, tenant, runtime, client, localstripe):
    contact, due = await monthly_prepayment(
        gql, runtime, tenant, client, localstripe, "fails_to_charge"
    )
    scheduler = RecurringScheduler(runtime)
    await scheduler.run_once(now=due + timedelta(minutes=1))
    # when the client saves a working card and makes it the default after the mail
    await save_card(gql, client, localstripe, tenant.account_id, contact, "ok")
    newest = (await methods_of(gql, contact))[0]
    await gql.data(SET_DEFAULT, {"id": newest["id"]}, token=contact)
    await scheduler.run_once(now=due + timedelta(days=1, minutes=2))
    # then the retry charges it: the cycle is paid, the money is the client's credit
    charge = (await prepayment(gql, contact))["latestCharge"]
    assert (charge["status"], charge["attempts"], charge["lastError"]) == ("SUCCEEDED", 2, None)
    assert [p.status for p in await scheduler_payments(runtime)] == [
        PaymentStatus.FAILED,
        PaymentStatus.COMPLETED,
    ]
    [credit] = (await gql.data(CREDIT, token=contact))["availableCredit"]
    assert credit["unappliedPayments"] == "50.00"


async def test_stopping_the_prepayment_drops_its_planned_retry(
    gql, tenant, runtime, client, localstripe
):
    contact, due = await monthly_prepayment(
        gql, runtime, tenant, client, localstripe, "fails_to_charge"
    )
    scheduler = RecurringScheduler(runtime)
    await scheduler.run_once(now=due + timedelta(minutes=1))
    row = await prepayment(gql, contact)
    await gql.data(CANCEL, {"id": row["id"]}, token=contact)
    row = await prepayment(gql, contact)
    assert row["status"] == "CANCELED"
    assert (row["latestCharge"]["status"], row["latestCharge"]["nextAttemptAt"]) == (
        "CANCELED",
        None,
    )
    await scheduler.run_once(now=due + timedelta(days=2))
    assert len(await scheduler_payments(runtime)) == 1


async def test_a_card_asking_for_3d_secure_is_left_to_the_client(
    gql, tenant, smtp_runtime, smtp_server, client, localstripe
):
    # given a pre-payment charged to a 3-D Secure card (authenticated when it was saved)
    runtime = smtp_runtime
    _acme, contact = await three_d_secure_card(gql, runtime, tenant, localstripe)
    contact, due = await monthly_prepayment(
        gql, runtime, tenant, client, localstripe, card=None, contact=contact
    )
    scheduler = RecurringScheduler(runtime)
    # when the scheduler charges a cycle off-session (nobody can authenticate)
    await scheduler.run_once(now=due + timedelta(minutes=1))
    # then the client is asked to pre-pay by hand, and no retry is planned
    charge = (await prepayment(gql, contact))["latestCharge"]
    assert (charge["status"], charge["attempts"], charge["nextAttemptAt"]) == (
        "ACTION_REQUIRED",
        1,
        None,
    )
    assert charge["lastError"] == NEEDS_AUTHENTICATION
    [attempt] = await scheduler_payments(runtime)
    assert attempt.status is PaymentStatus.FAILED
    assert localstripe.intent(attempt.provider_payment_id)["status"] == "canceled"
    [mail] = await mails_received(runtime, smtp_server)
    assert mail["Subject"].startswith("Please confirm your pre-payment")
    await scheduler.run_once(now=due + timedelta(days=2))
    assert (await prepayment(gql, contact))["latestCharge"]["attempts"] == 1


async def test_a_stripe_outage_spends_no_attempt_and_charges_once_when_it_ends(
    gql, tenant, runtime, client, localstripe
):
    contact, due = await monthly_prepayment(gql, runtime, tenant, client, localstripe)
    outage = unreachable(runtime)
    # when the scheduler runs during the outage, and again later
    first = await charge_due_prepayments(outage, now=due + timedelta(minutes=1))
    again = await charge_due_prepayments(outage, now=due + STALE_AFTER + timedelta(minutes=2))
    # then no attempt is spent, the client is not mailed and the payment waits
    assert (len(first.unreachable), len(again.unreachable), again.attempts) == (1, 1, 0)
    charge = (await prepayment(gql, contact))["latestCharge"]
    assert (charge["status"], charge["attempts"]) == ("CHARGING", 1)
    assert "APIConnectionError" in charge["lastError"]
    assert await failure_mails(runtime) == []
    [waiting] = await scheduler_payments(runtime)
    assert waiting.status is PaymentStatus.PENDING
    # when a run comes before the claim is stale, it leaves the attempt alone
    soon = await charge_due_prepayments(runtime, now=due + STALE_AFTER + timedelta(minutes=5))
    assert soon.attempts == 0
    # when Stripe is back, the same attempt (same payment, same key) is charged, once
    run = await charge_due_prepayments(runtime, now=due + 2 * STALE_AFTER + timedelta(minutes=3))
    assert len(run.succeeded) == 1
    charge = (await prepayment(gql, contact))["latestCharge"]
    assert (charge["status"], charge["attempts"], charge["lastError"]) == ("SUCCEEDED", 1, None)
    [paid] = await scheduler_payments(runtime)
    assert (paid.id, paid.status) == (waiting.id, PaymentStatus.COMPLETED)
    intent = localstripe.intent(paid.provider_payment_id)
    assert (intent["status"], intent["metadata"]["portico_prepayment_attempt"]) == (
        "succeeded",
        "1",
    )
    later = await charge_due_prepayments(runtime, now=due + timedelta(days=1))
    assert later.attempts == 0


async def test_two_schedulers_at_once_charge_each_cycle_once(
    gql, tenant, runtime, client, localstripe, backend
):
    # given three clients whose monthly pre-payments come due together
    await connect_stripe(gql, tenant.admin)
    await enabled(gql, tenant)
    due = []
    for _ in range(3):
        _acme, contact = await billing_setup(gql, runtime, tenant)
        await save_card(gql, client, localstripe, tenant.account_id, contact)
        started = (
            await gql.data(PREPAY, {"amount": "50.00", "recurring": MONTHLY}, token=contact)
        )["makePrepayment"]
        due.append(datetime.fromisoformat(started["recurring"]["nextChargeAt"]))
    moment = max(due) + timedelta(minutes=1)
    # when two server instances (each its own engine) run the scheduler at the same moment
    engines = [create_engine(backend.url, **backend.engine_kwargs) for _ in range(2)]
    try:
        schedulers = [RecurringScheduler(Runtime.build(runtime.settings, e)) for e in engines]
        runs = await asyncio.gather(*(s.run_once(now=moment) for s in schedulers))
        again = await asyncio.gather(*(s.run_once(now=moment) for s in schedulers))
    finally:
        for engine in engines:
            await engine.dispose()
    # then each pre-payment's second cycle was charged once
    assert sum(run.prepayment_charges for run in (*runs, *again)) == 3
    charged = await scheduler_payments(runtime)
    assert len(charged) == 3
    assert {p.status for p in charged} == {PaymentStatus.COMPLETED}
    async with runtime.sessions() as session:
        rows = (await session.exec(select(RecurringPrepayment))).all()
    assert (
        sorted((r.charges, r.attempts, r.charge_status and r.charge_status.value) for r in rows)
        == [(2, 1, "SUCCEEDED")] * 3
    )
    assert {p.client_id for p in charged} == {r.client_id for r in rows}
