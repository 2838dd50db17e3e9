"""A query sent again runs from its kept tree, past Strawberry's pipeline
(schema/prepared_operations.py); its answers must be the pipeline's, byte for byte:
status, headers and body, for results, field errors, variables that do not coerce and
every refusal, over POST and GET, in both media types. And only what the pipeline let
through to execution is kept: refused documents, mutations and inputs the hygiene
refuses take the pipeline every time, and each profile keeps its own."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import httpx
import orjson
import pytest

import schema.prepared_operations as prepared_operations
from auth.profiles import STANDARD_PROFILES
from schema.prepared_operations import PreparedOperations, operation_key
from schema.registry import build_profile_schema
from server.app import create_app
from services.runtime import Runtime
from tests.portal.helpers import contact_token, make_client
from tests.schema.test_query_limits import nested
from tests.server.limit_helpers import with_settings

JSON = "application/json"
RESPONSE_JSON = "application/graphql-response+json"
PAGE = "query($n: Int!) { invoices(first: $n) { totalCount nodes { id } } }"
WITH_TEXT = "query($n: Int!, $s: String) { clients(first: $n, search: $s) { totalCount } }"
LINES = "invoices(first: 100) { nodes { lines { description } } }"

KEPT: list[tuple[str, dict[str, Any]]] = [
    ("result", {"query": "{ viewer { __typename ... on StaffUser { name role } } }"}),
    ("typename", {"query": "{ __typename }"}),
    ("variables", {"query": PAGE, "variables": {"n": 2}}),
    ("other variables", {"query": PAGE, "variables": {"n": 3}}),
    ("variable not coerced", {"query": PAGE, "variables": {"n": "two"}}),
    ("variable missing", {"query": PAGE}),
    ("field error", {"query": '{ invoice(id: "nope") { id } }'}),
    ("not found", {"query": '{ invoice(id: "00000000-0000-0000-0000-000000000000") { id } }'}),
    (
        "operation chosen",
        {"query": "query A { __typename } query B { viewer { __typename } }", "operationName": "B"},
    ),
    # Strawberry runs the first operation when none is named (graphql-core would refuse)
    ("operation not named", {"query": "query A { __typename } query B { viewer { __typename } }"}),
    ("introspection", {"query": "{ __schema { queryType { name } } }"}),
    ("withheld as too large", {"query": "{ __schema { types { name fields { name } } } }"}),
]
"""Requests that reach execution: the second time they come, they run from the kept tree."""

NOT_KEPT: list[tuple[str, dict[str, Any]]] = [
    ("syntax error", {"query": "{ viewer "}),
    ("validation error", {"query": "{ nope }"}),
    ("operation unknown", {"query": "query A { __typename }", "operationName": "B"}),
    ("too deep", {"query": nested(13)}),
    ("too costly", {"query": f"{{ a: {LINES} b: {LINES} }}"}),
    ("NUL in a variable", {"query": WITH_TEXT, "variables": {"n": 1, "s": "a\u0000"}}),
    ("operation name not a string", {"query": "query A { __typename }", "operationName": {"A": 1}}),
    ("mutation", {"query": 'mutation { sendInvoice(id: "nope") { id } }'}),
]
"""Requests the pipeline answers every time."""


def _requests(token: str) -> list[tuple[str, str, dict[str, Any], dict[str, str]]]:
    """(name, method, payload, headers) of every case, POST and GET, both media types."""
    requests = []
    for accept in (JSON, RESPONSE_JSON):
        headers = {"Authorization": f"Bearer {token}", "Accept": accept, "X-Request-ID": "same"}
        for name, payload in [*KEPT, *NOT_KEPT]:
            requests.append((f"{name} (POST, {accept})", "POST", payload, headers))
            if not payload["query"].startswith("mutation"):
                requests.append((f"{name} (GET, {accept})", "GET", payload, headers))
    return requests


async def _send(http: httpx.AsyncClient, method: str, payload: dict[str, Any], headers: Any) -> Any:
    if method == "POST":
        return await http.post(
            "/graphql", content=orjson.dumps(payload), headers={**headers, "Content-Type": JSON}
        )
    query = {
        key: orjson.dumps(value).decode() if key == "variables" else value
        for key, value in payload.items()
    }
    return await http.get(f"/graphql?{urlencode(query)}", headers=headers)


async def _answers(
    runtime: Runtime, requests: list[tuple[str, str, dict[str, Any], dict[str, str]]]
) -> list[tuple[str, int, list[tuple[str, str]], bytes, bool]]:
    """Each request's status, headers and body, and whether it ran from a kept tree."""
    app = create_app(runtime=with_settings(runtime, max_response_bytes=2_000))
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    answers = []
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as http:
        for name, method, payload, headers in requests:
            before = prepared_operations.runs
            answer = await _send(http, method, payload, headers)
            kept = prepared_operations.runs > before
            answers.append(
                (name, answer.status_code, answer.headers.multi_items(), answer.content, kept)
            )
    return answers


