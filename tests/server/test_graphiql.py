"""GraphiQL from local files under a strict CSP, and who may introspect
(``PORTICO_INTROSPECTION``: everyone outside production, signed-in staff in production)."""

from __future__ import annotations

import re

import httpx
import pytest

from server.app import create_app
from services.config import Settings
from services.runtime import Runtime
from tests.server.limit_helpers import websocket
from tests.server.ws_paths import ws_path  # noqa: F401 (the fixture)

INTROSPECT = "{ __schema { queryType { name } } }"


async def test_graphiql_uses_only_local_files_under_a_strict_csp(client):
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unpkg" not in page.text
    assert "cdn" not in page.text.lower()
    assert "<script>" not in page.text  # no inline script: script-src 'self' allows none
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert len(sources) == 6
    for source in sources:
        assert source.startswith("/graphiql/"), source
        asset = await client.get(source)
        assert asset.status_code == 200, source
        assert len(asset.content) > 0
    graphiql = await client.get("/graphiql/graphiql.min.js")
    assert graphiql.text.startswith("/*! GraphiQL 3.8.3")  # the license header is kept
    bootstrap = await client.get("/graphiql/portico-graphiql.js")
    assert "shouldPersistHeaders: true" in bootstrap.text


def app_client(runtime: Runtime, **settings: object) -> httpx.AsyncClient:
    changed = runtime.settings.model_copy(update=settings)
    app = create_app(runtime=Runtime.build(changed, runtime.engine))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal.test")


async def introspect(http: httpx.AsyncClient, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await http.post("/graphql", json={"query": INTROSPECT}, headers=headers)


def test_the_default_policy_follows_the_environment():
    assert Settings(environment="development").introspection_for == "everyone"
    assert Settings(environment="production", secret_key="x" * 40).introspection_for == "staff"
    assert (
        Settings(
            environment="production", secret_key="x" * 40, introspection="off"
        ).introspection_for
        == "off"
    )


async def test_everyone_may_introspect_outside_production(client):
    answer = await introspect(client)
    assert answer.json()["data"] == {"__schema": {"queryType": {"name": "Query"}}}


async def test_staff_only_introspection(runtime, tenant):
    async with app_client(runtime, introspection="staff") as http:
        refused = await introspect(http)
        assert refused.status_code == 200
        assert refused.json()["errors"][0]["extensions"]["code"] == "INTROSPECTION_DISABLED"
        strict = await http.post(
            "/graphql",
            json={"query": '{ __type(name: "Query") { name } }'},
            headers={"Accept": "application/graphql-response+json"},
        )
        assert strict.status_code == 403
        assert "data" not in strict.json()
        typename = await http.post("/graphql", json={"query": "{ __typename }"})
        assert typename.json()["data"] == {"__typename": "Query"}
        staff = await introspect(http, tenant.admin)
        assert staff.json()["data"] == {"__schema": {"queryType": {"name": "Query"}}}
        page = await http.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200  # the shell; its schema needs a staff token


async def test_introspection_off(runtime, tenant):
    async with app_client(runtime, introspection="off") as http:
        staff = await introspect(http, tenant.admin)
        assert staff.json()["errors"][0]["extensions"]["code"] == "INTROSPECTION_DISABLED"
        page = await http.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 404
        assert page.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


@pytest.mark.usefixtures("ws_path")
async def test_introspection_off_holds_over_a_websocket(runtime):
    changed = runtime.settings.model_copy(update={"introspection": "off"})
    async with websocket(Runtime.build(changed, runtime.engine)) as ws:
        assert (await ws.receive_json())["type"] == "connection_ack"
        await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": INTROSPECT}})
        refused = await ws.receive_json()
        assert (refused["id"], refused["type"]) == ("1", "error"), refused
        assert refused["payload"][0]["extensions"]["code"] == "INTROSPECTION_DISABLED"
        await ws.send_json({"id": "2", "type": "subscribe", "payload": {"query": "{ __typename }"}})
        typename = await ws.receive_json()
        assert typename["payload"]["data"] == {"__typename": "Query"}


@pytest.mark.parametrize("policy", ["staff", "off"])
async def test_a_query_that_does_not_introspect_still_runs(runtime, policy):
    async with app_client(runtime, introspection=policy) as http:
        answer = await http.post("/graphql", json={"query": "query { __typename }"})
        assert answer.json()["data"] == {"__typename": "Query"}
