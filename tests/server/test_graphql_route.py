"""``/graphql`` over HTTP goes straight to the GraphQL view (server.app.GraphQLRoute),
past Starlette's router; what the router still serves must not notice: a deployment
under a ``root_path``, the other routes, a path that is not quite ``/graphql``."""

from __future__ import annotations

import httpx

from server.app import create_app
from services.runtime import Runtime


async def _post(runtime: Runtime, url: str, *, root_path: str = "") -> httpx.Response:
    app = create_app(runtime=runtime)
    transport = httpx.ASGITransport(app=app, root_path=root_path)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as http:
        return await http.post(url, json={"query": "{ __typename }"})


async def test_graphql_is_answered_at_its_path(runtime: Runtime) -> None:
    answer = await _post(runtime, "/graphql")
    assert answer.status_code == 200
    assert answer.json()["data"] == {"__typename": "Query"}


async def test_graphql_is_answered_under_a_root_path(runtime: Runtime) -> None:
    answer = await _post(runtime, "/api/graphql", root_path="/api")
    assert answer.status_code == 200
    assert answer.json()["data"] == {"__typename": "Query"}


async def test_other_paths_are_routed_as_before(runtime: Runtime) -> None:
    slash = await _post(runtime, "/graphql/")
    assert slash.status_code == 307  # the router's redirect to /graphql
    assert slash.headers["location"] == "http://portal.test/graphql"
    assert (await _post(runtime, "/graphqlx")).status_code == 404