async def test_a_query_sent_again_is_answered_as_the_pipeline_answers_it(
    runtime: Runtime, tenant: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    requests = _requests(tenant.admin)
    with monkeypatch.context() as off:
        off.setattr(PreparedOperations, "enabled", False)
        through_pipeline = await _answers(runtime, requests)
    first = await _answers(runtime, requests)
    again = await _answers(runtime, requests)

    for pipeline, once, twice in zip(through_pipeline, first, again, strict=True):
        assert once[:4] == pipeline[:4]
        assert twice[:4] == pipeline[:4]
    assert not any(kept for *_, kept in through_pipeline)
    kept_names = {name.split(" (")[0] for name, *_, kept in again if kept}
    assert kept_names == {name for name, _ in KEPT}
    # the second time, every request that reaches execution (POST and GET) is kept
    assert sum(kept for *_, kept in again) == 4 * len(KEPT)
    statuses = {status for _name, status, *_ in again}
    assert statuses >= {200, 400}
    codes = {code for _name, _status, _headers, body, _kept in again for code in _codes(body)}
    assert codes >= {
        "BAD_USER_INPUT",
        "NOT_FOUND",
        "GRAPHQL_PARSE_FAILED",
        "GRAPHQL_VALIDATION_FAILED",
        "QUERY_TOO_DEEP",
        "RESPONSE_TOO_LARGE",
    }


def _codes(body: bytes) -> set[str]:
    errors = orjson.loads(body).get("errors") or []
    return {error["extensions"]["code"] for error in errors}


async def test_a_query_kept_for_staff_is_not_run_for_a_contact(
    runtime: Runtime, tenant: Any, gql: Any
) -> None:
    """Each profile's schema keeps its own: a document staff may run, kept in theirs, is
    still validated against the contact's schema, which lacks the field."""
    created = await make_client(gql, tenant.admin, name="Kept & Co")
    billing = next(c for c in created["contacts"] if c["role"] == "BILLING")
    contact = await contact_token(gql, tenant.admin, billing["id"])
    staff_only = "{ webhooks { id } }"
    for _ in range(2):
        body = await gql(staff_only, token=tenant.admin)
        assert "errors" not in body, body
    before = prepared_operations.runs
    for _ in range(2):
        body = await gql(staff_only, token=contact)
        assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert prepared_operations.runs == before


def test_keys_leave_out_what_cannot_be_kept() -> None:
    assert operation_key("{ a }", None, None) == ("{ a }", None, None)
    assert operation_key("{ a }", None, {}) == ("{ a }", None, None)
    assert operation_key("{ a }", "A", {"b": 1, "a": 2}) == ("{ a }", "A", b'{"a":2,"b":1}')
    assert operation_key(None, None, None) is None
    assert operation_key("{ a }", None, {"file": object()}) is None  # an upload
    assert operation_key("{ a }", None, {"s": "x" * 600}) is None
    assert operation_key("{ " + "a " * 5_000 + "}", None, None) is None


async def test_the_kept_operations_are_bounded() -> None:
    schema = build_profile_schema(STANDARD_PROFILES["anonymous"])
    for n in range(prepared_operations.MAX_OPERATIONS + 20):
        result = await schema.execute(f"query Q{n} {{ __typename }}")
        assert result.errors is None
    assert len(schema.prepared) == prepared_operations.MAX_OPERATIONS
    before = prepared_operations.runs
    result = await schema.execute(
        f"query Q{prepared_operations.MAX_OPERATIONS + 19} {{ __typename }}"
    )
    assert result.data == {"__typename": "Query"}
    assert prepared_operations.runs == before + 1
