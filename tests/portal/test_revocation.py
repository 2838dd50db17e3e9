"""Every way a contact's access ends takes effect at once: sessions, links and open
WebSocket connections (seed 003: "If you archive them or change the email address on
the client, they will no longer have access")."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest
from httpx_ws import AsyncWebSocketSession, WebSocketDisconnect, aconnect_ws

from server.app import create_app
from server.graphql_view import ACCESS_REVOKED
from services.db import create_engine
from services.runtime import Runtime
from tests.portal.helpers import (
    ARCHIVE_CLIENT,
    VIEWER,
    code_of,
    contact_token,
    dashboard_url,
    make_client,
    redeem,
    token_of,
)
from tests.server.ws_paths import ws_http, ws_path  # noqa: F401 (the fixture)

pytestmark = pytest.mark.usefixtures("ws_path")

UPDATE_CLIENT = (
    "mutation($id: ID!, $input: ClientInput!) { updateClient(id: $id, input: $input) { id } }"
)
UPDATE_CONTACT = """
mutation($id: ID!, $input: UpdateContactInput!) { updateContact(id: $id, input: $input) { id } }
"""
DELETE_CONTACT = "mutation($id: ID!) { deleteContact(id: $id) }"
UPDATE_SETTINGS = """
mutation($input: AccountSettingsInput!) { updateAccountSettings(input: $input) { portalEnabled } }
"""
RESTORE_CLIENT = "mutation($id: ID!) { restoreClient(id: $id) { id } }"
SESSIONS = "query($contactId: ID) { sessions(contactId: $contactId) { id kind current readOnly } }"
REVOKE_SESSION = "mutation($id: ID!) { revokeSession(id: $id) { id } }"
REVOKE_ACCESS = "mutation($id: ID!) { revokeContactAccess(contactId: $id) { id } }"


@asynccontextmanager
async def open_socket(runtime, token: str) -> AsyncIterator[AsyncWebSocketSession]:
    """A graphql-transport-ws connection signed in with ``token`` (acknowledged)."""
    app = create_app(runtime=runtime)
    async with ws_http(app, runtime.settings) as (http, url):
        connecting: AbstractAsyncContextManager[AsyncWebSocketSession] = aconnect_ws(
            url, http, subprotocols=["graphql-transport-ws"]
        )
        async with connecting as ws:
            await _init(ws, token)
            yield ws


async def _init(ws: AsyncWebSocketSession, token: str) -> None:
    await ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    assert (await ws.receive_json())["type"] == "connection_ack"


async def closed_with(ws) -> int:
    """The close code the server ends the socket with (within two seconds)."""

    async def read_until_closed() -> None:
        async with asyncio.timeout(2):
            while True:
                await ws.receive_text()

    with pytest.raises(WebSocketDisconnect) as closed:
        await read_until_closed()
    return closed.value.code


async def assert_ended(gql, token: str, link_token: str) -> None:
    assert (await gql.post(VIEWER, token=token)).status_code == 401
    assert code_of(await redeem(gql, link_token)) == "UNAUTHENTICATED"


async def signed_in_contact(gql, tenant):
    client = await make_client(gql, tenant.admin)
    jane = client["contacts"][0]
    url = await dashboard_url(gql, tenant.admin, jane["id"])
    token = (await redeem(gql, token_of(url)))["data"]["redeemPortalLink"]["token"]
    return client, jane, token, token_of(url)


async def test_archiving_a_client_ends_sessions_links_and_open_sockets(gql, tenant, runtime):
    client, _jane, token, link = await signed_in_contact(gql, tenant)
    async with open_socket(runtime, token) as ws:
        # when staff archive the client
        await gql.data(ARCHIVE_CLIENT, {"id": client["id"]}, token=tenant.admin)
        # then the open socket is closed as unauthorized
        assert await closed_with(ws) == ACCESS_REVOKED
    await assert_ended(gql, token, link)
    # and restoring the client does not bring the old session or link back
    await gql.data(RESTORE_CLIENT, {"id": client["id"]}, token=tenant.admin)
    await assert_ended(gql, token, link)


async def test_turning_off_the_clients_portal_ends_access(gql, tenant, runtime):
    client, _jane, token, link = await signed_in_contact(gql, tenant)
    async with open_socket(runtime, token) as ws:
        await gql.data(
            UPDATE_CLIENT,
            {"id": client["id"], "input": {"portalEnabled": False}},
            token=tenant.admin,
        )
        assert await closed_with(ws) == ACCESS_REVOKED
    await assert_ended(gql, token, link)


async def test_turning_off_the_accounts_portal_ends_every_contacts_access(gql, tenant, runtime):
    _client, _jane, token, link = await signed_in_contact(gql, tenant)
    async with open_socket(runtime, token) as ws:
        await gql.data(UPDATE_SETTINGS, {"input": {"portalEnabled": False}}, token=tenant.admin)
        assert await closed_with(ws) == ACCESS_REVOKED
    await assert_ended(gql, token, link)
    # turning it back on does not revive them
    await gql.data(UPDATE_SETTINGS, {"input": {"portalEnabled": True}}, token=tenant.admin)
    await assert_ended(gql, token, link)


async def test_changing_a_contacts_email_ends_its_access_only(gql, tenant, runtime):
    client, jane, token, link = await signed_in_contact(gql, tenant)
    john = client["contacts"][1]
    john_token = await contact_token(gql, tenant.admin, john["id"])
    async with open_socket(runtime, token) as ws:
        await gql.data(
            UPDATE_CONTACT,
            {"id": jane["id"], "input": {"email": "jane.new@smith.test"}},
            token=tenant.admin,
        )
        assert await closed_with(ws) == ACCESS_REVOKED
    await assert_ended(gql, token, link)
    # the other contact keeps access
    assert (await gql.data(VIEWER, token=john_token))["viewer"]["id"] == john["id"]


async def test_removing_a_contact_ends_its_access(gql, tenant, runtime):
    _client, jane, token, link = await signed_in_contact(gql, tenant)
    async with open_socket(runtime, token) as ws:
        await gql.data(DELETE_CONTACT, {"id": jane["id"]}, token=tenant.admin)
        assert await closed_with(ws) == ACCESS_REVOKED
    await assert_ended(gql, token, link)


async def test_staff_revoke_a_contacts_access(gql, tenant, runtime):
    _client, jane, token, link = await signed_in_contact(gql, tenant)
    async with open_socket(runtime, token) as ws:
        await gql.data(REVOKE_ACCESS, {"id": jane["id"]}, token=tenant.admin)
        assert await closed_with(ws) == ACCESS_REVOKED
    await assert_ended(gql, token, link)


async def test_sign_out_closes_the_sessions_sockets(gql, tenant, runtime):
    _client, _jane, token, _link = await signed_in_contact(gql, tenant)
    async with open_socket(runtime, token) as ws:
        await gql.data("mutation { signOut }", token=token)
        assert await closed_with(ws) == ACCESS_REVOKED
    assert (await gql.post(VIEWER, token=token)).status_code == 401


async def test_sessions_are_listed_and_revocable(gql, tenant):
    client = await make_client(gql, tenant.admin)
    jane = client["contacts"][0]
    first = await contact_token(gql, tenant.admin, jane["id"])
    second = (await redeem(gql, token_of(await dashboard_url(gql, tenant.admin, jane["id"]))))[
        "data"
    ]["redeemPortalLink"]["token"]
    # the contact sees its live sessions, the current one marked
    # (the first was opened with the rotated link, so it ended with it)
    mine = (await gql.data(SESSIONS, token=second))["sessions"]
    assert [(s["kind"], s["current"]) for s in mine] == [("CONTACT", True)]
    assert (await gql.post(VIEWER, token=first)).status_code == 401
    # staff list the contact's sessions and revoke one
    listed = (await gql.data(SESSIONS, {"contactId": jane["id"]}, token=tenant.admin))["sessions"]
    assert len(listed) == 1
    await gql.data(REVOKE_SESSION, {"id": listed[0]["id"]}, token=tenant.admin)
    assert (await gql.post(VIEWER, token=second)).status_code == 401


async def test_a_contact_cannot_revoke_someone_elses_session(gql, tenant):
    client = await make_client(gql, tenant.admin)
    jane, john = client["contacts"]
    jane_token = await contact_token(gql, tenant.admin, jane["id"])
    john_token = await contact_token(gql, tenant.admin, john["id"])
    johns = (await gql.data(SESSIONS, token=john_token))["sessions"][0]["id"]
    body = await gql(REVOKE_SESSION, {"id": johns}, token=jane_token)
    assert code_of(body) == "NOT_FOUND"
    # nor list another contact's sessions
    body = await gql(SESSIONS, {"contactId": john["id"]}, token=jane_token)
    assert code_of(body) == "NOT_FOUND"
    assert (await gql.data(VIEWER, token=john_token))["viewer"]["id"] == john["id"]


async def test_a_rolled_back_revocation_closes_nothing(gql, tenant, runtime):
    client, jane, token, _link = await signed_in_contact(gql, tenant)
    john = client["contacts"][1]
    async with open_socket(runtime, token) as ws:
        # changing Jane's email to John's fails: nothing is revoked, the socket stays
        body = await gql(
            UPDATE_CONTACT,
            {"id": jane["id"], "input": {"email": "john@smith.test"}},
            token=tenant.admin,
        )
        assert code_of(body) == "CONFLICT"
        await ws.send_json({"type": "ping"})
        assert (await ws.receive_json())["type"] == "pong"
    assert (await gql.data(VIEWER, token=token))["viewer"]["id"] == jane["id"]
    assert john["id"]


CREATE_TOKEN = """
mutation { createApiToken(name: "Sync", scopes: ["events:subscribe", "invoices:read"]) {
  token apiClient { id } } }
