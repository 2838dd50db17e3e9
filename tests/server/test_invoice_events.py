"""``invoiceChanged`` over a real WebSocket on the app (issue 11): who may subscribe, what
each subscriber receives, resume from a cursor, and the close codes."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from httpx_ws import WebSocketDisconnect, aconnect_ws
from sqlalchemy import event, update
from sqlmodel import col, select

from models.enums import StaffRole
from models.events import OutboxEvent
from models.invoices import Invoice
from server.app import create_app
from server.scheduler import RecurringScheduler
from services.events import invoices as invoice_events
from services.unit_of_work import unit_of_work
from tests.portal.helpers import contact_token, make_client
from tests.schema.test_invoices import create_invoice, send_invoice
from tests.server.limit_helpers import websocket, with_settings
from tests.server.ws_paths import ws_http, ws_path  # noqa: F401 (the fixture)

pytestmark = pytest.mark.usefixtures("ws_path")

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


PARTNER_TOKEN = """
mutation($scopes: [String!]!) { createApiToken(name: "sync", scopes: $scopes) { token } }
"""
UPDATE_CLIENT = (
    "mutation($id: ID!, $input: ClientInput!) { updateClient(id: $id, input: $input) { id } }"
)
REVOKE_TOKEN = "mutation($id: ID!) { revokeApiToken(id: $id) { id } }"
PARTNER_CHANGES = """
subscription { invoiceChanged { kind invoice { id number } } }
"""


async def partner_token(gql: Any, admin: str, scopes: list[str]) -> str:
    data = await gql.data(PARTNER_TOKEN, {"scopes": scopes}, token=admin)
    token: str = data["createApiToken"]["token"]
    return token


async def closed_with(ws: Any, seconds: float = 5) -> int:
    async def read_until_closed() -> None:
        async with asyncio.timeout(seconds):
            while True:
                await ws.receive_text()

    with pytest.raises(WebSocketDisconnect) as closed:
        await read_until_closed()
    code: int = closed.value.code
    return code


async def test_a_partner_needs_both_scopes_and_never_sees_drafts_or_private_fields(
    runtime, tenant, gql
):
    client = await make_client(gql, tenant.admin)
    reader = await partner_token(gql, tenant.admin, ["invoices:read"])
    async with websocket(runtime, payload=bearer(reader)) as ws:
        await acknowledged(ws)
        await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": PARTNER_CHANGES}})
        message = await asyncio.wait_for(ws.receive_json(), WAIT)
        assert message["type"] == "error"  # no events:subscribe: no such field
    token = await partner_token(gql, tenant.admin, ["invoices:read", "events:subscribe"])
    private = "subscription { invoiceChanged { invoice { privateNotes } } }"
    async with websocket(runtime, payload=bearer(token)) as ws:
        await acknowledged(ws)
        await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": private}})
        message = await asyncio.wait_for(ws.receive_json(), WAIT)
        assert message["type"] == "error"  # pruned from a partner's schema
        await ws.send_json({"id": "2", "type": "subscribe", "payload": {"query": PARTNER_CHANGES}})
        await wait_listening(runtime)
        draft = await create_invoice(gql, tenant.admin, client["id"])
        await send_invoice(gql, tenant.admin, draft["id"])
        event = await next_event(ws)
        assert event == {"kind": "SENT", "invoice": {"id": draft["id"], "number": "INV-0001"}}
        await nothing_more(ws)


async def test_turning_a_clients_invoices_module_off_ends_its_contacts_stream(runtime, tenant, gql):
    client = await make_client(gql, tenant.admin)
    billing = next(c for c in client["contacts"] if c["role"] == "BILLING")
    token = await contact_token(gql, tenant.admin, billing["id"])
    async with websocket(runtime, payload=bearer(token)) as ws:
        await acknowledged(ws)
        await subscribe(ws)
        await wait_listening(runtime)
        first = await create_invoice(gql, tenant.admin, client["id"])
        await send_invoice(gql, tenant.admin, first["id"])
        assert (await next_event(ws))["kind"] == "SENT"
        await gql.data(
            UPDATE_CLIENT,
            {"id": client["id"], "input": {"modules": ["PAYMENTS"]}},
            token=tenant.admin,
        )
        second = await create_invoice(gql, tenant.admin, client["id"])
        await send_invoice(gql, tenant.admin, second["id"])
        message = await asyncio.wait_for(ws.receive_json(), WAIT)
        assert message["type"] == "next"
        assert message["payload"]["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert "invoiceChanged" not in str(message["payload"].get("data"))
        assert (await asyncio.wait_for(ws.receive_json(), WAIT))["type"] == "complete"


async def test_revoking_the_token_closes_the_subscription_with_4401(runtime, tenant, gql):
    token = await partner_token(gql, tenant.admin, ["invoices:read", "events:subscribe"])
    listing = await gql.data("query { apiTokens { id } }", token=tenant.admin)
    token_id = listing["apiTokens"][0]["id"]
    async with websocket(runtime, payload=bearer(token)) as ws:
        await acknowledged(ws)
        await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": PARTNER_CHANGES}})
        await wait_listening(runtime)
        await gql.data(REVOKE_TOKEN, {"id": token_id}, token=tenant.admin)
        assert await closed_with(ws) == 4401
    for _ in range(100):  # the listener goes with its socket
        if runtime.events.listener_count() == 0:
            break
        await asyncio.sleep(0.01)
    assert runtime.events.listener_count() == 0


async def test_a_bad_token_in_connection_init_closes_with_4403(runtime):
    async with websocket(runtime, payload={"Authorization": "Bearer forged"}) as ws:
        assert await closed_with(ws) == 4403


async def test_no_connection_init_in_time_closes_with_4408(runtime):
    fast = with_settings(runtime, ws_init_timeout_seconds=0.2)
    app = create_app(runtime=fast)
    async with ws_http(app, fast.settings, base_url="http://t") as (http, url):
        connecting: Any = aconnect_ws(url, http, subprotocols=["graphql-transport-ws"])
        async with connecting as ws:
            assert await closed_with(ws) == 4408


async def test_more_subscriptions_than_the_cap_closes_with_4429(runtime, tenant):
    capped = with_settings(runtime, ws_max_subscriptions=2)
    async with websocket(capped, payload=bearer(tenant.admin)) as ws:
        await acknowledged(ws)
        await subscribe(ws, op="1")
        await subscribe(ws, op="2")
        await wait_listening(runtime, 2)
        await subscribe(ws, op="3")
        assert await closed_with(ws) == 4429


async def test_the_legacy_graphql_ws_protocol_streams_the_same_events(runtime, tenant, gql):
    client = await make_client(gql, tenant.admin)
    async with websocket(runtime, protocol="graphql-ws", payload=bearer(tenant.admin)) as ws:
        await acknowledged(ws)
        await ws.send_json({"id": "1", "type": "start", "payload": {"query": CHANGES}})
        await wait_listening(runtime)
        invoice = await create_invoice(gql, tenant.admin, client["id"])
        while (message := await asyncio.wait_for(ws.receive_json(), WAIT))["type"] == "ka":
            pass
        assert message["type"] == "data", message
        event = message["payload"]["data"]["invoiceChanged"]
        assert (event["kind"], event["invoice"]["id"]) == ("CREATED", invoice["id"])


async def test_transactions_committing_out_of_position_order_reach_a_resuming_subscriber(
    runtime, backend, tenant, gql
):
    if backend.name != "postgres":
        pytest.skip("SQLite serialises writers: commit order is position order there")
    client = await make_client(gql, tenant.admin)
    early = await create_invoice(gql, tenant.admin, client["id"])
    late = await create_invoice(gql, tenant.admin, client["id"])
    admin = tenant.principals[StaffRole.ADMIN]
    async with websocket(runtime, payload=bearer(tenant.admin)) as ws:
        await acknowledged(ws)
        await subscribe(ws)
        await wait_listening(runtime)
        # given T1 takes its position first but is still open ...
        async with unit_of_work(runtime) as t1:
            invoice_events.updated(t1.session, await invoice_row(t1, early["id"]), admin)
            await t1.session.flush()
            # ... when T2 takes a later position and commits first
            async with unit_of_work(runtime) as t2:
                invoice_events.updated(t2.session, await invoice_row(t2, late["id"]), admin)
            seen = await next_event(ws)
            assert (seen["kind"], seen["invoice"]["id"]) == ("UPDATED", late["id"])
        # the subscriber left before T1 committed
    positions = await outbox_positions(runtime, [early["id"], late["id"]])
    assert positions[early["id"]] < positions[late["id"]]
    # then resuming after T2's event still gives T1's, once
    async with websocket(runtime, payload=bearer(tenant.admin)) as ws:
        await acknowledged(ws)
        await subscribe(ws, {"after": seen["cursor"]})
        resumed = await next_event(ws)
        await nothing_more(ws)
    assert (resumed["kind"], resumed["invoice"]["id"]) == ("UPDATED", early["id"])
    assert int(resumed["cursor"]) == int(seen["cursor"]) + 1


async def invoice_row(work: Any, invoice_id: str) -> Invoice:
    invoice: Invoice | None = await work.session.get(Invoice, uuid.UUID(invoice_id))
    assert invoice is not None
    return invoice


async def outbox_positions(runtime: Any, invoice_ids: list[str]) -> dict[str, int]:
    async with runtime.sessions() as session:
        rows = (
            await session.exec(
                select(OutboxEvent).where(
                    col(OutboxEvent.kind) == "invoice.updated",
                    col(OutboxEvent.subject_id).in_([uuid.UUID(i) for i in invoice_ids]),
                )
            )
        ).all()
    return {str(row.subject_id): int(row.position or 0) for row in rows}


async def test_the_scheduler_records_an_invoice_overdue_once(runtime, tenant, gql):
    client = await make_client(gql, tenant.admin)
    today = datetime.now(UTC).date()
    late = await create_invoice(
        gql,
        tenant.admin,
        client["id"],
        issueDate=(today - timedelta(days=40)).isoformat(),
        dueDate=(today - timedelta(days=10)).isoformat(),
    )
    on_time = await create_invoice(
        gql, tenant.admin, client["id"], dueDate=(today + timedelta(days=10)).isoformat()
    )
    for invoice in (late, on_time):
        await send_invoice(gql, tenant.admin, invoice["id"])
    scheduler = RecurringScheduler.from_runtime(runtime)
    async with websocket(runtime, payload=bearer(tenant.admin)) as ws:
        await acknowledged(ws)
        await subscribe(ws)
        await wait_listening(runtime)
        first = await scheduler.run_once()
        event = await next_event(ws)
        again = await scheduler.run_once()
        await nothing_more(ws)
    assert (first.overdue, again.overdue) == (1, 0)
    assert (event["kind"], event["invoice"]["id"]) == ("OVERDUE", late["id"])


async def test_a_cursor_older_than_retention_is_refused_with_cursor_expired(runtime, tenant, gql):
    client = await make_client(gql, tenant.admin)
    async with websocket(runtime, payload=bearer(tenant.admin)) as ws:
        await acknowledged(ws)
        await subscribe(ws)
        await wait_listening(runtime)
        first = await create_invoice(gql, tenant.admin, client["id"])
        old = await next_event(ws)
        await send_invoice(gql, tenant.admin, first["id"])
        await next_event(ws)
    # the first event is older than the retention, the second is not
    async with runtime.sessions() as session:
        await session.exec(
            update(OutboxEvent)
            .where(col(OutboxEvent.sequence) == int(old["cursor"]))
            .values(published_at=datetime.now(UTC) - timedelta(days=31))
        )
        await session.commit()
    assert await runtime.events.prune() == 1
    async with websocket(runtime, payload=bearer(tenant.admin)) as ws:
        await acknowledged(ws)
        await subscribe(ws, {"after": str(int(old["cursor"]) - 1)})  # needs the pruned one
        message = await asyncio.wait_for(ws.receive_json(), WAIT)
        assert message["payload"]["errors"][0]["extensions"]["code"] == "CURSOR_EXPIRED"
        await subscribe(ws, {"after": old["cursor"]}, op="2")  # needs only what is kept
        while (message := await asyncio.wait_for(ws.receive_json(), WAIT))["id"] != "2":
            pass
        assert message["payload"]["data"]["invoiceChanged"]["kind"] == "SENT"


async def test_subscribers_with_the_same_profile_and_selection_share_one_execution(
    runtime, tenant, gql
):
    client = await make_client(gql, tenant.admin)
    invoice_reads: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        if "invoice.total" in statement:  # the row the selection reads (the scope check
            invoice_reads.append(statement)  # reads ids only)

    other = "subscription { invoiceChanged { kind invoice { id total } } }"
    sync_engine = runtime.engine.sync_engine
    async with (
        websocket(runtime, payload=bearer(tenant.admin)) as one,
        websocket(runtime, payload=bearer(tenant.tokens[StaffRole.OWNER])) as two,
        websocket(runtime, payload=bearer(tenant.admin)) as three,
        websocket(runtime, payload=bearer(tenant.admin)) as four,
    ):
        for ws in (one, two, three, four):
            await acknowledged(ws)
        await subscribe(one)
        await subscribe(two)
        await three.send_json({"id": "1", "type": "subscribe", "payload": {"query": other}})
        await subscribe(four)
        await wait_listening(runtime, 4)
        event.listen(sync_engine, "before_cursor_execute", count)
        try:
            await create_invoice(gql, tenant.admin, client["id"])
            received = [await next_event(ws) for ws in (one, two, three, four)]
        finally:
            event.remove(sync_engine, "before_cursor_execute", count)
    # one and four: the same profile, scope and selection, one execution; three: the
    # same admin with another selection; two: the owner, another profile
    assert received[0] == {**received[0], "kind": "CREATED"}
    assert received[2] == {
        "kind": "CREATED",
        "invoice": {"id": received[0]["invoice"]["id"], "total": "100.00"},
    }
    assert received[3] == received[0]
    assert len(invoice_reads) == 3, invoice_reads


async def next_messages(ws: Any, count: int) -> dict[str, dict[str, Any]]:
    """The next ``count`` messages of a connection, by operation id (all ``next``)."""
    messages = [await asyncio.wait_for(ws.receive_json(), WAIT) for _ in range(count)]
    assert all(message["type"] == "next" for message in messages), messages
    return {message["id"]: message["payload"] for message in messages}


async def test_a_group_of_subscribers_receives_each_event_once_under_its_own_operation_ids(
    runtime, tenant, gql
):
    # given four subscriptions of one admin with the same selection (two on one
    # connection), and a fifth that resumes from a cursor: they share one result per
    # event, forwarded to all but one of them (services.event_log.direct)
    client = await make_client(gql, tenant.admin)
    async with (
        websocket(runtime, payload=bearer(tenant.admin)) as one,
        websocket(runtime, payload=bearer(tenant.admin)) as two,
        websocket(runtime, payload=bearer(tenant.admin)) as three,
        websocket(runtime, payload=bearer(tenant.admin)) as late,
    ):
        for ws in (one, two, three, late):
            await acknowledged(ws)
        await subscribe(one, op="a")
        await subscribe(one, op="b")
        await subscribe(two, op="c")
        await subscribe(three, op="d")
        await wait_listening(runtime, 4)
        invoice = await create_invoice(gql, tenant.admin, client["id"])
        created = {**await next_messages(one, 2), **await next_messages(two, 1)}
        created.update(await next_messages(three, 1))
        cursor = created["a"]["data"]["invoiceChanged"]["cursor"]
        await subscribe(late, {"after": cursor}, op="e")
        await wait_listening(runtime, 5)
        await send_invoice(gql, tenant.admin, invoice["id"])
        sent = {**await next_messages(one, 2), **await next_messages(two, 1)}
        sent.update(await next_messages(three, 1))
        sent.update(await next_messages(late, 1))
        for ws in (one, two, three, late):
            await nothing_more(ws, 0.3)

    # then every operation received each event once, under its own id, the same payload
    assert set(created) == {"a", "b", "c", "d"}
    assert set(sent) == {"a", "b", "c", "d", "e"}
    assert all(payload == created["a"] for payload in created.values())
    assert all(payload == sent["a"] for payload in sent.values())
    assert created["a"]["data"]["invoiceChanged"]["kind"] == "CREATED"
    assert sent["a"]["data"]["invoiceChanged"]["kind"] == "SENT"
    assert sent["a"]["data"]["invoiceChanged"]["invoice"]["id"] == invoice["id"]
