"""Registered documents for partner tokens (issue 14, item 4): with ``partnerDocuments:
REGISTERED`` a partner token runs only the documents an account admin registered — sent
in full or by hash — over HTTP and over a WebSocket; anything else is refused with
``PERSISTED_QUERY_NOT_ALLOWED``. Staff are never restricted; back to ANY lifts it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from models.enums import StaffRole
from services.config import Settings
from services.persisted_documents import document_hash
from tests.portal.helpers import make_client
from tests.schema.test_invoices import create_invoice, send_invoice
from tests.server.limit_helpers import websocket
from tests.server.webhook_helpers import CREATE_TOKEN, CREATE_WEBHOOK, WEBHOOK_QUERY
from tests.server.ws_paths import ws_path  # noqa: F401 (the fixture)

WAIT = 10
PING = "query Ping { __typename }"
OTHER = "query Other { viewer { __typename } }"
CHANGES = "subscription { invoiceChanged { kind invoice { id } } }"
REGISTER = """
mutation($document: String!, $name: String) {
  registerPersistedQuery(document: $document, name: $name) { sha256 name document createdAt }
}
"""
LIST = "query { persistedQueries { sha256 name } }"
DELETE = "mutation($sha256: String!) { deletePersistedQuery(sha256: $sha256) { sha256 } }"
SETTINGS = """
mutation($mode: PartnerDocuments!) {
  updateAccountSettings(input: {partnerDocuments: $mode}) { partnerDocuments }
}
"""
SCOPES = ["invoices:read", "events:subscribe", "clients:read"]


def by_hash(document: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": document_hash(document)}}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def data_of(response: Any) -> Any:
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def code_of(body: dict[str, Any]) -> str:
    code: str = body["errors"][0]["extensions"]["code"]
    return code


async def partner(gql: Any, admin: str, scopes: list[str] = SCOPES) -> tuple[str, str]:
    data = await gql.data(CREATE_TOKEN, {"name": "ledger", "scopes": scopes}, token=admin)
    return data["createApiToken"]["token"], data["createApiToken"]["apiClient"]["id"]


async def registered_only(gql: Any, admin: str, mode: str = "REGISTERED") -> None:
    data = await gql.data(SETTINGS, {"mode": mode}, token=admin)
    assert data["updateAccountSettings"]["partnerDocuments"] == mode


async def register(gql: Any, admin: str, document: str, name: str | None = None) -> str:
    data = await gql.data(REGISTER, {"document": document, "name": name}, token=admin)
    sha256: str = data["registerPersistedQuery"]["sha256"]
    return sha256


async def post(client: Any, token: str, body: dict[str, Any], **headers: str) -> Any:
    return await client.post("/graphql", json=body, headers={**bearer(token), **headers})


async def test_a_registered_document_runs_in_full_and_by_hash(client, gql, tenant):
    token, _ = await partner(gql, tenant.admin)
    await registered_only(gql, tenant.admin)
    sha256 = await register(gql, tenant.admin, PING, "health check")
    assert sha256 == document_hash(PING)

    full = await post(client, token, {"query": PING})
    assert data_of(full) == {"__typename": "Query"}
    hashed = await post(client, token, {"extensions": by_hash(PING)})
    assert data_of(hashed) == {"__typename": "Query"}
    both = await post(client, token, {"query": PING, "extensions": by_hash(PING)})
    assert data_of(both) == {"__typename": "Query"}
    over_get = await client.get(
        "/graphql",
        params={"extensions": json.dumps(by_hash(PING))},
        headers={**bearer(token), "Accept": "*/*"},
    )
    assert over_get.status_code == 200, over_get.text
    assert data_of(over_get) == {"__typename": "Query"}


async def test_anything_unregistered_is_refused(client, gql, tenant):
    token, _ = await partner(gql, tenant.admin)
    await registered_only(gql, tenant.admin)
    await register(gql, tenant.admin, PING)

    refused = await post(client, token, {"query": OTHER})
    assert refused.status_code == 200
    assert refused.json()["data"] is None
    assert code_of(refused.json()) == "PERSISTED_QUERY_NOT_ALLOWED"
    strict = await post(client, token, {"query": OTHER}, Accept="application/graphql-response+json")
    assert strict.status_code == 403
    assert "data" not in strict.json()
    assert code_of(strict.json()) == "PERSISTED_QUERY_NOT_ALLOWED"
    # a hash the account never registered: not looked up among what anyone else taught
    await client.post("/graphql", json={"query": OTHER, "extensions": by_hash(OTHER)})
    unknown = await post(client, token, {"extensions": by_hash(OTHER)})
    assert code_of(unknown.json()) == "PERSISTED_QUERY_NOT_ALLOWED"
    # the registered text with a byte changed is another document
    changed = await post(client, token, {"query": PING + " "})
    assert code_of(changed.json()) == "PERSISTED_QUERY_NOT_ALLOWED"
    mismatched = await post(client, token, {"query": OTHER, "extensions": by_hash(PING)})
    assert mismatched.status_code == 400
    assert code_of(mismatched.json()) == "BAD_REQUEST"


async def test_documents_of_another_account_do_not_count(client, gql, tenant, make_tenant):
    other = await make_tenant("globex")
    await register(gql, other.admin, OTHER)
    token, _ = await partner(gql, tenant.admin)
    await registered_only(gql, tenant.admin)
    refused = await post(client, token, {"query": OTHER})
    assert code_of(refused.json()) == "PERSISTED_QUERY_NOT_ALLOWED"
    by_their_hash = await post(client, token, {"extensions": by_hash(OTHER)})
    assert code_of(by_their_hash.json()) == "PERSISTED_QUERY_NOT_ALLOWED"


async def test_staff_are_never_restricted_and_any_lifts_it(client, gql, tenant):
    token, _ = await partner(gql, tenant.admin)
    await registered_only(gql, tenant.admin)
    for role in (StaffRole.ADMIN, StaffRole.MEMBER):
        staff = await post(client, tenant.tokens[role], {"query": OTHER})
        assert staff.json()["data"] == {"viewer": {"__typename": "StaffUser"}}
    assert code_of((await post(client, token, {"query": OTHER})).json()) == (
        "PERSISTED_QUERY_NOT_ALLOWED"
    )
    await registered_only(gql, tenant.admin, "ANY")
    lifted = await post(client, token, {"query": OTHER})
    assert data_of(lifted) == {"viewer": {"__typename": "ApiClient"}}


async def test_deleting_a_registration_refuses_it_again(client, gql, tenant):
    token, _ = await partner(gql, tenant.admin)
    await registered_only(gql, tenant.admin)
    sha256 = await register(gql, tenant.admin, PING, "first")
    assert await register(gql, tenant.admin, PING, "renamed") == sha256  # same text: kept
    listed = await gql.data(LIST, token=tenant.admin)
    assert listed["persistedQueries"] == [{"sha256": sha256, "name": "renamed"}]
    assert (await post(client, token, {"query": PING})).json()["data"] == {"__typename": "Query"}

    deleted = await gql.data(DELETE, {"sha256": sha256.upper()}, token=tenant.admin)
    assert deleted["deletePersistedQuery"] == {"sha256": sha256}
    assert (await gql.data(LIST, token=tenant.admin))["persistedQueries"] == []
    refused = await post(client, token, {"extensions": by_hash(PING)})
    assert code_of(refused.json()) == "PERSISTED_QUERY_NOT_ALLOWED"
    again = await gql(DELETE, {"sha256": sha256}, token=tenant.admin)
    assert code_of(again) == "NOT_FOUND"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{ nope }", "Cannot query field 'nope'"),
        ("{ staffUsers { id } }", "Cannot query field 'staffUsers'"),  # staff only
        ("query {", "Syntax Error"),
        ("   ", "Give the document's text."),
    ],
)
async def test_a_document_no_partner_could_run_is_refused(gql, tenant, document, message):
    body = await gql(REGISTER, {"document": document}, token=tenant.admin)
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == "document"
    assert message in error["message"]
    assert (await gql.data(LIST, token=tenant.admin))["persistedQueries"] == []


async def test_only_account_admins_manage_registered_documents(gql, tenant):
    token, _ = await partner(gql, tenant.admin)
    for caller in (tenant.tokens[StaffRole.MANAGER], tenant.tokens[StaffRole.MEMBER], token):
        for document, variables in (
            (REGISTER, {"document": PING}),
            (LIST, {}),
            (DELETE, {"sha256": document_hash(PING)}),
        ):
            body = await gql(document, variables, token=caller)
            assert code_of(body) == "GRAPHQL_VALIDATION_FAILED", body
    assert await register(gql, tenant.tokens[StaffRole.OWNER], PING)


@pytest.mark.usefixtures("ws_path")
async def test_over_a_websocket_only_registered_subscriptions_start(runtime, gql, tenant):
    customer = await make_client(gql, tenant.admin)
    token, _ = await partner(gql, tenant.admin)
    await registered_only(gql, tenant.admin)
    async with websocket(runtime, payload=bearer(token)) as ws:
        assert (await asyncio.wait_for(ws.receive_json(), WAIT))["type"] == "connection_ack"
        await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": CHANGES}})
        refused = await asyncio.wait_for(ws.receive_json(), WAIT)
        assert (refused["id"], refused["type"]) == ("1", "error")
        assert refused["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"

        await register(gql, tenant.admin, CHANGES)
        await ws.send_json({"id": "2", "type": "subscribe", "payload": {"query": CHANGES}})
        for _ in range(200):
            if runtime.events.listener_count() >= 1:
                break
            await asyncio.sleep(0.01)
        invoice = await create_invoice(gql, tenant.admin, customer["id"])
        await send_invoice(gql, tenant.admin, invoice["id"])
        event = await asyncio.wait_for(ws.receive_json(), WAIT)
        assert (event["id"], event["type"]) == ("2", "next"), event
        assert event["payload"]["data"]["invoiceChanged"] == {
            "kind": "SENT",
            "invoice": {"id": invoice["id"]},
        }


@pytest.mark.usefixtures("ws_path")
async def test_the_legacy_websocket_protocol_is_held_to_the_same(runtime, gql, tenant):
    token, _ = await partner(gql, tenant.admin)
    await registered_only(gql, tenant.admin)
    async with websocket(runtime, protocol="graphql-ws", payload=bearer(token)) as ws:
        assert (await asyncio.wait_for(ws.receive_json(), WAIT))["type"] == "connection_ack"
        await ws.send_json({"id": "1", "type": "start", "payload": {"query": CHANGES}})
        refused = await asyncio.wait_for(ws.receive_json(), WAIT)
        assert refused["type"] == "error", refused
        assert refused["payload"]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_allow_private": True})


async def test_a_webhooks_document_is_registered_with_it(gql, tenant):
    _, token_id = await partner(gql, tenant.admin)
    await registered_only(gql, tenant.admin)
    created = await gql.data(
        CREATE_WEBHOOK,
        {
            "input": {
                "apiTokenId": token_id,
                "url": "http://127.0.0.1:9/hook",
                "query": WEBHOOK_QUERY,
            }
        },
        token=tenant.admin,
    )
    assert created["createWebhook"]["webhook"]["query"] == WEBHOOK_QUERY
    listed = await gql.data(LIST, token=tenant.admin)
    assert listed["persistedQueries"] == [{"sha256": document_hash(WEBHOOK_QUERY), "name": None}]
    # the registration stays while the webhook uses it
    refused = await gql(DELETE, {"sha256": document_hash(WEBHOOK_QUERY)}, token=tenant.admin)
    assert code_of(refused) == "CONFLICT"
