"""Each operation is bounded in time (``execution_timeout_seconds``: cancelled, rolled
back, answered ``TIMEOUT``) and in the size of its answer (``max_response_bytes``:
``RESPONSE_TOO_LARGE``), over HTTP and WebSocket alike (issue 9)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import event

from tests.server.limit_helpers import http_client, websocket, with_settings
from tests.server.ws_paths import ws_path  # noqa: F401 (the fixture)

CREATE_CLIENT = "mutation($input: ClientInput!) { createClient(input: $input) { id } }"
CLIENT_COUNT = "{ clients { totalCount } }"
HEAVY = """
{
  clients(first: 50) { totalCount edges { node { id name contacts { id email role } } } }
  invoices(first: 50) { totalCount }
  viewer { __typename }
}
"""
SCHEMA_TYPES = "{ __schema { types { name description } } }"


def timed_out(body):
    assert body["data"] is None, body
    [error] = body["errors"]
    assert error["extensions"] == {"code": "TIMEOUT"}
    return error


async def some_clients(gql, token, count=5):
    for number in range(count):
        contacts = [{"email": f"billing{number}@client{number}.test", "role": "BILLING"}]
        await gql.data(
            CREATE_CLIENT,
            {"input": {"name": f"Client {number}", "contacts": contacts}},
            token=token,
        )


async def test_a_slow_query_is_cancelled_with_timeout(gql, runtime, tenant):
    await some_clients(gql, tenant.admin)
    async with http_client(with_settings(runtime, execution_timeout_seconds=0.001)) as hurried:
        response = await hurried.post(
            "/graphql", json={"query": HEAVY}, headers={"Authorization": f"Bearer {tenant.admin}"}
        )
    assert response.status_code == 200
    assert "0.001 seconds" in timed_out(response.json())["message"]
    # the database and its connections are fine afterwards
    data = await gql.data(HEAVY, token=tenant.admin)
    assert data["clients"]["totalCount"] == 5


async def test_a_timed_out_mutation_writes_nothing(gql, runtime, tenant):
    inserted = []

    def slow_after_insert(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("INSERT INTO CLIENT "):
            inserted.append(statement)
            time.sleep(0.6)  # the deadline passes right after the row is written

    engine = runtime.engine.sync_engine
    event.listen(engine, "after_cursor_execute", slow_after_insert)
    try:
        async with http_client(with_settings(runtime, execution_timeout_seconds=0.3)) as hurried:
            # the first request builds the caller's schema: not part of the timed mutation
            await hurried.post(
                "/graphql",
                json={"query": CLIENT_COUNT},
                headers={"Authorization": f"Bearer {tenant.admin}"},
            )
            response = await hurried.post(
                "/graphql",
                json={"query": CREATE_CLIENT, "variables": {"input": {"name": "Half Written"}}},
                headers={"Authorization": f"Bearer {tenant.admin}"},
            )
    finally:
        event.remove(engine, "after_cursor_execute", slow_after_insert)
    assert response.status_code == 200
    timed_out(response.json())
    assert inserted, "the mutation timed out before it wrote: nothing to roll back"
    assert (await gql.data(CLIENT_COUNT, token=tenant.admin))["clients"]["totalCount"] == 0


@pytest.mark.usefixtures("ws_path")
async def test_a_slow_query_over_a_websocket_times_out(gql, runtime, tenant):
    await some_clients(gql, tenant.admin, count=2)
    hurried = with_settings(runtime, execution_timeout_seconds=0.001)
    async with websocket(hurried, payload={"Authorization": f"Bearer {tenant.admin}"}) as ws:
        assert (await ws.receive_json())["type"] == "connection_ack"
        await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": HEAVY}})
        answer = await ws.receive_json()
        assert answer["type"] == "next"
        timed_out(answer["payload"])
        assert await ws.receive_json() == {"id": "1", "type": "complete"}
        # the connection lives on
        await ws.send_json({"type": "ping"})
        assert (await ws.receive_json())["type"] == "pong"


async def test_the_default_timeout_leaves_ordinary_work_alone(gql, tenant):
    data = await gql.data(HEAVY, token=tenant.admin)
    assert data["viewer"] == {"__typename": "StaffUser"}


@pytest.fixture
def small_answers(runtime):
    return with_settings(runtime, max_response_bytes=300)


async def test_an_answer_above_the_limit_is_replaced_by_an_error(small_answers):
    async with http_client(small_answers) as client:
        response = await client.post("/graphql", json={"query": SCHEMA_TYPES})
        assert response.status_code == 200
        assert response.json() == {
            "data": None,
            "errors": [
                {
                    "message": "The result is larger than 300 bytes; ask for fewer fields or a"
                    " smaller page.",
                    "extensions": {"code": "RESPONSE_TOO_LARGE", "maxBytes": 300},
                }
            ],
        }
        small = await client.post("/graphql", json={"query": "{ __typename }"})
        assert small.json()["data"] == {"__typename": "Query"}


@pytest.mark.usefixtures("ws_path")
async def test_a_websocket_answer_above_the_limit_is_replaced_too(small_answers):
    async with websocket(small_answers) as ws:
        assert (await ws.receive_json())["type"] == "connection_ack"
        await ws.send_json({"id": "a", "type": "subscribe", "payload": {"query": SCHEMA_TYPES}})
        answer = await ws.receive_json()
        assert answer["type"] == "next"
        assert answer["id"] == "a"
        assert answer["payload"]["data"] is None
        assert answer["payload"]["errors"][0]["extensions"]["code"] == "RESPONSE_TOO_LARGE"
        assert await ws.receive_json() == {"id": "a", "type": "complete"}
