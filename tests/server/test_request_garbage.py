"""A request leaves nothing for the cyclic garbage collector: once answered, its
executor, context, loaders, cached rows and database session are freed by reference
counting. Before, graphql-core's executor was in a cycle with its own helpers
(schema/acyclic_executor.py), and every request's objects waited for a young collection
that took 60-85 ms on the bench's invoice page. So did, for other reasons:

- every field error (a refused mutation, a query's NOT_FOUND): the errors' tracebacks
  held graphql-core's frames and the executor (schema.errors.forget_tracebacks);
- every bad or expired token: itsdangerous keeps its error in the frames its traceback
  holds (auth/tokens.py);
- every number given to a document: SQLAlchemy's ``counter + 1`` (services/invoices.py);
  and every relay of committed events: an ``in_()`` of a list (services/event_log);
- every portal page: Jinja2's macros imported with context (portal_web/rendering.py);
- every new document and every one that fails validation: graphql-core's validation
  visitors (schema.parse_cache.validate), the input hygiene's (schema/input_hygiene.py);
- every subscription event: its executor, and its shared answers, which refer back to
  the event (server/event_stream.py, services/event_log/delivered.py);
- every WebSocket operation: its document, parsed again, whose tokens link each other
  (schema.parse_cache.parse).

Each test warms its path up first (parse, validation, the compiled plan and other caches
are built once), then serves it with the collector off and asks a collection what it
finds unreachable. The app is driven as uvicorn drives it, without the test's HTTP or
WebSocket client (which leave cycles of their own)."""

from __future__ import annotations

import asyncio
import gc
import json
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson
from sqlalchemy.sql.elements import BindParameter

from models.enums import StaffRole
from server.app import create_app
from services.persisted_documents import document_hash
from tests.portal_web.helpers import billed_client
from tests.schema.collab_helpers import collab_client
from tests.schema.test_invoices import (
    CREATE_CLIENT,
    CREATE_INVOICE,
    INVOICE,
    RECORD_PAYMENT,
    SEND_INVOICE,
    create_client,
    create_invoice,
    line,
    send_invoice,
)
from tests.server.test_invoice_events import CHANGES, wait_listening

INVOICE_PAGE = """
{ invoices(first: 10) { totalCount pageInfo { hasNextPage endCursor }
    nodes { id number status total balance client { id name }
            lines { description quantity unitPrice total } } } }
"""
VIEWER = "{ viewer { __typename } }"
LOG_TIME = "mutation($i: TimeLogInput!) { logTime(input: $i) { id } }"

Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


@contextmanager
def collector_off() -> Iterator[list[object]]:
    """The collector off while the block runs; afterwards the list holds what a
    collection then found unreachable (kept with ``DEBUG_SAVEALL`` to be named)."""
    gc.collect()
    found: list[object] = []
    gc.disable()
    try:
        yield found
    finally:
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            gc.collect()
            found.extend(gc.garbage)
            gc.garbage.clear()
        finally:
            gc.set_debug(0)
            gc.enable()


