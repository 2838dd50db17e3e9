"""GraphQL documents and steps shared by the portal-access tests."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

CREATE_CLIENT = """
mutation($input: ClientInput!) {
  createClient(input: $input) { id contacts { id email role } }
}
"""
CREATE_PORTAL_LINK = """
mutation($contactId: ID!) { createPortalLink(contactId: $contactId) { url contact { id } } }
"""
REDEEM = """
mutation($token: String!, $account: String) {
  redeemPortalLink(token: $token, account: $account) {
    token expiresAt readOnly subjectType subjectId
  }
}
"""
VIEWER = """
query { viewer { __typename ... on Contact { id email role } ... on StaffUser { id } } }
"""
ARCHIVE_CLIENT = "mutation($id: ID!) { archiveClient(id: $id) { id } }"


def token_of(url: str) -> str:
    """The token a portal URL carries, as the portal frontend reads it."""
    return parse_qs(urlsplit(url).query)["token"][0]


async def make_client(gql: Any, staff_token: str, *, name: str = "Smith & Co", contacts=None):
    contacts = contacts or [
        {"email": "jane@smith.test", "firstName": "Jane", "role": "BILLING"},
        {"email": "john@smith.test", "firstName": "John", "role": "COLLABORATOR"},
    ]
    data = await gql.data(
        CREATE_CLIENT, {"input": {"name": name, "contacts": contacts}}, token=staff_token
    )
    return data["createClient"]


async def dashboard_url(gql: Any, staff_token: str, contact_id: str) -> str:
    data = await gql.data(CREATE_PORTAL_LINK, {"contactId": contact_id}, token=staff_token)
    url: str = data["createPortalLink"]["url"]
    return url


async def redeem(gql: Any, token: str, account: str | None = None, *, auth: str | None = None):
    return await gql(REDEEM, {"token": token, "account": account}, token=auth)


async def contact_token(gql: Any, staff_token: str, contact_id: str) -> str:
    """A contact session through the client's dashboard link."""
    url = await dashboard_url(gql, staff_token, contact_id)
    body = await redeem(gql, token_of(url))
    assert "errors" not in body, body
    token: str = body["data"]["redeemPortalLink"]["token"]
    return token


def code_of(body: dict[str, Any]) -> str:
    assert body.get("errors"), body
    code: str = body["errors"][0]["extensions"]["code"]
    return code
