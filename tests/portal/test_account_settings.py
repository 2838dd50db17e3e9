"""Account settings (modules, branding, portal options) and the public branding a portal
sign-in page reads."""

from __future__ import annotations

from models.enums import StaffRole
from tests.portal.helpers import code_of

UPDATE = """
mutation($input: AccountSettingsInput!) {
  updateAccountSettings(input: $input) {
    name primaryColor logoUrl backgroundImageUrl portalEnabled registrationEnabled
    passwordLoginEnabled enabledModules
  }
}
"""
PORTAL = """
query($account: String!) {
  portal(account: $account) {
    name slug logoUrl primaryColor backgroundImageUrl registrationEnabled passwordLoginEnabled
  }
}
"""


async def test_admin_updates_branding_and_the_public_page_shows_it(gql, tenant):
    data = await gql.data(
        UPDATE,
        {
            "input": {
                "name": "Acme Studio",
                "primaryColor": "#11aa33",
                "logoUrl": "https://cdn.acme.test/logo.png",
                "backgroundImageUrl": "https://cdn.acme.test/bg.jpg",
                "registrationEnabled": True,
                "passwordLoginEnabled": False,
                "enabledModules": ["CLIENT_PORTAL", "INVOICES"],
            }
        },
        token=tenant.admin,
    )
    assert data["updateAccountSettings"]["primaryColor"] == "#11AA33"
    assert data["updateAccountSettings"]["enabledModules"] == ["CLIENT_PORTAL", "INVOICES"]
    # anyone may read the branding, and nothing more
    portal = (await gql.data(PORTAL, {"account": tenant.slug}))["portal"]
    assert portal == {
        "name": "Acme Studio",
        "slug": tenant.slug,
        "logoUrl": "https://cdn.acme.test/logo.png",
        "primaryColor": "#11AA33",
        "backgroundImageUrl": "https://cdn.acme.test/bg.jpg",
        "registrationEnabled": True,
        "passwordLoginEnabled": False,
    }


async def test_public_page_has_no_other_fields(gql, tenant):
    introspection = await gql.data('{ __type(name: "Portal") { fields { name } } }')
    names = {f["name"] for f in introspection["__type"]["fields"]}
    assert names == {
        "name",
        "slug",
        "logoUrl",
        "primaryColor",
        "backgroundImageUrl",
        "registrationEnabled",
        "passwordLoginEnabled",
        "whiteLabel",  # what the portal shows (issue 13): its brand only, terms, privacy
        "termsText",
        "privacyText",
        "locale",  # how the portal writes money and dates (issue 15)
    }
    body = await gql('query { portal(account: "nope") { name } }')
    assert code_of(body) == "NOT_FOUND"


async def test_bad_settings_are_refused_whole(gql, tenant):
    body = await gql(
        UPDATE, {"input": {"name": "Renamed", "primaryColor": "green"}}, token=tenant.admin
    )
    assert code_of(body) == "BAD_USER_INPUT"
    assert body["errors"][0]["extensions"]["field"] == "primaryColor"
    body = await gql(UPDATE, {"input": {"logoUrl": "javascript:alert(1)"}}, token=tenant.admin)
    assert code_of(body) == "BAD_USER_INPUT"
    # nothing was half-written
    portal = (await gql.data(PORTAL, {"account": tenant.slug}))["portal"]
    assert portal["name"] == "Acme"


async def test_only_admins_change_settings(gql, tenant):
    for role in (StaffRole.MANAGER, StaffRole.MEMBER):
        body = await gql(UPDATE, {"input": {"name": "X"}}, token=tenant.tokens[role])
        assert code_of(body) == "GRAPHQL_VALIDATION_FAILED"
    data = await gql.data(
        UPDATE, {"input": {"name": "Owner Co"}}, token=tenant.tokens[StaffRole.OWNER]
    )
    assert data["updateAccountSettings"]["name"] == "Owner Co"
