"""Automatic persisted queries (Apollo's protocol) over real HTTP: a hash alone runs a
document once it was sent with it, an unknown hash asks for the text, a hash that does
not match is refused, GET works for queries only; shared between instances via Redis."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from server.app import create_app
from server.persisted_queries import MemoryQueryStore
from services.db import create_engine
from services.persisted_documents import document_hash
from services.runtime import Runtime

REDIS_URL = os.environ.get("PORTICO_TEST_REDIS_URL")
QUERY = "query Who { __typename }"
MUTATION = "mutation Nothing { __typename }"


def persisted(document: str) -> dict[str, object]:
    return {"persistedQuery": {"version": 1, "sha256Hash": document_hash(document)}}


async def test_a_hash_runs_once_its_document_was_sent(client):
    unknown = await client.post("/graphql", json={"extensions": persisted(QUERY)})
    assert unknown.status_code == 200
    [error] = unknown.json()["errors"]
    assert error["message"] == "PersistedQueryNotFound"
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"

    taught = await client.post("/graphql", json={"query": QUERY, "extensions": persisted(QUERY)})
    assert taught.json()["data"] == {"__typename": "Query"}

    by_hash = await client.post("/graphql", json={"extensions": persisted(QUERY)})
    assert by_hash.status_code == 200
    assert by_hash.json()["data"] == {"__typename": "Query"}


async def test_an_unknown_hash_is_404_with_graphql_response_json(client):
    answer = await client.post(
        "/graphql",
        json={"extensions": persisted("{ nothing }")},
        headers={"Accept": "application/graphql-response+json"},
    )
    assert answer.status_code == 404
    assert answer.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_a_hash_that_does_not_match_is_refused(client):
    answer = await client.post(
        "/graphql", json={"query": QUERY, "extensions": persisted("{ other }")}
    )
    assert answer.status_code == 400
    [error] = answer.json()["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "does not match" in error["message"]
    # and nothing was stored under the wrong hash
    again = await client.post("/graphql", json={"extensions": persisted("{ other }")})
    assert again.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


@pytest.mark.parametrize(
    "extensions",
    [
        {"persistedQuery": {"version": 2, "sha256Hash": "0" * 64}},
        {"persistedQuery": {"version": 1, "sha256Hash": "short"}},
        {"persistedQuery": "yes"},
    ],
)
async def test_a_malformed_persisted_query_is_a_bad_request(client, extensions):
    answer = await client.post("/graphql", json={"extensions": extensions})
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_a_document_that_does_not_validate_is_not_stored(client):
    broken = "{ nope }"
    await client.post("/graphql", json={"query": broken, "extensions": persisted(broken)})
    answer = await client.post("/graphql", json={"extensions": persisted(broken)})
    assert answer.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_get_runs_a_persisted_query_but_never_a_mutation(client):
    await client.post("/graphql", json={"query": QUERY, "extensions": persisted(QUERY)})
    answer = await client.get(
        "/graphql",
        params={"extensions": json.dumps(persisted(QUERY)), "operationName": "Who"},
        headers={"Accept": "*/*"},  # not GraphiQL: the GET carries an operation
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"] == {"__typename": "Query"}

    taught = await client.post(
        "/graphql", json={"query": MUTATION, "extensions": persisted(MUTATION)}
    )
    assert taught.json()["data"] == {"__typename": "Mutation"}, taught.text
    over_get = await client.get("/graphql", params={"extensions": json.dumps(persisted(MUTATION))})
    assert over_get.status_code == 405
    assert over_get.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"


async def test_the_memory_store_is_bounded_by_size():
    store = MemoryQueryStore(max_chars=100)
    for n in range(20):
        await store.put(f"{n:064d}", "x" * 30)
    assert len(store) == 3
    assert await store.get(f"{19:064d}") == "x" * 30
    assert await store.get(f"{0:064d}") is None
    await store.put("f" * 64, "y" * 101)  # larger than the whole store: not kept
    assert await store.get("f" * 64) is None


@pytest.fixture
async def two_instances(runtime, backend) -> AsyncIterator[tuple[httpx.AsyncClient, ...]]:
    if not REDIS_URL:
        pytest.skip("PORTICO_TEST_REDIS_URL is not set")
    settings = runtime.settings.model_copy(update={"redis_url": REDIS_URL})
    engine_b = create_engine(backend.url, **backend.engine_kwargs)
    apps = [
        create_app(runtime=Runtime.build(settings, runtime.engine)),
        create_app(runtime=Runtime.build(settings, engine_b)),
    ]
    try:
        async with (
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=apps[0]), base_url="http://portal.test"
            ) as a,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=apps[1]), base_url="http://portal.test"
            ) as b,
        ):
            yield a, b
    finally:
        await engine_b.dispose()


async def test_instances_sharing_redis_share_persisted_queries(two_instances):
    a, b = two_instances
    document = f"query Unique{uuid.uuid4().hex} {{ __typename }}"
    await a.post("/graphql", json={"query": document, "extensions": persisted(document)})
    answer = await b.post("/graphql", json={"extensions": persisted(document)})
    assert answer.json()["data"] == {"__typename": "Query"}, answer.text
