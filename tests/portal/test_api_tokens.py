"""Partner API tokens: created by an admin with scopes and an optional expiry, shown once,
stored hashed, last use recorded, revocable at once."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlmodel import select

from models.auth import ApiToken
from models.enums import StaffRole
from tests.portal.helpers import code_of

CREATE = """
mutation($name: String!, $scopes: [String!]!, $expiresAt: DateTime) {
  createApiToken(name: $name, scopes: $scopes, expiresAt: $expiresAt) {
    token apiClient { id name scopes tokenPrefix expiresAt lastUsedAt revokedAt }
  }
}
"""
LIST = "query { apiTokens { id name scopes tokenPrefix createdAt lastUsedAt revokedAt } }"
REVOKE = "mutation($id: ID!) { revokeApiToken(id: $id) { id revokedAt } }"
VIEWER = "query { viewer { __typename ... on ApiClient { id name scopes } } }"


async def create(gql, token, **variables):
    variables.setdefault("name", "Bookkeeping sync")
    variables.setdefault("scopes", ["invoices:read"])
    return await gql(CREATE, variables, token=token)


async def test_token_is_shown_once_stored_hashed_and_works(gql, tenant, session):
    body = await create(gql, tenant.admin)
    created = body["data"]["createApiToken"]
    token = created["token"]
    assert token.startswith("ptk_")
    assert created["apiClient"]["tokenPrefix"] == token[:12]
    # only the hash is stored
    row = (await session.exec(select(ApiToken))).one()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {str(v) for v in row.model_dump().values()}
    # and the list never shows the token again
    listed = (await gql.data(LIST, token=tenant.admin))["apiTokens"]
    assert token not in str(listed)
    assert listed[0]["lastUsedAt"] is None
    # the partner uses it: viewer is the API client, last use recorded
    viewer = (await gql.data(VIEWER, token=token))["viewer"]
    assert viewer == {
        "__typename": "ApiClient",
        **{k: created["apiClient"][k] for k in ("id", "name", "scopes")},
    }
    listed = (await gql.data(LIST, token=tenant.admin))["apiTokens"]
    last_used = datetime.fromisoformat(listed[0]["lastUsedAt"])
    assert datetime.now(UTC) - last_used < timedelta(minutes=1)


async def test_partner_does_not_see_token_administration(gql, tenant):
    token = (await create(gql, tenant.admin))["data"]["createApiToken"]["token"]
    body = await gql("query { viewer { ... on ApiClient { lastUsedAt } } }", token=token)
    assert code_of(body) == "GRAPHQL_VALIDATION_FAILED"
    assert code_of(await gql(LIST, token=token)) == "GRAPHQL_VALIDATION_FAILED"


async def test_revoked_and_expired_tokens_stop_at_once(gql, tenant, runtime):
    created = (await create(gql, tenant.admin))["data"]["createApiToken"]
    token = created["token"]
    assert (await gql.post(VIEWER, token=token)).status_code == 200
    revoked = await gql.data(REVOKE, {"id": created["apiClient"]["id"]}, token=tenant.admin)
    assert revoked["revokeApiToken"]["revokedAt"] is not None
    assert (await gql.post(VIEWER, token=token)).status_code == 401
    # an expiring token works until its time, then not
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    expiring = (await create(gql, tenant.admin, expiresAt=soon))["data"]["createApiToken"]
    assert (await gql.post(VIEWER, token=expiring["token"])).status_code == 200
    async with runtime.sessions() as session:
        await session.exec(
            update(ApiToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        await session.commit()
    assert (await gql.post(VIEWER, token=expiring["token"])).status_code == 401


async def test_token_validation_and_permissions(gql, tenant, make_tenant):
    assert code_of(await create(gql, tenant.admin, scopes=["root"])) == "BAD_USER_INPUT"
    assert code_of(await create(gql, tenant.admin, scopes=[])) == "BAD_USER_INPUT"
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert code_of(await create(gql, tenant.admin, expiresAt=past)) == "BAD_USER_INPUT"
    # managers cannot create, list or revoke tokens
    manager = tenant.tokens[StaffRole.MANAGER]
    assert code_of(await create(gql, manager)) == "GRAPHQL_VALIDATION_FAILED"
    assert code_of(await gql(LIST, token=manager)) == "GRAPHQL_VALIDATION_FAILED"
    # another account's admin cannot revoke this account's token
    created = (await create(gql, tenant.admin))["data"]["createApiToken"]
    other = await make_tenant("globex")
    body = await gql(REVOKE, {"id": created["apiClient"]["id"]}, token=other.admin)
    assert code_of(body) == "NOT_FOUND"
    assert (await gql.post(VIEWER, token=created["token"])).status_code == 200
