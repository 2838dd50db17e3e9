"""Every HTTP error from ``/graphql`` is GraphQL-shaped JSON with an ``extensions.code``
(issue 9): a frontend reads one shape whatever went wrong, never a plain-text body."""

from __future__ import annotations

import pytest

TYPENAME = "{ __typename }"
JSON = {"Content-Type": "application/json"}


def only_error(response):
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = response.json()
    assert set(body) <= {"data", "errors"}
    assert body.get("data") is None
    [error] = body["errors"]
    assert error["message"]
    return error


@pytest.mark.parametrize(
    ("name", "request_kwargs", "status", "code"),
    [
        (
            "text body",
            {"content": TYPENAME, "headers": {"Content-Type": "text/plain"}},
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            "form body",
            {"data": {"query": TYPENAME}},
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            # multipart is for file uploads, and needs a preflighted header (CSRF)
            "multipart body without a preflight header",
            {"files": {"operations": ("o.json", b'{"query": "{ __typename }"}')}},
            400,
            "PREFLIGHT_REQUIRED",
        ),
        (
            "no content type",
            {"content": b'{"query": "{ __typename }"}'},
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        ("broken JSON", {"content": b'{"query": ', "headers": JSON}, 400, "BAD_REQUEST"),
        (
            "invalid UTF-8",
            {"content": b'{"query": "{ \xff\xfe __typename }"}', "headers": JSON},
            400,
            "BAD_REQUEST",
        ),
        ("no query", {"json": {"variables": {}}}, 400, "BAD_REQUEST"),
        ("query not a string", {"json": {"query": 5}}, 400, "BAD_REQUEST"),
        (
            "variables not an object",
            {"json": {"query": TYPENAME, "variables": [1]}},
            400,
            "BAD_REQUEST",
        ),
        ("a batch", {"json": [{"query": TYPENAME}]}, 400, "BAD_REQUEST"),
        (
            "unknown operation name",
            {"json": {"query": "query A { __typename }", "operationName": "B"}},
            400,
            "BAD_REQUEST",
        ),
    ],
)
async def test_a_refused_post_says_why_with_a_code(client, name, request_kwargs, status, code):
    response = await client.post("/graphql", **request_kwargs)
    assert response.status_code == status, (name, response.text)
    error = only_error(response)
    assert error["extensions"]["code"] == code


async def test_invalid_utf8_is_a_client_error_not_a_crash(client):
    response = await client.post(
        "/graphql", content=b'{"query": "\xc3\x28"}', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert only_error(response) == {
        "message": "The request body is not valid UTF-8.",
        "extensions": {"code": "BAD_REQUEST"},
    }


async def test_a_mutation_over_get_is_405_and_says_to_post(client):
    response = await client.get("/graphql", params={"query": "mutation { signOut }"})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    error = only_error(response)
    assert error["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    assert "GET" in error["message"]


async def test_get_with_broken_variables_is_a_bad_request(client):
    response = await client.get("/graphql", params={"query": TYPENAME, "variables": "{oops"})
    assert response.status_code == 400
    assert only_error(response)["extensions"]["code"] == "BAD_REQUEST"


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
async def test_other_methods_are_405_in_json(client, method):
    response = await client.request(method, "/graphql", json={"query": TYPENAME})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert only_error(response)["extensions"]["code"] == "METHOD_NOT_ALLOWED"


async def test_method_is_checked_before_the_token(client):
    response = await client.put(
        "/graphql", json={"query": TYPENAME}, headers={"Authorization": "Bearer forged"}
    )
    assert response.status_code == 405


async def test_well_formed_requests_still_work(client):
    for response in (
        await client.post("/graphql", json={"query": TYPENAME}),
        await client.post(
            "/graphql",
            content=b'{"query": "{ __typename }"}',
            headers={"Content-Type": "application/json; charset=utf-8"},
        ),
        await client.get("/graphql", params={"query": TYPENAME}),
    ):
        assert response.status_code == 200, response.text
        assert response.json()["data"] == {"__typename": "Query"}


async def test_a_syntax_error_stays_a_graphql_error(client):
    response = await client.post("/graphql", json={"query": "{ __typename"})
    assert response.status_code == 200
    assert only_error(response)["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


async def test_graphiql_is_still_served(client):
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "GraphiQL" in response.text