"""


async def test_revoking_an_api_token_closes_the_partners_sockets(gql, tenant, runtime):
    created = (await gql.data(CREATE_TOKEN, token=tenant.admin))["createApiToken"]
    async with open_socket(runtime, created["token"]) as ws:
        await gql.data(
            "mutation($id: ID!) { revokeApiToken(id: $id) { id } }",
            {"id": created["apiClient"]["id"]},
            token=tenant.admin,
        )
        assert await closed_with(ws) == ACCESS_REVOKED


REDIS_URL = os.environ.get("PORTICO_TEST_REDIS_URL")


@pytest.mark.skipif(not REDIS_URL, reason="PORTICO_TEST_REDIS_URL is not set")
async def test_revocation_on_one_instance_closes_sockets_on_another(gql, tenant, runtime, backend):
    """Two server instances share the database and Redis: archiving a client through
    instance A closes the contact's socket held by instance B."""
    client, _jane, token, _link = await signed_in_contact(gql, tenant)
    settings = runtime.settings.model_copy(update={"redis_url": REDIS_URL})
    engine_b = create_engine(backend.url, **backend.engine_kwargs)
    instance_a = Runtime.build(settings, runtime.engine)
    instance_b = Runtime.build(settings, engine_b)
    await instance_a.hub.start()
    await instance_b.hub.start()
    try:
        async with open_socket(instance_b, token) as ws:
            app_a = create_app(runtime=instance_a)
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app_a), base_url="http://portal.test"
            ) as http_a:
                answer = await http_a.post(
                    "/graphql",
                    json={"query": ARCHIVE_CLIENT, "variables": {"id": client["id"]}},
                    headers={"Authorization": f"Bearer {tenant.admin}"},
                )
                assert "errors" not in answer.json()
            assert instance_a.hub.open_connections(_session_id(runtime, token)) == 0
            assert await closed_with(ws) == ACCESS_REVOKED
    finally:
        await instance_a.hub.stop()
        await instance_b.hub.stop()
        await engine_b.dispose()


def _session_id(runtime, token: str):
    import uuid

    from auth.tokens import TokenPurpose

    return uuid.UUID(hex=runtime.signer.unsign(TokenPurpose.SESSION, token, max_age_seconds=None))
