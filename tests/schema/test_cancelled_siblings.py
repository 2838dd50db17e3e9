"""A field that fails a non-null root field cancels its siblings mid-query (graphql-core
cancels pending resolvers once the answer is decided). Found by the fuzz test: the
cancelled sibling's statement left the request's connection closed, so ending the
request raised (an ASGI traceback, no answer) and the pooled connection failed the next
requests. The answer must be the error, and the connections must stay usable."""

from __future__ import annotations

import uuid

import pytest

QUERIES = [
    '{ account { id name } invoice(id: "%s") { id } }',
    '{ viewer { __typename } account { id } recurringInvoice(id: "%s") { id } }',
    '{ account { id } client(id: "%s") { id } clients { totalCount } }',
]


@pytest.mark.parametrize("query", QUERIES)
async def test_a_failed_field_cancelling_its_siblings_answers_and_leaves_the_pool_well(
    gql, tenant, query
):
    for _ in range(3):
        body = await gql(query % uuid.uuid4(), token=tenant.admin)
        assert body["data"] is None
        assert [error["extensions"]["code"] for error in body["errors"]] == ["NOT_FOUND"]
    data = await gql.data("{ account { slug } clients { totalCount } }", token=tenant.admin)
    assert data["account"]["slug"] == "acme"
