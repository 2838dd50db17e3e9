"""A document is parsed once and its tree shared by every later request, whatever the
caller's schema; what does not parse, or is too long to keep, is parsed every time and
answered as before (schema.parse_cache)."""

from __future__ import annotations

import uuid

from schema.parse_cache import MAX_TEXT_LENGTH, cached_document


def unique(query: str) -> str:
    """``query`` with a comment no other test sends: a text this test parses first."""
    return f"# {uuid.uuid4()}\n{query}"


async def test_a_document_is_parsed_once_for_every_caller(gql, tenant):
    query = unique("{ __typename }")
    assert cached_document(query) is None

    staff = await gql.data(query, token=tenant.admin)
    kept = cached_document(query)
    anonymous = await gql.data(query)

    assert staff == anonymous == {"__typename": "Query"}
    assert kept is not None
    assert cached_document(query) is kept  # the anonymous request used the same tree


async def test_a_syntax_error_is_answered_every_time_and_never_kept(gql, tenant):
    query = unique("{ viewer { __typename }")
    first = await gql(query, token=tenant.admin)
    second = await gql(query, token=tenant.admin)

    assert first == second
    assert first["errors"][0]["message"].startswith("Syntax Error")
    assert first["errors"][0]["extensions"]["code"]
    assert cached_document(query) is None


async def test_a_long_document_is_answered_but_not_kept(gql, tenant):
    padding = "#" + "x" * MAX_TEXT_LENGTH + "\n"
    query = unique(padding + "{ viewer { __typename } }")
    data = await gql.data(query, token=tenant.admin)
    assert data == {"viewer": {"__typename": "StaffUser"}}
    assert cached_document(query) is None
