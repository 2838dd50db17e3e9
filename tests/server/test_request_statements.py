"""What a request costs in SQL before and around its fields: the bearer token's session
and its holder are read in one statement, and the rows read there are not read again by
the same request (``viewer``, the dashboard's account and client). Revoking a session or
deactivating its user still ends it on the very next request."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, update

from models.accounts import StaffUser
from models.enums import StaffRole
from tests.schema.viewer_helpers import new_client, sign_in_contact

TINY = "{ viewer { __typename } }"


async def statements_for(runtime, gql, token: str, query: str) -> tuple[dict[str, Any], int]:
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    engine = runtime.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        body = await gql(query, token=token)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return body, len(statements)


async def test_a_staff_viewer_query_costs_one_statement(gql, tenant, runtime):
    await gql.data(TINY, token=tenant.admin)  # the session's lastSeenAt is fresh now
    body, statements = await statements_for(runtime, gql, tenant.admin, TINY)
    assert body["data"] == {"viewer": {"__typename": "StaffUser"}}
    assert statements == 1


async def test_the_viewers_own_row_is_the_one_it_reads(gql, tenant, runtime):
    query = "{ viewer { ... on StaffUser { email role } } }"
    await gql.data(query, token=tenant.admin)
    body, statements = await statements_for(runtime, gql, tenant.admin, query)
    assert body["data"]["viewer"] == {"email": "admin@acme.test", "role": "ADMIN"}
    assert statements == 1


async def test_a_contacts_dashboard_header_reads_no_row_twice(gql, tenant, runtime):
    client = await new_client(gql, tenant, "Initech", company="Initech LLC")
    token = await sign_in_contact(runtime, client["contacts"][0]["id"])
    query = "{ dashboard { today client { name company } } }"
    await gql.data(query, token=token)
    body, statements = await statements_for(runtime, gql, token, query)
    assert body["data"]["dashboard"]["client"] == {"name": "Initech", "company": "Initech LLC"}
    assert statements == 1  # session, contact, client and account together


async def test_deactivating_a_staff_user_ends_its_session_on_the_next_request(gql, tenant, runtime):
    token = tenant.tokens[StaffRole.MEMBER]
    assert (await gql.data(TINY, token=token))["viewer"]["__typename"] == "StaffUser"
    async with runtime.sessions() as session:
        await session.exec(
            update(StaffUser)
            .where(StaffUser.email == "member@acme.test")  # type: ignore[arg-type]
            .values(is_active=False)
        )
        await session.commit()
    response = await gql.post(TINY, token=token)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
