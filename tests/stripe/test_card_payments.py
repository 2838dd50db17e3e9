"""Connecting Stripe and paying invoices by card through a real localstripe process
(issue 12): the official library's requests, localstripe's signed webhooks to a running
Portico, and events signed as Stripe signs them where localstripe sends none."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
from sqlmodel import col, select

from models.accounts import Account
from models.stripe import StripeEvent
from tests.schema.test_payments import billing_setup, create_invoice_with
from tests.stripe.helpers import (
    INVOICE,
    PAY,
    PAYMENT,
    connect_stripe,
    eventually,
    intent_of,
    serving,
)
from tests.stripe.server import SECRET_KEY, WEBHOOK_SECRET, signed

MANUAL = """
mutation($input: RecordPaymentInput!) { recordPayment(input: $input) { id status } }
"""


async def test_connecting_keeps_the_keys_sealed_and_shows_the_webhook_url(
    gql, tenant, runtime, localstripe
):
    account = await connect_stripe(gql, tenant.admin)
    assert account["stripeConnected"] is True
    assert account["stripePublishableKey"].startswith("pk_test_")
    assert account["stripeWebhookUrl"] == f"http://portal.test/webhooks/stripe/{tenant.account_id}"
    async with runtime.sessions() as session:
        row = await session.get(Account, tenant.account_id)
    assert row is not None
    assert row.stripe_secret_key
    assert row.stripe_webhook_secret
    assert SECRET_KEY not in row.stripe_secret_key  # sealed at rest
    assert WEBHOOK_SECRET not in row.stripe_webhook_secret
    # and no field of the schema reads them back
    types = await gql.data('{ __type(name: "Account") { fields { name } } }', token=tenant.admin)
    names = {f["name"] for f in types["__type"]["fields"]}
    assert not {"stripeSecretKey", "stripeWebhookSecret"} & names


async def test_keys_of_the_wrong_shape_are_refused(gql, tenant, localstripe):
    body = await gql(
        "mutation($i: StripeConnectionInput!) { connectStripe(input: $i) { id } }",
        {
            "i": {
                "secretKey": "pk_test_x",
                "publishableKey": "pk_test_x",
                "webhookSecret": "whsec_x",
            }
        },
        token=tenant.admin,
    )
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "secretKey"}


async def test_without_stripe_card_payments_are_not_configured_and_manual_ones_work(
    gql, tenant, runtime
):
    client, contact = await billing_setup(gql, runtime, tenant)
    invoice = await create_invoice_with(gql, tenant.admin, client["id"])
    body = await gql(PAY, {"invoiceIds": [invoice]}, token=contact)
    assert body["errors"][0]["extensions"]["code"] == "PAYMENTS_NOT_CONFIGURED"
    manual = await gql.data(
        MANUAL,
        {
            "input": {
                "clientId": client["id"],
                "amount": "100.00",
                "method": "BANK_TRANSFER",
                "allocations": [{"invoiceId": invoice, "amount": "100.00"}],
            }
        },
        token=tenant.admin,
    )
    assert manual["recordPayment"]["status"] == "COMPLETED"


async def paying(gql, runtime, tenant, price="100.00"):
    await connect_stripe(gql, tenant.admin)
    client, contact = await billing_setup(gql, runtime, tenant)
    invoice = await create_invoice_with(gql, tenant.admin, client["id"], price=price)
    return client, contact, invoice


async def status_of(gql, tenant, payment_id) -> str:
    data = await gql.data(PAYMENT, {"id": payment_id}, token=tenant.admin)
    return str(data["payment"]["status"])


async def test_a_card_payment_is_applied_when_stripe_says_it_succeeded(
    gql, tenant, runtime, localstripe
):
    _client, contact, invoice = await paying(gql, runtime, tenant)
    started = (await gql.data(PAY, {"invoiceIds": [invoice]}, token=contact))["payInvoices"]
    assert started["payment"]["status"] == "PENDING"
    assert started["intentStatus"] == "requires_payment_method"
    assert started["publishableKey"].startswith("pk_test_")
    intent = intent_of(started["clientSecret"])
    assert localstripe.intent(intent)["amount"] == 10000  # minor units
    async with serving(runtime) as base:
        localstripe.send_webhooks_to(f"{base}/webhooks/stripe/{tenant.account_id}")
        confirmed = localstripe.confirm(intent, "ok")  # what Stripe.js does
        assert confirmed.status_code == 200, confirmed.text

        async def completed():
            return await status_of(gql, tenant, started["payment"]["id"]) == "COMPLETED"

        await eventually(completed)
    paid = (await gql.data(INVOICE, {"id": invoice}, token=tenant.admin))["invoice"]
    assert (paid["status"], paid["balance"], paid["paidState"]) == ("PAID", "0.00", "PAID")


async def test_a_declined_card_fails_the_payment_and_changes_no_invoice(
    gql, tenant, runtime, localstripe
):
    _client, contact, invoice = await paying(gql, runtime, tenant)
    started = (await gql.data(PAY, {"invoiceIds": [invoice]}, token=contact))["payInvoices"]
    intent = intent_of(started["clientSecret"])
    async with serving(runtime) as base:
        localstripe.send_webhooks_to(f"{base}/webhooks/stripe/{tenant.account_id}")
        declined = localstripe.confirm(intent, "fails_to_charge")
        assert declined.status_code == 402

        async def failed():
            return await status_of(gql, tenant, started["payment"]["id"]) == "FAILED"

        await eventually(failed)
    unpaid = (await gql.data(INVOICE, {"id": invoice}, token=tenant.admin))["invoice"]
    assert (unpaid["status"], unpaid["balance"]) == ("SENT", "100.00")


async def test_three_d_secure_needs_the_payer_then_completes(gql, tenant, runtime, localstripe):
    _client, contact, invoice = await paying(gql, runtime, tenant)
    started = (await gql.data(PAY, {"invoiceIds": [invoice]}, token=contact))["payInvoices"]
    intent = intent_of(started["clientSecret"])
    async with serving(runtime) as base:
        localstripe.send_webhooks_to(f"{base}/webhooks/stripe/{tenant.account_id}")
        localstripe.confirm(intent, "3ds")
        assert localstripe.intent(intent)["status"] == "requires_action"
        assert await status_of(gql, tenant, started["payment"]["id"]) == "PENDING"
        localstripe.authenticate(intent, started["clientSecret"])

        async def completed():
            return await status_of(gql, tenant, started["payment"]["id"]) == "COMPLETED"

        await eventually(completed)


async def test_paying_again_replaces_the_pending_payment_never_two_charges(
    gql, tenant, runtime, localstripe
):
    _client, contact, invoice = await paying(gql, runtime, tenant)
    first = (await gql.data(PAY, {"invoiceIds": [invoice]}, token=contact))["payInvoices"]
    second = (await gql.data(PAY, {"invoiceIds": [invoice]}, token=contact))["payInvoices"]
    assert await status_of(gql, tenant, first["payment"]["id"]) == "CANCELED"
    assert localstripe.intent(intent_of(first["clientSecret"]))["status"] == "canceled"
    assert await status_of(gql, tenant, second["payment"]["id"]) == "PENDING"
    assert intent_of(second["clientSecret"]) != intent_of(first["clientSecret"])


# --- webhooks posted as Stripe signs them ---------------------------------------------------


def intent_event(
    intent: dict[str, Any], kind: str = "payment_intent.succeeded", **changes: Any
) -> dict[str, Any]:
    return {
        "id": f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": {**intent, **changes}},
    }


async def post_event(client: httpx.AsyncClient, account_id, event, **sign: Any) -> httpx.Response:
    body, headers = signed(event, **sign)
    return await client.post(f"/webhooks/stripe/{account_id}", content=body, headers=headers)


async def stored_events(runtime) -> list[StripeEvent]:
    async with runtime.sessions() as session:
        return list(
            (await session.exec(select(StripeEvent).order_by(col(StripeEvent.received_at)))).all()
        )


async def started_intent(
    gql, runtime, tenant, localstripe
) -> tuple[dict[str, Any], dict[str, Any], str]:
    _client, contact, invoice = await paying(gql, runtime, tenant)
    started = (await gql.data(PAY, {"invoiceIds": [invoice]}, token=contact))["payInvoices"]
    intent = localstripe.intent(intent_of(started["clientSecret"]))
    return started, intent, invoice


async def test_forged_and_stale_signatures_are_refused_and_nothing_is_stored(
    gql, tenant, runtime, client, localstripe
):
    started, intent, _invoice = await started_intent(gql, runtime, tenant, localstripe)
    event = intent_event({**intent, "status": "succeeded"})
    forged = await post_event(client, tenant.account_id, event, secret="whsec_someone_else")
    stale = await post_event(client, tenant.account_id, event, at=int(time.time()) - 301)
    unsigned = await client.post(f"/webhooks/stripe/{tenant.account_id}", content=b"{}")
    assert (forged.status_code, stale.status_code, unsigned.status_code) == (400, 400, 400)
    assert await stored_events(runtime) == []
    assert await status_of(gql, tenant, started["payment"]["id"]) == "PENDING"


async def test_a_retried_delivery_is_applied_once_and_a_late_failure_changes_nothing(
    gql, tenant, runtime, client, localstripe
):
    started, intent, invoice = await started_intent(gql, runtime, tenant, localstripe)
    succeeded = intent_event({**intent, "status": "succeeded"})
    answers = [await post_event(client, tenant.account_id, succeeded) for _ in range(3)]
    assert [a.json()["outcome"] for a in answers] == ["applied", "duplicate", "duplicate"]
    late_failure = intent_event(
        {**intent, "status": "requires_payment_method"}, kind="payment_intent.payment_failed"
    )
    answer = await post_event(client, tenant.account_id, late_failure)
    assert answer.json()["outcome"] == "ignored: the payment is completed"
    assert await status_of(gql, tenant, started["payment"]["id"]) == "COMPLETED"
    paid = (await gql.data(INVOICE, {"id": invoice}, token=tenant.admin))["invoice"]
    assert (paid["amountPaid"], paid["balance"]) == ("100.00", "0.00")
    assert len(await stored_events(runtime)) == 2


async def test_a_success_for_another_amount_or_account_is_refused(
    gql, tenant, runtime, client, make_tenant, localstripe
):
    started, intent, _invoice = await started_intent(gql, runtime, tenant, localstripe)
    cheaper = intent_event({**intent, "status": "succeeded", "amount": 100})
    answer = await post_event(client, tenant.account_id, cheaper)
    assert answer.json()["outcome"] == "refused: amount or currency differs from the payment"
    other = await make_tenant("globex")
    await connect_stripe(gql, other.admin)
    elsewhere = intent_event({**intent, "status": "succeeded"})
    answer = await post_event(client, other.account_id, elsewhere)
    assert answer.json()["outcome"] == "refused: not this account's payment"
    assert await status_of(gql, tenant, started["payment"]["id"]) == "PENDING"


async def test_a_cancellation_at_stripe_cancels_a_pending_payment(
    gql, tenant, runtime, client, localstripe
):
    started, intent, _invoice = await started_intent(gql, runtime, tenant, localstripe)
    canceled = intent_event({**intent, "status": "canceled"}, kind="payment_intent.canceled")
    answer = await post_event(client, tenant.account_id, canceled)
    assert answer.json()["outcome"] == "applied"
    assert await status_of(gql, tenant, started["payment"]["id"]) == "CANCELED"
