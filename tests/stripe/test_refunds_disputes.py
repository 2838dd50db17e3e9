"""Refunds through Stripe and disputes (issue 12, items 3 and 4): a real localstripe for
the payment and the refund requests, and events signed exactly as Stripe signs them
(``tests/stripe/events.py``) for what localstripe never sends — ``charge.refunded``,
``charge.dispute.*`` — duplicated, reordered, forged, or for another account."""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from models.activity import Activity
from tests.stripe import events
from tests.stripe.helpers import INVOICE, PAY, connect_stripe, intent_of
from tests.stripe.test_card_payments import (
    intent_event,
    paying,
    post_event,
    status_of,
    stored_events,
)

REFUND = """
mutation($id: ID!, $amount: Decimal!, $allocations: [AllocationInput!]) {
  refundPayment(id: $id, amount: $amount, allocations: $allocations) {
    id status refundedAmount
  }
}
"""
PAYMENT = "query($id: ID!) { payment(id: $id) { status refundedAmount unappliedAmount } }"


@dataclass
class Paid:
    """A card payment of one invoice that Stripe charged and Portico applied."""

    payment_id: str
    invoice_id: str
    intent: str
    charge: str
    units: int


async def paid_by_card(gql, runtime, tenant, client, localstripe, price="100.00") -> Paid:
    _client, contact, invoice = await paying(gql, runtime, tenant, price=price)
    started = (await gql.data(PAY, {"invoiceIds": [invoice]}, token=contact))["payInvoices"]
    intent_id = intent_of(started["clientSecret"])
    assert localstripe.confirm(intent_id, "ok").status_code == 200
    intent = localstripe.intent(intent_id)
    answer = await post_event(client, tenant.account_id, intent_event(intent))
    assert answer.json()["outcome"] == "applied"
    latest = intent["latest_charge"]
    return Paid(
        payment_id=started["payment"]["id"],
        invoice_id=invoice,
        intent=intent_id,
        charge=latest["id"] if isinstance(latest, dict) else latest,
        units=intent["amount"],
    )


async def invoice_of(gql, tenant, invoice_id) -> tuple[str, str]:
    data = (await gql.data(INVOICE, {"id": invoice_id}, token=tenant.admin))["invoice"]
    return data["status"], data["balance"]


async def payment_of(gql, tenant, payment_id) -> dict[str, Any]:
    payment: dict[str, Any] = (await gql.data(PAYMENT, {"id": payment_id}, token=tenant.admin))[
        "payment"
    ]
    return payment


async def deliver(client: httpx.AsyncClient, tenant, kind: str, obj: dict[str, Any]) -> str:
    answer = await post_event(client, tenant.account_id, events.event(kind, obj))
    assert answer.status_code == 200, answer.text
    outcome: str = answer.json()["outcome"]
    return outcome


async def verbs(runtime, *names: str) -> list[tuple[str, dict[str, Any]]]:
    async with runtime.sessions() as session:
        rows = await session.exec(
            select(Activity)
            .where(col(Activity.verb).in_(names))
            .order_by(col(Activity.created_at), col(Activity.id))
        )
        return [(row.verb, row.details) for row in rows.all()]


# --- refunds -------------------------------------------------------------------------------


