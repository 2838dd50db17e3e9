"""``Payment.refunds`` and ``Payment.dispute`` under bad input and concurrent readers, on
both databases: a bad id, a NUL byte, an unknown id, another client's or account's
payment answer a stable ``extensions.code`` and no data; 15 readers at once (two
accounts' staff and a contact, each request with its own loaders) each read exactly
their own refunds and dispute."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from models.enums import StaffRole
from tests.schema.test_payments import billing_setup
from tests.stripe import events
from tests.stripe.helpers import connect_stripe
from tests.stripe.test_refund_history import STAFF_VIEW, _paid
from tests.stripe.test_refunds_disputes import REFUND, deliver

STAFF_LIST = """
query {
  payments { edges { node { id refunds { amount status } dispute { status amount } } } }
}
"""
CONTACT_LIST = "query { payments { edges { node { id refunds { amount status } } } } }"


def refunds_seen(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    return {
        edge["node"]["id"]: (
            [(r["amount"], r["status"]) for r in edge["node"]["refunds"]],
            (edge["node"].get("dispute") or {}).get("status"),
        )
        for edge in body["data"]["payments"]["edges"]
    }


async def refunded_and_disputed(gql, runtime, tenant, client, localstripe) -> tuple[str, str]:
    """A card payment with a 40.00 refund asked and a dispute opened: (payment id, the
    paying contact's token)."""
    payment_id, contact, intent = await _paid(gql, runtime, tenant, client, localstripe)
    await gql.data(REFUND, {"id": payment_id, "amount": "40.00"}, token=tenant.admin)
    latest = intent["latest_charge"]
    charge = latest["id"] if isinstance(latest, dict) else latest
    dispute = events.dispute(charge, intent["id"], intent["amount"])
    assert await deliver(client, tenant, "charge.dispute.created", dispute) == "applied"
    return payment_id, contact


async def test_bad_payment_ids_read_no_refunds_with_a_stable_code(
    gql, tenant, make_tenant, runtime, client, localstripe
):
    payment_id, _contact = await refunded_and_disputed(gql, runtime, tenant, client, localstripe)
    _neighbour_client, neighbour = await billing_setup(gql, runtime, tenant)
    other = await make_tenant("globex")
    await connect_stripe(gql, other.admin)
    bad = {"code": "BAD_USER_INPUT"}
    missing = {"code": "NOT_FOUND"}
    cases: list[tuple[str, str, str, dict[str, str]]] = [
        ("not an id", tenant.admin, "nope", {**bad, "field": "id"}),
        ("empty", tenant.admin, "", {**bad, "field": "id"}),
        ("a NUL byte", tenant.admin, f"{payment_id}\x00", {**bad, "field": "$id"}),
        ("an unknown id", tenant.admin, str(uuid.uuid4()), missing),
        ("another account's staff", other.admin, payment_id, missing),
        ("another client's contact", neighbour, payment_id, missing),
    ]
    for what, token, asked, expected in cases:
        query = STAFF_VIEW if token != neighbour else CONTACT_VIEW_BY_ID
        body = await gql(query, {"id": asked}, token=token)
        assert body.get("data") is None, (what, body)
        extensions = body["errors"][0]["extensions"]
        assert {k: extensions.get(k) for k in expected} == expected, (what, body)
    # while the well-formed read shows both
    seen = (await gql.data(STAFF_VIEW, {"id": payment_id}, token=tenant.admin))["payment"]
    assert [r["amount"] for r in seen["refunds"]] == ["40.00"]
    assert seen["dispute"] is not None


CONTACT_VIEW_BY_ID = "query($id: ID!) { payment(id: $id) { refunds { amount status } } }"


async def test_15_concurrent_readers_each_read_their_own_refunds_and_dispute(
    gql, tenant, make_tenant, runtime, client, localstripe
):
    # given a refunded and disputed card payment in each of two accounts
    mine, contact = await refunded_and_disputed(gql, runtime, tenant, client, localstripe)
    other = await make_tenant("globex")
    theirs, _their_contact = await refunded_and_disputed(gql, runtime, other, client, localstripe)
    expected_mine = refunds_seen(await gql(STAFF_LIST, token=tenant.admin))
    expected_theirs = refunds_seen(await gql(STAFF_LIST, token=other.admin))
    assert set(expected_mine) == {mine}
    assert set(expected_theirs) == {theirs}
    assert [amount for amount, _status in expected_mine[mine][0]] == ["40.00"]
    assert expected_mine[mine][1] is not None  # the dispute's status
    # when 15 readers ask at once
    readers = [
        (tenant.admin, STAFF_LIST, expected_mine),
        (tenant.tokens[StaffRole.MANAGER], STAFF_LIST, expected_mine),
        (other.admin, STAFF_LIST, expected_theirs),
        (contact, CONTACT_LIST, {mine: (expected_mine[mine][0], None)}),
        (other.tokens[StaffRole.MANAGER], STAFF_LIST, expected_theirs),
    ] * 3
    bodies = await asyncio.gather(*(gql(query, token=token) for token, query, _ in readers))
    # then each read exactly its own account's (the contact: its payment, no dispute)
    for (_token, _query, expected), body in zip(readers, bodies, strict=True):
        assert refunds_seen(body) == expected
