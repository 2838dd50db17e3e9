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


async def test_validation_is_remembered_per_schema(gql, tenant):
    # a document valid for staff and not for an anonymous caller (no `viewer` there)
    query = unique("{ viewer { __typename } }")
    for _ in range(2):
        assert await gql.data(query, token=tenant.admin) == {"viewer": {"__typename": "StaffUser"}}
        refused = await gql(query)
        assert refused["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert "viewer" in refused["errors"][0]["message"]


async def test_limits_still_refuse_a_kept_document(gql, tenant):
    # the same text refused by the alias limit every time, though it parses
    aliases = " ".join(f"a{n}: __typename" for n in range(40))
    query = unique("{ " + aliases + " }")
    for _ in range(2):
        body = await gql(query, token=tenant.admin)
        assert body["errors"][0]["extensions"]["code"] == "TOO_MANY_ALIASES"
