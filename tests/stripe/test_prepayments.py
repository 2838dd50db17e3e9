"""Pre-payments through a real localstripe (issue 12, item 8): where the account enables
client-initiated payments, a billing contact pays ahead at least the account's minimum;
once Stripe confirms it the money is the client's credit; a recurring one is charged
off-session on schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import col, select

from models.enums import PaymentStatus, StaffRole
from models.payments import Payment
from server.scheduler import RecurringScheduler
from tests.schema.test_payments import billing_setup
from tests.stripe.helpers import (
    connect_stripe,
    eventually,
    intent_of,
    methods_of,
    save_card,
    serving,
)

SETTINGS = """
mutation($input: AccountSettingsInput!) {
  updateAccountSettings(input: $input) { id clientPrepaymentsEnabled clientPrepaymentMinimum }
}
"""
PREPAY = """
mutation($amount: Decimal!, $recurring: RecurringPrepaymentInput, $pm: ID) {
  makePrepayment(amount: $amount, recurring: $recurring, paymentMethodId: $pm) {
    payment { id status amount }
    clientSecret publishableKey intentStatus
    recurring { id amount frequency cycles charges status nextChargeAt }
  }
}
"""
CREDIT = "query { availableCredit { currency creditNotes unappliedPayments total } }"
PAYMENT = "query($id: ID!) { payment(id: $id) { id status amount } }"
RECURRING = "query { recurringPrepayments { id status charges nextChargeAt lastError } }"
CANCEL = "mutation($id: ID!) { cancelRecurringPrepayment(id: $id) { id status nextChargeAt } }"


async def enabled(gql, tenant, minimum="25.00") -> None:
    await gql.data(
        SETTINGS,
        {"input": {"clientPrepaymentsEnabled": True, "clientPrepaymentMinimum": minimum}},
        token=tenant.admin,
    )


def code_of(body: dict[str, Any]) -> str:
    code: str = body["errors"][0]["extensions"]["code"]
    return code


async def stripe_payments(runtime) -> list[Payment]:
    async with runtime.sessions() as session:
        rows = await session.exec(select(Payment).order_by(col(Payment.created_at)))
        return list(rows.all())


async def test_a_prepayment_becomes_the_clients_credit_once_paid(gql, tenant, runtime, localstripe):
    # given an account taking pre-payments of at least 25.00
    await connect_stripe(gql, tenant.admin)
    await enabled(gql, tenant)
    _acme, contact = await billing_setup(gql, runtime, tenant)
    # when the billing contact pre-pays 40.00 and confirms the card with Stripe.js
    started = (await gql.data(PREPAY, {"amount": "40.00"}, token=contact))["makePrepayment"]
    assert (started["payment"]["status"], started["payment"]["amount"]) == ("PENDING", "40.00")
    assert started["clientSecret"]
    assert started["recurring"] is None
    assert await gql.data(CREDIT, token=contact) == {"availableCredit": []}
    intent = intent_of(started["clientSecret"])
    async with serving(runtime) as base:
        localstripe.send_webhooks_to(f"{base}/webhooks/stripe/{tenant.account_id}")
        confirmed = localstripe.confirm(intent, "ok")
        assert confirmed.status_code == 200, confirmed.text

        async def completed():
            data = await gql.data(PAYMENT, {"id": started["payment"]["id"]}, token=contact)
            return data["payment"]["status"] == "COMPLETED"

        await eventually(completed)
    # then Stripe's payment_intent.succeeded made it the client's credit
    assert (await gql.data(CREDIT, token=contact))["availableCredit"] == [
        {"currency": "USD", "creditNotes": "0.00", "unappliedPayments": "40.00", "total": "40.00"}
    ]
    assert localstripe.intent(intent)["amount"] == 4000


async def test_below_the_minimum_is_refused_and_nothing_is_charged(
    gql, tenant, runtime, localstripe
):
    await connect_stripe(gql, tenant.admin)
    await enabled(gql, tenant, minimum="25.00")
    _acme, contact = await billing_setup(gql, runtime, tenant)
    for amount in ("24.99", "30.001", "0"):
        refused = await gql(PREPAY, {"amount": amount}, token=contact)
        assert code_of(refused) == "BAD_USER_INPUT", (amount, refused)
        assert refused["errors"][0]["extensions"].get("field") == "amount"
    assert (
        "$25.00" in (await gql(PREPAY, {"amount": "24.99"}, token=contact))["errors"][0]["message"]
    )
    assert await stripe_payments(runtime) == []


async def test_without_client_prepayments_enabled_it_is_forbidden(
    gql, tenant, runtime, localstripe
):
    await connect_stripe(gql, tenant.admin)
    _acme, contact = await billing_setup(gql, runtime, tenant)
    refused = await gql(PREPAY, {"amount": "100.00"}, token=contact)
    assert code_of(refused) == "FORBIDDEN"
    assert await stripe_payments(runtime) == []


async def test_a_recurring_prepayment_is_charged_on_schedule(
    gql, tenant, runtime, client, localstripe
):
    # given a billing contact with a saved card
    await connect_stripe(gql, tenant.admin)
    await enabled(gql, tenant)
    _acme, contact = await billing_setup(gql, runtime, tenant)
    await save_card(gql, client, localstripe, tenant.account_id, contact)
    [card] = await methods_of(gql, contact)
    # when it pre-pays 50.00 a month, three times in all, with that card
    started = (
        await gql.data(
            PREPAY,
            {
                "amount": "50.00",
                "recurring": {"frequency": "MONTHLY", "cycles": 3},
                "pm": card["id"],
            },
            token=contact,
        )
    )["makePrepayment"]
    # then the first is charged at once (off-session, the card is saved)
    assert (started["intentStatus"], started["payment"]["status"]) == ("succeeded", "COMPLETED")
    recurring = started["recurring"]
    assert (recurring["charges"], recurring["cycles"], recurring["status"]) == (1, 3, "ACTIVE")
    # and each month the scheduler charges the next, until the third
    scheduler = RecurringScheduler(runtime)
    next_at = datetime.fromisoformat(recurring["nextChargeAt"])
    assert 28 <= (next_at - datetime.now(UTC)).days <= 31
    await scheduler.run_once(now=next_at - timedelta(minutes=1))
    assert len(await stripe_payments(runtime)) == 1
    run = await scheduler.run_once(now=next_at + timedelta(minutes=1))
    assert run.prepayment_charges == 1
    [row] = (await gql.data(RECURRING, token=contact))["recurringPrepayments"]
    await scheduler.run_once(now=datetime.fromisoformat(row["nextChargeAt"]) + timedelta(minutes=1))
    [row] = (await gql.data(RECURRING, token=contact))["recurringPrepayments"]
    assert (row["status"], row["charges"], row["nextChargeAt"]) == ("COMPLETED", 3, None)
    await scheduler.run_once(now=next_at + timedelta(days=120))
    paid = await stripe_payments(runtime)
    assert [(p.status, p.amount) for p in paid] == [(PaymentStatus.COMPLETED, Decimal("50.00"))] * 3
    assert (await gql.data(CREDIT, token=contact))["availableCredit"][0]["total"] == "150.00"


async def test_a_recurring_prepayment_needs_a_saved_card_and_can_be_stopped(
    gql, tenant, runtime, client, localstripe
):
    await connect_stripe(gql, tenant.admin)
    await enabled(gql, tenant)
    _acme, contact = await billing_setup(gql, runtime, tenant)
    weekly = {"frequency": "WEEKLY"}
    refused = await gql(PREPAY, {"amount": "30.00", "recurring": weekly}, token=contact)
    assert code_of(refused) == "BAD_USER_INPUT"
    await save_card(gql, client, localstripe, tenant.account_id, contact)
    started = (await gql.data(PREPAY, {"amount": "30.00", "recurring": weekly}, token=contact))[
        "makePrepayment"
    ]
    # the first is paid in the portal (no card named): Stripe.js confirms it
    assert started["clientSecret"]
    assert started["recurring"]["cycles"] is None
    stopped = (await gql.data(CANCEL, {"id": started["recurring"]["id"]}, token=contact))[
        "cancelRecurringPrepayment"
    ]
    assert (stopped["status"], stopped["nextChargeAt"]) == ("CANCELED", None)
    await RecurringScheduler(runtime).run_once(now=datetime.now(UTC) + timedelta(days=8))
    assert len(await stripe_payments(runtime)) == 1  # only the first, still pending


async def test_staff_who_manage_billing_stop_a_clients_recurring_prepayment(
    gql, tenant, make_tenant, runtime, client, localstripe
):
    # given a contact's weekly pre-payment
    await connect_stripe(gql, tenant.admin)
    await enabled(gql, tenant)
    _acme, contact = await billing_setup(gql, runtime, tenant)
    await save_card(gql, client, localstripe, tenant.account_id, contact)
    weekly = {"frequency": "WEEKLY"}
    started = (await gql.data(PREPAY, {"amount": "30.00", "recurring": weekly}, token=contact))[
        "makePrepayment"
    ]
    prepayment_id = started["recurring"]["id"]
    # a staff member who does not manage billing has no such mutation ...
    member = await gql(CANCEL, {"id": prepayment_id}, token=tenant.tokens[StaffRole.MEMBER])
    assert code_of(member) == "GRAPHQL_VALIDATION_FAILED"
    # ... and another account's admin cannot find it
    other = await make_tenant("globex")
    foreign = await gql(CANCEL, {"id": prepayment_id}, token=other.admin)
    assert code_of(foreign) == "NOT_FOUND"
    [row] = (await gql.data(RECURRING, token=contact))["recurringPrepayments"]
    assert row["status"] == "ACTIVE"
    # when the account's manager stops it (the client asked by phone)
    stopped = (
        await gql.data(CANCEL, {"id": prepayment_id}, token=tenant.tokens[StaffRole.MANAGER])
    )["cancelRecurringPrepayment"]
    # then the contact sees it stopped, and no later cycle is charged
    assert (stopped["status"], stopped["nextChargeAt"]) == ("CANCELED", None)
    [row] = (await gql.data(RECURRING, token=contact))["recurringPrepayments"]
    assert (row["status"], row["nextChargeAt"]) == ("CANCELED", None)
    await RecurringScheduler(runtime).run_once(now=datetime.now(UTC) + timedelta(days=8))
    assert len(await stripe_payments(runtime)) == 1  # only the first, still pending


async def test_a_declined_first_payment_starts_no_schedule(
    gql, tenant, runtime, client, localstripe
):
    await connect_stripe(gql, tenant.admin)
    await enabled(gql, tenant)
    _acme, contact = await billing_setup(gql, runtime, tenant)
    await save_card(gql, client, localstripe, tenant.account_id, contact, "fails_to_charge")
    [card] = await methods_of(gql, contact)
    declined = await gql(
        PREPAY,
        {"amount": "30.00", "recurring": {"frequency": "MONTHLY"}, "pm": card["id"]},
        token=contact,
    )
    assert code_of(declined) == "PAYMENT_DECLINED"
    [row] = (await gql.data(RECURRING, token=contact))["recurringPrepayments"]
    assert (row["status"], row["nextChargeAt"]) == ("CANCELED", None)
    [payment] = await stripe_payments(runtime)
    assert payment.status is PaymentStatus.FAILED
    assert (await gql.data(CREDIT, token=contact))["availableCredit"] == []
