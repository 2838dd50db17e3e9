"""A GraphQL request leaves nothing for the cyclic garbage collector: once answered, its
executor, context, loaders, cached rows and database session are freed by reference
counting (schema/acyclic_executor.py). Before, graphql-core's executor was in a cycle
with its own helpers, and every request's objects waited for a young collection that
took 60-85 ms on the bench's invoice page."""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson

from server.app import create_app
from tests.schema.test_invoices import create_client, create_invoice, line, send_invoice

INVOICE_PAGE = """
{ invoices(first: 10) { totalCount pageInfo { hasNextPage endCursor }
    nodes { id number status total balance client { id name }
            lines { description quantity unitPrice total } } } }
"""
VIEWER = "{ viewer { __typename } }"


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


async def asgi_post(app: Any, token: str, query: str) -> dict[str, Any]:
    """One POST /graphql straight into the ASGI app, as uvicorn calls it (the test's HTTP
    client would leave cycles of its own)."""
    body = orjson.dumps({"query": query})
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"portal.test"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-type", b"application/json"),
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
    assert sent[0]["status"] == 200, sent
    answer: dict[str, Any] = orjson.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    assert "errors" not in answer, answer
    return answer["data"]  # type: ignore[no-any-return]


def kinds(objects: list[object]) -> list[tuple[str, int]]:
    return Counter(type(each).__qualname__ for each in objects).most_common(12)


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