async def asgi_request(
    app: Any,
    method: str = "GET",
    path: str = "/graphql",
    *,
    query_string: str = "",
    headers: Sequence[tuple[bytes, bytes]] = (),
    body: bytes = b"",
) -> Answer:
    """One request straight into the ASGI app, as uvicorn calls it (the test's HTTP
    client would leave cycles of its own): its status, headers and body."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query_string.encode(),
        "root_path": "",
        "headers": [
            (b"host", b"portal.test"),
            *headers,
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("203.0.113.7", 50000),
        "server": ("portal.test", 80),
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop() if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return (
        sent[0]["status"],
        sent[0].get("headers", []),
        b"".join(m.get("body", b"") for m in sent[1:]),
    )


def bearer(token: str | None) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", f"Bearer {token}".encode())] if token else []


async def asgi_graphql(
    app: Any,
    token: str | None,
    query: str | None,
    variables: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """One POST /graphql: the JSON body of its 200 answer (errors included)."""
    payload = {"query": query, "variables": variables or {}, **fields}
    if query is None:
        del payload["query"]
    status, _, body = await asgi_request(
        app,
        "POST",
        headers=[(b"content-type", b"application/json"), *bearer(token)],
        body=orjson.dumps(payload),
    )
    assert status == 200, body
    answer: dict[str, Any] = orjson.loads(body)
    return answer


async def asgi_post(app: Any, token: str, query: str, variables: Any = None) -> dict[str, Any]:
    """The ``data`` of a POST /graphql that must have no errors."""
    answer = await asgi_graphql(app, token, query, variables)
    assert "errors" not in answer, answer
    return answer["data"]  # type: ignore[no-any-return]


def code_of(answer: dict[str, Any]) -> str:
    return str(answer["errors"][0]["extensions"]["code"])


def kinds(objects: list[object]) -> list[tuple[str, int]]:
    return Counter(type(each).__qualname__ for each in objects).most_common(12)


async def served_twice_then_measured(serve: Callable[[], Awaitable[None]]) -> list[object]:
    """What ``serve`` leaves to the collector, once warmed up (the first runs build the
    caches: parse, validation, plans, statements)."""
    await serve()
    await serve()
    with collector_off() as found:
        for _ in range(3):
            await serve()
    return found


def besides_in_list_binds(found: list[object]) -> list[object]:
    """``found`` without the cycles SQLAlchemy makes of a column's ``in_()`` or
    ``not_in()`` of a list, and what only they hold: the bind parameter of the list is
    cloned and the clone memoizes its ``_cloned_set``, which holds the clone itself
    (sqlalchemy.sql.elements, ``BindParameter._clone``). About 5 objects per condition,
    holding no more than the ids or statuses listed; pages and events build such
    conditions per request in the loaders (resolvers/loaders.py) and the row scopes
    (services/access.py, services/dashboard.py), not yet built once."""
    garbage = {id(each) for each in found}
    left_with = set()
    pending = [
        each
        for each in found
        if isinstance(each, BindParameter) and each in each.__dict__.get("_cloned_set", ())
    ]
    while pending:
        each = pending.pop()
        if id(each) in left_with:
            continue
        left_with.add(id(each))
        pending.extend(r for r in gc.get_referents(each) if id(r) in garbage)
    return [each for each in found if id(each) not in left_with]


async def test_answered_queries_leave_no_cyclic_garbage(gql, tenant, runtime):
    for name in ("Acme Corp", "Globex"):
        client = await create_client(gql, tenant.admin, name=name)
        for _ in range(2):
            invoice = await create_invoice(
                gql, tenant.admin, client["id"], lines=[line(), line(unit_price="19.99")]
            )
            await send_invoice(gql, tenant.admin, invoice["id"])
    app = create_app(runtime=runtime)
    # the first answers go through graphql-core (and validation), the next ones through
    # the compiled plan
    first = await asgi_post(app, tenant.admin, INVOICE_PAGE)
    assert first["invoices"]["totalCount"] == 4
    assert await asgi_post(app, tenant.admin, VIEWER) == {"viewer": {"__typename": "StaffUser"}}
    with collector_off() as found:
        for _ in range(3):
            assert await asgi_post(app, tenant.admin, INVOICE_PAGE) == first
            assert await asgi_post(app, tenant.admin, VIEWER)
    assert not found, f"{len(found)} objects left to the collector: {kinds(found)}"


async def test_answered_mutations_leave_no_cyclic_garbage(gql, tenant, runtime):
    client = (await create_client(gql, tenant.admin))["id"]
    app = create_app(runtime=runtime)
    admin = tenant.admin

    async def bill() -> None:
        name = f"Client {uuid.uuid4().hex[:8]}"
        created = await asgi_post(app, admin, CREATE_CLIENT, {"input": {"name": name}})
        assert created["createClient"]["id"]
        draft = {"input": {"clientId": client, "lines": [line()]}}
        invoice = (await asgi_post(app, admin, CREATE_INVOICE, draft))["createInvoice"]
        sent = (await asgi_post(app, admin, SEND_INVOICE, {"id": invoice["id"]}))["sendInvoice"]
        assert sent["status"] == "SENT"
        payment = {
            "clientId": client,
            "amount": "40.00",
            "method": "BANK_TRANSFER",
            "allocations": [{"invoiceId": invoice["id"], "amount": "40.00"}],
        }
        paid = await asgi_post(app, admin, RECORD_PAYMENT, {"input": payment})
        assert paid["recordPayment"]["amount"] == "40.00"
        # and the relay numbers their events, as the served app's does after commits
        assert await runtime.events.relay_once()

    found = await served_twice_then_measured(bill)
    assert not found, f"{len(found)} objects left to the collector: {kinds(found)}"


async def test_refused_mutations_leave_no_cyclic_garbage(gql, tenant, runtime):
    client = (await create_client(gql, tenant.admin))["id"]
    world = await collab_client(gql, tenant.admin)
    app = create_app(runtime=runtime)
    admin, member = tenant.admin, tenant.tokens[StaffRole.MEMBER]

    async def refused() -> None:
        negative = {"input": {"clientId": client, "lines": [line(quantity="-1")]}}
        answer = await asgi_graphql(app, admin, CREATE_INVOICE, negative)
        assert code_of(answer) == "BAD_USER_INPUT"
        unknown = {"input": {"clientId": str(uuid.uuid4()), "lines": [line()]}}
        assert code_of(await asgi_graphql(app, admin, CREATE_INVOICE, unknown)) == "NOT_FOUND"
        rated = {"i": {"projectId": world["project"]["id"], "minutes": 30, "hourlyRate": "10"}}
        assert code_of(await asgi_graphql(app, member, LOG_TIME, rated)) == "FORBIDDEN"

    found = await served_twice_then_measured(refused)
    assert not found, f"{len(found)} objects left to the collector: {kinds(found)}"


async def test_field_errors_leave_no_cyclic_garbage(gql, tenant, runtime):
    app = create_app(runtime=runtime)

    async def field_errors() -> None:
        unknown = await asgi_graphql(app, tenant.admin, INVOICE, {"id": str(uuid.uuid4())})
        assert code_of(unknown) == "NOT_FOUND"
        malformed = await asgi_graphql(app, tenant.admin, INVOICE, {"id": "not-a-uuid"})
        assert code_of(malformed) == "BAD_USER_INPUT"

    found = await served_twice_then_measured(field_errors)
    assert not found, f"{len(found)} objects left to the collector: {kinds(found)}"


async def test_unauthenticated_requests_leave_no_cyclic_garbage(gql, tenant, runtime):
    app = create_app(runtime=runtime)
    tampered = tenant.admin[:-2] + ("AA" if not tenant.admin.endswith("AA") else "BB")

    async def refused() -> None:
        for token in ("not-a-token", tampered):
            status, _, body = await asgi_request(
                app,
                "POST",
                headers=[(b"content-type", b"application/json"), *bearer(token)],
                body=orjson.dumps({"query": VIEWER}),
            )
            assert status == 401, body
            assert code_of(orjson.loads(body)) == "UNAUTHENTICATED"

    found = await served_twice_then_measured(refused)
    assert not found, f"{len(found)} objects left to the collector: {kinds(found)}"


async def test_get_and_persisted_queries_leave_no_cyclic_garbage(gql, tenant, runtime):
    app = create_app(runtime=runtime)
    query = "query Who { viewer { __typename } }"
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": document_hash(query)}}
    unknown = {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}
    taught = await asgi_graphql(app, tenant.admin, query, extensions=persisted)
    assert taught["data"] == {"viewer": {"__typename": "StaffUser"}}

    async def get(**params: str) -> dict[str, Any]:
        status, _, body = await asgi_request(
            app, query_string=urlencode(params), headers=bearer(tenant.admin)
        )
        assert status == 200, body
        answer: dict[str, Any] = orjson.loads(body)
        return answer

    async def served() -> None:
        assert (await get(query=query))["data"] == taught["data"]
        assert (await get(extensions=json.dumps(persisted)))["data"] == taught["data"]
        by_hash = await asgi_graphql(app, tenant.admin, None, extensions=persisted)
        assert by_hash["data"] == taught["data"]
        not_known = await asgi_graphql(app, tenant.admin, None, extensions=unknown)
        assert code_of(not_known) == "PERSISTED_QUERY_NOT_FOUND"

    found = await served_twice_then_measured(served)
    assert not found, f"{len(found)} objects left to the collector: {kinds(found)}"


async def test_portal_pages_leave_no_cyclic_garbage(gql, tenant, runtime):
    billed = await billed_client(gql, tenant.admin)
    app = create_app(runtime=runtime)
    link = urlsplit(billed.link)
    status, headers, _ = await asgi_request(app, path=link.path, query_string=link.query)
    assert status == 303
    [cookie] = [
        value.split(b";")[0]
        for name, value in headers
        if name == b"set-cookie" and value.startswith(b"portico_portal=")
    ]

    async def pages() -> None:
        for path in (
            "/portal/acme/invoices",
            f"/portal/acme/invoices/{billed.invoice_id}",
            "/portal/acme/dashboard",
        ):
            status, _, body = await asgi_request(app, path=path, headers=[(b"cookie", cookie)])
            assert status == 200, (path, body[:500])
            assert billed.invoice_number.encode() in body

    found = besides_in_list_binds(await served_twice_then_measured(pages))
    assert not found, f"{len(found)} objects left to the collector: {kinds(found)}"


async def test_new_long_and_invalid_documents_leave_no_cyclic_garbage(gql, tenant, runtime):
    """A document seen for the first time is parsed, validated and checked for its input
    before it runs through graphql-core; one too long to keep is parsed every time; one
    that fails validation is validated every time."""
    client = await create_client(gql, tenant.admin)
    invoice = await create_invoice(gql, tenant.admin, client["id"])
    app = create_app(runtime=runtime)
    long = "# " + "x" * 9_000 + "\n{ viewer { __typename } }"

    async def documents() -> None:
        alias = f"i{uuid.uuid4().hex[:8]}"
        new = f"query($id: ID!) {{ {alias}: invoice(id: $id) {{ number client {{ name }} }} }}"
        answer = await asgi_post(app, tenant.admin, new, {"id": invoice["id"]})
        assert answer[alias]["number"] is None  # a draft
        assert await asgi_post(app, tenant.admin, long) == {"viewer": {"__typename": "StaffUser"}}
        invalid = await asgi_graphql(app, tenant.admin, "{ viewer { nothingHere } }")
        assert code_of(invalid) == "GRAPHQL_VALIDATION_FAILED"

    found = await served_twice_then_measured(documents)
    assert not found, f"{len(found)} objects left to the collector: {kinds(found)}"


class AsgiWebSocket:
    """A WebSocket on ``/graphql`` straight into the ASGI app (graphql-transport-ws)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.inbound: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.outbound: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def open(self, token: str) -> None:
        scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "scheme": "ws",
            "path": "/graphql",
            "raw_path": b"/graphql",
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"portal.test"),
                (b"sec-websocket-protocol", b"graphql-transport-ws"),
            ],
            "subprotocols": ["graphql-transport-ws"],
            "client": ("203.0.113.7", 50000),
            "server": ("portal.test", 80),
        }
        self.task = asyncio.create_task(self.app(scope, self.inbound.get, self.outbound.put))
        await self.inbound.put({"type": "websocket.connect"})
        accepted = await asyncio.wait_for(self.outbound.get(), 10)
        assert accepted["type"] == "websocket.accept", accepted
        await self.say({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        assert (await self.hear())["type"] == "connection_ack"

    async def say(self, message: dict[str, Any]) -> None:
        await self.inbound.put({"type": "websocket.receive", "text": json.dumps(message)})

    async def hear(self) -> dict[str, Any]:
        sent = await asyncio.wait_for(self.outbound.get(), 10)
        assert sent["type"] == "websocket.send", sent
        message: dict[str, Any] = json.loads(sent["text"])
        return message

    async def close(self) -> None:
        await self.inbound.put({"type": "websocket.disconnect", "code": 1000})
        if self.task is not None:
            await asyncio.wait_for(self.task, 10)


async def test_subscription_events_leave_no_cyclic_garbage(gql, tenant, runtime):
    client = (await create_client(gql, tenant.admin))["id"]
    app = create_app(runtime=runtime)
    ws = AsgiWebSocket(app)
    await ws.open(tenant.admin)
    try:
        await ws.say({"id": "1", "type": "subscribe", "payload": {"query": CHANGES}})
        await wait_listening(runtime)

        async def one_event() -> None:
            draft = {"input": {"clientId": client, "lines": [line()]}}
            invoice = (await asgi_post(app, tenant.admin, CREATE_INVOICE, draft))["createInvoice"]
            message = await ws.hear()
            assert message["type"] == "next", message
            change = message["payload"]["data"]["invoiceChanged"]
            assert (change["kind"], change["invoice"]["id"]) == ("CREATED", invoice["id"])

        found = besides_in_list_binds(await served_twice_then_measured(one_event))
        await ws.say({"id": "1", "type": "complete"})
    finally:
        await ws.close()
    assert not found, f"{len(found)} objects left to the collector: {kinds(found)}"


async def test_websocket_queries_leave_no_cyclic_garbage(gql, tenant, runtime):
    app = create_app(runtime=runtime)
    ws = AsgiWebSocket(app)
    await ws.open(tenant.admin)
    try:

        async def query() -> None:
            operation = uuid.uuid4().hex
            await ws.say({"id": operation, "type": "subscribe", "payload": {"query": VIEWER}})
            answer = await ws.hear()
            assert answer["payload"]["data"] == {"viewer": {"__typename": "StaffUser"}}
            assert await ws.hear() == {"id": operation, "type": "complete"}
            unknown = {"query": INVOICE, "variables": {"id": str(uuid.uuid4())}}
            await ws.say({"id": operation, "type": "subscribe", "payload": unknown})
            assert code_of((await ws.hear())["payload"]) == "NOT_FOUND"
            assert await ws.hear() == {"id": operation, "type": "complete"}

        found = await served_twice_then_measured(query)
    finally:
        await ws.close()
    assert not found, f"{len(found)} objects left to the collector: {kinds(found)}"