async def test_a_card_refund_goes_through_stripe_and_the_balance_follows(
    gql, tenant, runtime, client, localstripe
):
    paid = await paid_by_card(gql, runtime, tenant, client, localstripe)
    # when staff refund 30.00 of the 100.00 card payment
    refunded = await gql.data(
        REFUND, {"id": paid.payment_id, "amount": "30.00"}, token=tenant.admin
    )
    # then Stripe refunded 3000 cents of the PaymentIntent, named by the Portico refund
    (at_stripe,) = localstripe.refunds_of(paid.intent)
    assert at_stripe["amount"] == 3000
    assert set(at_stripe["metadata"]) == {"portico_refund_id", "portico_payment_id"}
    # and, Stripe having confirmed it, the invoice owes 30.00 again
    assert refunded["refundPayment"]["status"] == "PARTIALLY_REFUNDED"
    assert refunded["refundPayment"]["refundedAmount"] == "30.00"
    assert await invoice_of(gql, tenant, paid.invoice_id) == ("PARTIAL", "30.00")
    # and Stripe's charge.refunded that follows changes nothing
    charge = events.charge(paid.charge, paid.intent, paid.units, refunds=[at_stripe])
    assert await deliver(client, tenant, "charge.refunded", charge) == "ignored: already recorded"
    assert await invoice_of(gql, tenant, paid.invoice_id) == ("PARTIAL", "30.00")
    # and more than what remains is refused clearly, nothing asked of Stripe
    too_much = await gql(REFUND, {"id": paid.payment_id, "amount": "70.01"}, token=tenant.admin)
    assert too_much["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "amount"}
    assert "At most $70.00" in too_much["errors"][0]["message"]
    assert len(localstripe.refunds_of(paid.intent)) == 1
    # and the rest refunds it fully
    rest = await gql.data(REFUND, {"id": paid.payment_id, "amount": "70.00"}, token=tenant.admin)
    assert (rest["refundPayment"]["status"], rest["refundPayment"]["refundedAmount"]) == (
        "REFUNDED",
        "100.00",
    )
    assert await invoice_of(gql, tenant, paid.invoice_id) == ("SENT", "100.00")
    assert [verb for verb, _ in await verbs(runtime, "payment.refund_requested")] == [
        "payment.refund_requested"
    ] * 2


@pytest.fixture
def pending_refunds(localstripe):
    localstripe.refunds_become("pending")
    try:
        yield localstripe
    finally:
        localstripe.refunds_become("succeeded")


async def test_a_pending_refund_moves_money_only_when_stripe_confirms_it(
    gql, tenant, runtime, client, pending_refunds
):
    localstripe = pending_refunds
    paid = await paid_by_card(gql, runtime, tenant, client, localstripe)
    # when staff refund 40.00 and Stripe answers "pending"
    asked = await gql.data(REFUND, {"id": paid.payment_id, "amount": "40.00"}, token=tenant.admin)
    # then nothing moved yet
    assert asked["refundPayment"] == {
        "id": paid.payment_id,
        "status": "COMPLETED",
        "refundedAmount": "0.00",
    }
    assert await invoice_of(gql, tenant, paid.invoice_id) == ("PAID", "0.00")
    # and the pending 40.00 is held back from what can still be refunded
    more = await gql(REFUND, {"id": paid.payment_id, "amount": "60.01"}, token=tenant.admin)
    assert more["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "amount"}
    assert "$40.00 is being refunded already" in more["errors"][0]["message"]
    # when Stripe's charge.refunded arrives (the current API: only the total refunded)
    (at_stripe,) = localstripe.refunds_of(paid.intent)
    charge = events.charge(paid.charge, paid.intent, paid.units, amount_refunded=4000, listed=False)
    event = events.event("charge.refunded", charge)
    first = await post_event(client, tenant.account_id, event)
    again = await post_event(client, tenant.account_id, event)  # Stripe retries
    # then the refund is applied once
    assert (first.json()["outcome"], again.json()["outcome"]) == ("applied", "duplicate")
    assert await invoice_of(gql, tenant, paid.invoice_id) == ("PARTIAL", "40.00")
    assert (await payment_of(gql, tenant, paid.payment_id))["refundedAmount"] == "40.00"
    # and a later event listing the same refund, succeeded, changes nothing
    listed = events.charge(
        paid.charge, paid.intent, paid.units, refunds=[{**at_stripe, "status": "succeeded"}]
    )
    assert await deliver(client, tenant, "charge.refunded", listed) == "ignored: already recorded"
    assert (await payment_of(gql, tenant, paid.payment_id))["refundedAmount"] == "40.00"


async def test_a_refund_stripe_fails_changes_nothing(gql, tenant, runtime, client, pending_refunds):
    localstripe = pending_refunds
    paid = await paid_by_card(gql, runtime, tenant, client, localstripe)
    await gql.data(REFUND, {"id": paid.payment_id, "amount": "25.00"}, token=tenant.admin)
    (at_stripe,) = localstripe.refunds_of(paid.intent)
    failed = {**at_stripe, "status": "failed", "failure_reason": "expired_or_canceled_card"}
    assert await deliver(client, tenant, "charge.refund.updated", failed) == "applied"
    assert await invoice_of(gql, tenant, paid.invoice_id) == ("PAID", "0.00")
    # and the amount it held back can be refunded again
    again = await gql.data(REFUND, {"id": paid.payment_id, "amount": "100.00"}, token=tenant.admin)
    assert again["refundPayment"]["status"] == "COMPLETED"  # pending at Stripe
    (entry,) = await verbs(runtime, "payment.refund_failed")
    assert entry[1]["reason"] == "expired_or_canceled_card"


async def test_a_refund_made_at_stripe_before_the_success_arrived_is_recorded_once(
    gql, tenant, runtime, client, localstripe
):
    # given a card payment Stripe charged while Portico has not heard of it yet
    _client, contact, invoice = await paying(gql, runtime, tenant)
    started = (await gql.data(PAY, {"invoiceIds": [invoice]}, token=contact))["payInvoices"]
    intent_id = intent_of(started["clientSecret"])
    localstripe.confirm(intent_id, "ok")
    intent = localstripe.intent(intent_id)
    charge_id = intent["latest_charge"]["id"]
    # when charge.refunded for a 25.00 refund made in Stripe's dashboard comes first
    dashboard = events.refund(charge_id, intent_id, 2500)
    charge = events.charge(charge_id, intent_id, 10000, refunds=[dashboard])
    assert await deliver(client, tenant, "charge.refunded", charge) == "applied"
    # then the payment completed (the money came) and 25.00 of it went back
    assert (await payment_of(gql, tenant, started["payment"]["id"]))["status"] == (
        "PARTIALLY_REFUNDED"
    )
    assert await invoice_of(gql, tenant, invoice) == ("PARTIAL", "25.00")
    # and the success arriving late, and the same refund again, change nothing
    assert await deliver(client, tenant, "payment_intent.succeeded", intent) == (
        "ignored: already applied"
    )
    assert await deliver(client, tenant, "charge.refunded", charge) == "ignored: already recorded"
    assert await deliver(client, tenant, "refund.updated", dashboard) == (
        "ignored: already recorded"
    )
    assert await invoice_of(gql, tenant, invoice) == ("PARTIAL", "25.00")
    # and an older charge.refunded (fewer refunds) arriving after a newer one changes nothing
    second = events.refund(charge_id, intent_id, 5000)
    newer = events.charge(charge_id, intent_id, 10000, refunds=[dashboard, second])
    assert await deliver(client, tenant, "charge.refunded", newer) == "applied"
    assert await deliver(client, tenant, "charge.refunded", charge) == "ignored: already recorded"
    assert await invoice_of(gql, tenant, invoice) == ("PARTIAL", "75.00")
    assert len(await verbs(runtime, "payment.completed")) == 1
    assert len(await verbs(runtime, "payment.refunded")) == 2


async def test_refund_and_dispute_events_for_other_accounts_or_amounts_are_refused(
    gql, tenant, runtime, client, make_tenant, localstripe
):
    paid = await paid_by_card(gql, runtime, tenant, client, localstripe)
    other = await make_tenant("globex")
    await connect_stripe(gql, other.admin)
    refunded = events.charge(
        paid.charge, paid.intent, paid.units, refunds=[events.refund(paid.charge, paid.intent, 500)]
    )
    disputed = events.dispute(paid.charge, paid.intent, paid.units)
    for kind, obj in (("charge.refunded", refunded), ("charge.dispute.created", disputed)):
        answer = await post_event(client, other.account_id, events.event(kind, obj))
        assert answer.json()["outcome"] == "refused: not this account's payment", kind
    # and objects of the right account in another currency or amount
    assert await deliver(client, tenant, "charge.refunded", {**refunded, "currency": "eur"}) == (
        "refused: amount or currency differs from the payment"
    )
    assert await deliver(client, tenant, "charge.refunded", {**refunded, "amount": 999}) == (
        "refused: amount or currency differs from the payment"
    )
    assert await deliver(
        client, tenant, "charge.dispute.created", {**disputed, "currency": "eur"}
    ) == ("refused: currency differs from the payment")
    assert await payment_of(gql, tenant, paid.payment_id) == {
        "status": "COMPLETED",
        "refundedAmount": "0.00",
        "unappliedAmount": "0.00",
    }


async def test_forged_or_stale_refund_and_dispute_events_are_refused_and_not_stored(
    gql, tenant, runtime, client, localstripe
):
    paid = await paid_by_card(gql, runtime, tenant, client, localstripe)
    before = len(await stored_events(runtime))
    refunded = events.event(
        "charge.refunded",
        events.charge(paid.charge, paid.intent, paid.units, amount_refunded=paid.units),
    )
    lost = events.event(
        "charge.dispute.closed", events.dispute(paid.charge, paid.intent, paid.units, status="lost")
    )
    for event in (refunded, lost):
        forged = await post_event(client, tenant.account_id, event, secret="whsec_not_ours")
        stale = await post_event(client, tenant.account_id, event, at=int(time.time()) - 301)
        assert (forged.status_code, stale.status_code) == (400, 400)
    assert len(await stored_events(runtime)) == before
    assert await invoice_of(gql, tenant, paid.invoice_id) == ("PAID", "0.00")


# --- disputes ------------------------------------------------------------------------------


async def test_a_dispute_won_leaves_the_invoice_paid(gql, tenant, runtime, client, localstripe):
    paid = await paid_by_card(gql, runtime, tenant, client, localstripe)
    dispute = events.dispute(paid.charge, paid.intent, paid.units)
    # when the payer disputes the charge
    assert await deliver(client, tenant, "charge.dispute.created", dispute) == "applied"
    # then the payment is DISPUTED, still counts, and cannot be refunded
    assert await status_of(gql, tenant, paid.payment_id) == "DISPUTED"
    assert await invoice_of(gql, tenant, paid.invoice_id) == ("PAID", "0.00")
    refused = await gql(REFUND, {"id": paid.payment_id, "amount": "1.00"}, token=tenant.admin)
    assert refused["errors"][0]["extensions"] == {"code": "CONFLICT"}
    assert localstripe.refunds_of(paid.intent) == []
    # and a redelivered or updated dispute changes nothing more
    assert await deliver(client, tenant, "charge.dispute.created", dispute) == (
        "ignored: already disputed"
    )
    under_review = {**dispute, "status": "under_review"}
    assert await deliver(client, tenant, "charge.dispute.updated", under_review) == (
        "ignored: already disputed"
    )
    # when it closes won
    won = {**dispute, "status": "won"}
    assert await deliver(client, tenant, "charge.dispute.closed", won) == "applied"
    # then the payment stands as before
    assert await status_of(gql, tenant, paid.payment_id) == "COMPLETED"
    assert await invoice_of(gql, tenant, paid.invoice_id) == ("PAID", "0.00")
    # and the created event arriving late cannot reopen it
    assert await deliver(client, tenant, "charge.dispute.created", dispute) == (
        "ignored: the dispute is won"
    )
    assert await status_of(gql, tenant, paid.payment_id) == "COMPLETED"
    assert [
        verb for verb, _ in await verbs(runtime, "payment.disputed", "payment.dispute_won")
    ] == [
        "payment.disputed",
        "payment.dispute_won",
    ]


async def test_a_dispute_lost_reopens_the_invoice_balance(
    gql, tenant, runtime, client, localstripe
):
    paid = await paid_by_card(gql, runtime, tenant, client, localstripe)
    # given 20.00 of the payment refunded, then the rest disputed
    await gql.data(REFUND, {"id": paid.payment_id, "amount": "20.00"}, token=tenant.admin)
    dispute = events.dispute(paid.charge, paid.intent, 8000)
    assert await deliver(client, tenant, "charge.dispute.created", dispute) == "applied"
    # when the dispute is lost
    lost = {**dispute, "status": "lost"}
    assert await deliver(client, tenant, "charge.dispute.closed", lost) == "applied"
    # then the payment no longer counts: the invoice owes its whole total again
    assert await status_of(gql, tenant, paid.payment_id) == "CHARGED_BACK"
    assert await invoice_of(gql, tenant, paid.invoice_id) == ("SENT", "100.00")
    assert (await payment_of(gql, tenant, paid.payment_id))["unappliedAmount"] == "0.00"
    # and partners hear of it on the invoice stream
    ((_verb, details),) = await verbs(runtime, "invoice.payment_reversed")
    assert (Decimal(details["amount"]), Decimal(details["balance"]), details["reason"]) == (
        Decimal("80.00"),
        Decimal("100.00"),
        "dispute_lost",
    )
    # and late or repeated events change nothing
    for kind, obj in (
        ("charge.dispute.created", dispute),
        ("charge.dispute.closed", lost),
        ("payment_intent.succeeded", localstripe.intent(paid.intent)),
    ):
        await deliver(client, tenant, kind, obj)
    assert await invoice_of(gql, tenant, paid.invoice_id) == ("SENT", "100.00")
    assert await status_of(gql, tenant, paid.payment_id) == "CHARGED_BACK"


async def test_a_dispute_closed_before_it_was_created_is_applied_in_any_order(
    gql, tenant, runtime, client, localstripe
):
    paid = await paid_by_card(gql, runtime, tenant, client, localstripe)
    dispute = events.dispute(paid.charge, paid.intent, paid.units)
    lost = {**dispute, "status": "lost"}
    assert await deliver(client, tenant, "charge.dispute.closed", lost) == "applied"
    assert await deliver(client, tenant, "charge.dispute.created", dispute) == (
        "ignored: the dispute is lost"
    )
    assert await status_of(gql, tenant, paid.payment_id) == "CHARGED_BACK"
    assert await invoice_of(gql, tenant, paid.invoice_id) == ("SENT", "100.00")


async def test_a_dispute_of_a_payment_not_seen_paid_is_left_for_stripe_to_retry(
    gql, tenant, runtime, client, localstripe
):
    _client, contact, invoice = await paying(gql, runtime, tenant)
    started = (await gql.data(PAY, {"invoiceIds": [invoice]}, token=contact))["payInvoices"]
    intent_id = intent_of(started["clientSecret"])
    localstripe.confirm(intent_id, "ok")
    intent = localstripe.intent(intent_id)
    dispute = events.dispute(intent["latest_charge"]["id"], intent_id, 10000)
    event = events.event("charge.dispute.created", dispute)
    early = await post_event(client, tenant.account_id, event)
    # then 409: not stored, so Stripe's retry is handled once the success is in
    assert early.status_code == 409
    assert [e.id for e in await stored_events(runtime)] == []
    assert await deliver(client, tenant, "payment_intent.succeeded", intent) == "applied"
    retried = await post_event(client, tenant.account_id, event)
    assert retried.json()["outcome"] == "applied"
    assert await status_of(gql, tenant, started["payment"]["id"]) == "DISPUTED"
