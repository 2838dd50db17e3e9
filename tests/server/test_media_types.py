"""``application/graphql-response+json`` (GraphQL over HTTP): a request that fails before
execution is 4xx without ``data``; with ``application/json`` it stays 200, as before."""

from __future__ import annotations

import pytest

from server.media_types import APPLICATION_JSON, GRAPHQL_RESPONSE_JSON, response_media_type

GRAPHQL_RESPONSE = {"Accept": GRAPHQL_RESPONSE_JSON}


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, APPLICATION_JSON),
        ("*/*", APPLICATION_JSON),
        ("application/json", APPLICATION_JSON),
        ("application/graphql-response+json", GRAPHQL_RESPONSE_JSON),
        ("application/graphql-response+json, application/json;q=0.9", GRAPHQL_RESPONSE_JSON),
        ("application/graphql-response+json;q=0.5, application/json", APPLICATION_JSON),
        ("application/graphql-response+json;q=0", APPLICATION_JSON),
        ("text/html", APPLICATION_JSON),
    ],
)
def test_the_media_type_follows_accept(accept, expected):
    assert response_media_type(accept) == expected


@pytest.mark.parametrize(
    ("query", "variables", "code"),
    [
        ("{ __typename", None, "GRAPHQL_PARSE_FAILED"),
        ("{ nope }", None, "GRAPHQL_VALIDATION_FAILED"),
        ("query($s: String!) { __type(name: $s) { name } }", {"s": 5}, "BAD_USER_INPUT"),
    ],
)
async def test_failures_before_execution_are_400_without_data(client, query, variables, code):
    body = {"query": query, "variables": variables}
    answer = await client.post("/graphql", json=body, headers=GRAPHQL_RESPONSE)
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"].startswith(GRAPHQL_RESPONSE_JSON)
    assert "data" not in answer.json()
    assert answer.json()["errors"][0]["extensions"]["code"] == code

    legacy = await client.post("/graphql", json=body, headers={"Accept": APPLICATION_JSON})
    assert legacy.status_code == 200
    assert legacy.headers["content-type"].startswith(APPLICATION_JSON)
    assert legacy.json()["data"] is None
    assert legacy.json()["errors"][0]["extensions"]["code"] == code


async def test_a_result_is_200_in_either_type(client):
    for accept in (GRAPHQL_RESPONSE_JSON, APPLICATION_JSON):
        answer = await client.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"Accept": accept}
        )
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith(accept)
        assert answer.json()["data"] == {"__typename": "Query"}


async def test_an_execution_error_keeps_200_and_its_data(tenant, client):
    """A field that fails (an unknown invoice) is an execution result, whatever the type."""
    answer = await client.post(
        "/graphql",
        json={"query": 'query { invoice(id: "00000000-0000-0000-0000-000000000000") { id } }'},
        headers={**GRAPHQL_RESPONSE, "Authorization": f"Bearer {tenant.admin}"},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "data" in body
    assert body["errors"][0]["path"] == ["invoice"]


async def test_refusals_keep_their_status_and_say_so_in_the_accepted_type(client):
    answer = await client.post(
        "/graphql", content=b"{", headers={**GRAPHQL_RESPONSE, "Content-Type": "application/json"}
    )
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith(GRAPHQL_RESPONSE_JSON)
    assert answer.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
