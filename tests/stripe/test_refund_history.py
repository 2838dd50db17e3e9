"""What staff (and the paying contact) read about a card payment after it was received:
``Payment.refunds`` (PENDING until Stripe confirms, FAILED with a reason only staff read)
and ``Payment.dispute`` (staff only), through a real localstripe and events signed as
Stripe signs them, on both databases."""

from __future__ import annotations

from typing import Any

from tests.stripe import events
from tests.stripe.helpers import PAY, intent_of
from tests.stripe.test_card_payments import intent_event, paying, post_event
from tests.stripe.test_refunds_disputes import REFUND, deliver, pending_refunds  # noqa: F401

STAFF_VIEW = """
query($id: ID!) {
  payment(id: $id) {
    refundedAmount
    refunds { amount currency status failureReason providerRefundId confirmedAt }
    dispute { providerDisputeId amount status reason }
  }
}
"""
CONTACT_VIEW = """
query($id: ID!) { payment(id: $id) { refundedAmount refunds { amount status confirmedAt } } }
"""


async def _paid(gql, runtime, tenant, client, localstripe) -> tuple[str, str, dict[str, Any]]:
    """A card payment of 100.00 Stripe charged and Portico applied: (payment id, the
    contact's token, the PaymentIntent)."""
    _client, contact, invoice = await paying(gql, runtime, tenant)
    started = (await gql.data(PAY, {"invoiceIds": [invoice]}, token=contact))["payInvoices"]
    intent_id = intent_of(started["clientSecret"])
    assert localstripe.confirm(intent_id, "ok").status_code == 200
    intent = localstripe.intent(intent_id)
    answer = await post_event(client, tenant.account_id, intent_event(intent))
    assert answer.json()["outcome"] == "applied"
    return started["payment"]["id"], contact, intent


async def _staff_view(gql, tenant, payment_id) -> dict[str, Any]:
    data = await gql.data(STAFF_VIEW, {"id": payment_id}, token=tenant.admin)
    payment: dict[str, Any] = data["payment"]
    return payment


async def test_refunds_read_pending_then_confirmed_or_failed(
    gql,
    tenant,
    runtime,
    client,
    pending_refunds,  # noqa: F811
):
    localstripe = pending_refunds
    payment_id, contact, intent = await _paid(gql, runtime, tenant, client, localstripe)
    # given two refunds staff asked for, both pending at Stripe
    await gql.data(REFUND, {"id": payment_id, "amount": "40.00"}, token=tenant.admin)
    await gql.data(REFUND, {"id": payment_id, "amount": "25.00"}, token=tenant.admin)
    # (by amount: two refunds made in the same second come back from Stripe in either order)
    by_units = {r["amount"]: r for r in localstripe.refunds_of(intent["id"])}
    first, second = by_units[4000], by_units[2500]
    seen = await _staff_view(gql, tenant, payment_id)
    assert seen["refundedAmount"] == "0.00"
    assert [(r["amount"], r["status"], r["confirmedAt"]) for r in seen["refunds"]] == [
        ("40.00", "PENDING", None),
        ("25.00", "PENDING", None),
    ]
    assert {r["providerRefundId"] for r in seen["refunds"]} == {first["id"], second["id"]}
    # when Stripe confirms the first and fails the second
    done = {**first, "status": "succeeded"}
    failed = {**second, "status": "failed", "failure_reason": "expired_or_canceled_card"}
    assert await deliver(client, tenant, "charge.refund.updated", done) == "applied"
    assert await deliver(client, tenant, "charge.refund.updated", failed) == "applied"
    # then staff read what happened to each, oldest first
    seen = await _staff_view(gql, tenant, payment_id)
    assert seen["refundedAmount"] == "40.00"
    by_amount = {r["amount"]: r for r in seen["refunds"]}
    assert by_amount["40.00"]["status"] == "SUCCEEDED"
    assert by_amount["40.00"]["confirmedAt"] is not None
    assert (by_amount["25.00"]["status"], by_amount["25.00"]["failureReason"]) == (
        "FAILED",
        "expired_or_canceled_card",
    )
    # and the contact who paid reads the refunds, but never the reason nor Stripe's ids
    mine = (await gql.data(CONTACT_VIEW, {"id": payment_id}, token=contact))["payment"]
    assert [(r["amount"], r["status"]) for r in mine["refunds"]] == [
        ("40.00", "SUCCEEDED"),
        ("25.00", "FAILED"),
    ]
    for hidden in ("failureReason", "providerRefundId"):
        asked = await gql(
            f"query($id: ID!) {{ payment(id: $id) {{ refunds {{ {hidden} }} }} }}",
            {"id": payment_id},
            token=contact,
        )
        assert asked["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_staff_read_a_dispute_and_contacts_do_not(gql, tenant, runtime, client, localstripe):
    payment_id, contact, intent = await _paid(gql, runtime, tenant, client, localstripe)
    assert (await _staff_view(gql, tenant, payment_id))["dispute"] is None
    latest = intent["latest_charge"]
    charge = latest["id"] if isinstance(latest, dict) else latest
    dispute = events.dispute(charge, intent["id"], intent["amount"])
    # when the payer disputes the charge, and later loses
    assert await deliver(client, tenant, "charge.dispute.created", dispute) == "applied"
    seen = (await _staff_view(gql, tenant, payment_id))["dispute"]
    assert (seen["providerDisputeId"], seen["amount"]) == (dispute["id"], "100.00")
    assert seen["status"] == dispute["status"]
    assert seen["reason"] == dispute["reason"]
    lost = {**dispute, "status": "lost"}
    assert await deliver(client, tenant, "charge.dispute.closed", lost) == "applied"
    assert (await _staff_view(gql, tenant, payment_id))["dispute"]["status"] == "lost"
    # and the contact's schema has no dispute at all
    asked = await gql(
        "query($id: ID!) { payment(id: $id) { dispute { status } } }",
        {"id": payment_id},
        token=contact,
    )
    assert asked["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
