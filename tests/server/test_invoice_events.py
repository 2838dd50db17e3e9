"""``invoiceChanged`` over a real WebSocket on the app (issue 11): who may subscribe, what
each subscriber receives, resume from a cursor, and the close codes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from models.enums import StaffRole
from tests.portal.helpers import contact_token, make_client
from tests.schema.test_invoices import create_invoice, send_invoice
from tests.server.limit_helpers import websocket

CHANGES = """
subscription($after: String, $clientId: ID) {
  invoiceChanged(after: $after, clientId: $clientId) {
    cursor kind occurredAt invoice { id number status total }
  }
}
"""
VOID = "mutation($id: ID!) { voidInvoice(id: $id) { id } }"
WAIT = 10


async def acknowledged(ws: Any) -> None:
    message = await asyncio.wait_for(ws.receive_json(), WAIT)
    assert message["type"] == "connection_ack", message


async def subscribe(ws: Any, variables: dict[str, Any] | None = None, op: str = "1") -> None:
    await ws.send_json(
        {"id": op, "type": "subscribe", "payload": {"query": CHANGES, "variables": variables or {}}}
    )


async def next_event(ws: Any) -> dict[str, Any]:
    message = await asyncio.wait_for(ws.receive_json(), WAIT)
    assert message["type"] == "next", message
    assert "errors" not in message["payload"], message
    event: dict[str, Any] = message["payload"]["data"]["invoiceChanged"]
    return event


async def nothing_more(ws: Any, seconds: float = 0.5) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(ws.receive_json(), seconds)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def wait_listening(runtime: Any, count: int = 1) -> None:
    for _ in range(200):
        if runtime.events.listener_count() >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the subscription never started listening")


async def test_staff_receive_every_change_of_an_invoice_in_order(runtime, tenant, gql):
    client = await make_client(gql, tenant.admin)
    async with websocket(runtime, payload=bearer(tenant.admin)) as ws:
        await acknowledged(ws)
        await subscribe(ws)
        await wait_listening(runtime)
        invoice = await create_invoice(gql, tenant.admin, client["id"])
        await send_invoice(gql, tenant.admin, invoice["id"])
        created = await next_event(ws)
        sent = await next_event(ws)
    assert (created["kind"], sent["kind"]) == ("CREATED", "SENT")
    assert created["invoice"]["id"] == invoice["id"]
    assert sent["invoice"]["status"] == "SENT"
    assert sent["invoice"]["number"]
    assert int(sent["cursor"]) == int(created["cursor"]) + 1
    assert created["occurredAt"].endswith("+00:00")


async def test_a_contact_receives_its_own_clients_sent_invoices_only(runtime, tenant, gql):
    ours = await make_client(gql, tenant.admin)
    theirs = await make_client(
        gql,
        tenant.admin,
        name="Other Ltd",
        contacts=[{"email": "o@other.test", "firstName": "O", "role": "BILLING"}],
    )
    billing = next(c for c in ours["contacts"] if c["role"] == "BILLING")
    token = await contact_token(gql, tenant.admin, billing["id"])
    async with websocket(runtime, payload=bearer(token)) as ws:
        await acknowledged(ws)
        await subscribe(ws)
        await wait_listening(runtime)
        draft = await create_invoice(gql, tenant.admin, ours["id"])  # a draft: not shown
        other = await create_invoice(gql, tenant.admin, theirs["id"])
        await send_invoice(gql, tenant.admin, other["id"])  # another client's
        mine = await create_invoice(gql, tenant.admin, ours["id"])
        await send_invoice(gql, tenant.admin, mine["id"])
        event = await next_event(ws)
        assert (event["kind"], event["invoice"]["id"]) == ("SENT", mine["id"])
        await gql.data(VOID, {"id": draft["id"]}, token=tenant.admin)  # a void: not shown
        await nothing_more(ws)


async def test_resume_after_a_cursor_replays_what_was_missed_then_goes_live(runtime, tenant, gql):
    client = await make_client(gql, tenant.admin)
    async with websocket(runtime, payload=bearer(tenant.admin)) as ws:
        await acknowledged(ws)
        await subscribe(ws)
        await wait_listening(runtime)
        first = await create_invoice(gql, tenant.admin, client["id"])
        seen = await next_event(ws)
    # disconnected: two changes happen meanwhile
    second = await create_invoice(gql, tenant.admin, client["id"])
    await send_invoice(gql, tenant.admin, first["id"])
    async with websocket(runtime, payload=bearer(tenant.admin)) as ws:
        await acknowledged(ws)
        await subscribe(ws, {"after": seen["cursor"]})
        replayed = [await next_event(ws), await next_event(ws)]
        await wait_listening(runtime)
        await send_invoice(gql, tenant.admin, second["id"])
        live = await next_event(ws)
        await nothing_more(ws)
    assert [(e["kind"], e["invoice"]["id"]) for e in replayed] == [
        ("CREATED", second["id"]),
        ("SENT", first["id"]),
    ]
    assert (live["kind"], live["invoice"]["id"]) == ("SENT", second["id"])
    cursors = [int(seen["cursor"])] + [int(e["cursor"]) for e in [*replayed, live]]
    assert cursors == sorted(set(cursors))


async def test_bad_and_unknown_cursors_are_refused_with_codes(runtime, tenant):
    async with websocket(runtime, payload=bearer(tenant.admin)) as ws:
        await acknowledged(ws)
        await subscribe(ws, {"after": "abc"})
        message = await asyncio.wait_for(ws.receive_json(), WAIT)
        assert message["type"] == "next"
        assert message["payload"]["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        await subscribe(ws, {"after": "999999"}, op="2")
        while (message := await asyncio.wait_for(ws.receive_json(), WAIT))["id"] != "2":
            pass
        assert message["payload"]["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_who_may_subscribe(runtime, tenant):
    # a member may not read invoices: the subscription is not in its schema
    async with websocket(runtime, payload=bearer(tenant.tokens[StaffRole.MEMBER])) as ws:
        await acknowledged(ws)
        await subscribe(ws)
        message = await asyncio.wait_for(ws.receive_json(), WAIT)
        assert message["type"] == "error"
        assert message["payload"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
