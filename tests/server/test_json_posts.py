"""A JSON POST, the common request, is answered by Portico's own short path
(``PorticoGraphQL._run_json_post``) instead of Strawberry's whole view; its answers
must be the view's, byte for byte: status, headers, body, for results, refusals and
every error before or during execution, in both media types."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
from starlette.applications import Starlette

from server.app import create_app
from server.graphql_view import PorticoGraphQL
from services.persisted_documents import document_hash
from services.runtime import Runtime
from tests.server.limit_helpers import with_settings

VIEWER = "{ viewer { __typename ... on StaffUser { name role } } }"
JSON = "application/json"
RESPONSE_JSON = "application/graphql-response+json"


def pq(document: str, version: int = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": document_hash(document)}}


REQUESTS: list[tuple[str, Any]] = [
    ("result", {"query": VIEWER}),
    ("typename", {"query": "{ __typename }", "variables": None, "operationName": None}),
    (
        "variables",
        {"query": "query($n: Int!) { invoices(first: $n) { totalCount } }", "variables": {"n": 2}},
    ),
    (
        "bad variable",
        {
            "query": "query($n: Int!) { invoices(first: $n) { totalCount } }",
            "variables": {"n": "two"},
        },
    ),
    ("missing variable", {"query": "query($n: Int!) { invoices(first: $n) { totalCount } }"}),
    ("field error", {"query": '{ invoice(id: "nope") { id } }'}),
    ("syntax error", {"query": "{ viewer "}),
    ("validation error", {"query": "{ nope }"}),
    (
        "operation chosen",
        {"query": "query A { __typename } query B { viewer { __typename } }", "operationName": "B"},
    ),
    ("operation unknown", {"query": "query A { __typename }", "operationName": "B"}),
    ("operation not named", {"query": "query A { __typename } query B { __typename }"}),
    ("operation name not a string", {"query": "query A { __typename }", "operationName": 7}),
    ("mutation refused", {"query": "mutation { nope }"}),
    ("no query", {}),
    ("query null", {"query": None}),
    ("query not a string", {"query": ["{ __typename }"]}),
    ("variables not an object", {"query": "{ __typename }", "variables": "{}"}),
    ("extensions not an object", {"query": "{ __typename }", "extensions": []}),
    ("unknown extensions", {"query": "{ __typename }", "extensions": {"tracing": True}}),
    ("persisted unknown", {"extensions": pq("{ __typename }")}),
    (
        "persisted taught",
        {"query": "query T { __typename }", "extensions": pq("query T { __typename }")},
    ),
    ("persisted by hash", {"extensions": pq("query T { __typename }")}),
    (
        "persisted mismatch",
        {"query": "{ __typename }", "extensions": pq("{ viewer { __typename } }")},
    ),
    ("persisted version", {"extensions": pq("{ __typename }", version=2)}),
    ("persisted shape", {"extensions": {"persistedQuery": "yes"}}),
    ("batch", [{"query": "{ __typename }"}]),
    ("introspection", {"query": "{ __schema { queryType { name } } }"}),
    ("too large", {"query": "{ __schema { types { name fields { name } } } }"}),
]
BODIES: list[tuple[str, bytes]] = [
    ("not JSON", b"{query"),
    ("empty", b""),
    ("not UTF-8", b'{"query": "\xff"}'),
    ("byte order mark", b'\xef\xbb\xbf{"query": "{ __typename }"}'),
    ("duplicate members", b'{"query": "{ nope }", "query": "{ __typename }"}'),
]


async def _answers(
    runtime: Runtime, requests: list[tuple[str, bytes, dict[str, str]]], *, direct: bool
) -> list[tuple[str, int, list[tuple[str, str]], bytes]]:
    # answers over 2,000 bytes are withheld (RESPONSE_TOO_LARGE)
    app = create_app(runtime=with_settings(runtime, max_response_bytes=2_000))
    view = _view(app)
    assert view.json_posts_direct  # the path under test is the one taken by default
    view.json_posts_direct = direct
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    answers = []
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as http:
        for name, body, headers in requests:
            answer = await http.post("/graphql", content=body, headers=headers)
            answers.append((name, answer.status_code, answer.headers.multi_items(), answer.content))
    return answers


def _view(app: Starlette) -> PorticoGraphQL:
    for route in app.routes:
        endpoint = getattr(route, "endpoint", None)
        if isinstance(endpoint, PorticoGraphQL):
            return endpoint
    raise AssertionError("no GraphQL route")


async def test_json_posts_are_answered_as_strawberrys_view_answers_them(
    runtime: Runtime, tenant: Any
) -> None:
    requests: list[tuple[str, bytes, dict[str, str]]] = []
    signed_in = {"Authorization": f"Bearer {tenant.admin}", "X-Request-ID": "same-id"}
    for accept in (JSON, RESPONSE_JSON):
        headers = {**signed_in, "Accept": accept, "Content-Type": JSON}
        for name, payload in REQUESTS:
            requests.append((f"{name} ({accept})", orjson.dumps(payload), headers))
        for name, body in BODIES:
            requests.append((f"{name} ({accept})", body, headers))
        anonymous = {"Accept": accept, "Content-Type": JSON, "X-Request-ID": "same-id"}
        requests.append(("anonymous", orjson.dumps({"query": VIEWER}), anonymous))
    for accept in (f"{RESPONSE_JSON}, {JSON};q=0.9", "*/*", ""):
        for content_type in (JSON, f"{JSON}; charset=utf-8"):
            headers = {**signed_in, "Accept": accept, "Content-Type": content_type}
            for name, payload in (REQUESTS[0], REQUESTS[6], REQUESTS[3]):
                requests.append(
                    (f"{name} ({accept}, {content_type})", orjson.dumps(payload), headers)
                )

    direct = await _answers(runtime, requests, direct=True)
    through_view = await _answers(runtime, requests, direct=False)
    for mine, theirs in zip(direct, through_view, strict=True):
        assert mine == theirs
    statuses = {status for _name, status, _headers, _body in direct}
    assert statuses >= {200, 400, 404}  # results and refusals both were compared
    codes = {code for _name, _status, _headers, body in direct for code in _codes(body)}
    assert codes >= {
        "BAD_REQUEST",
        "BAD_USER_INPUT",
        "GRAPHQL_PARSE_FAILED",
        "GRAPHQL_VALIDATION_FAILED",
        "PERSISTED_QUERY_NOT_FOUND",
        "RESPONSE_TOO_LARGE",
    }


def _codes(body: bytes) -> set[str]:
    errors = orjson.loads(body).get("errors") or []
    return {error["extensions"]["code"] for error in errors}
