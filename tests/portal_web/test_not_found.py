"""A path under /portal/<account>/ that no screen has (issue 15): a 404 in the account's
branding with a way back, sent with the portal's security headers; an account without a
portal (unknown, or its portal off) answers the same plain 404 either way."""

from __future__ import annotations

from tests.portal_web.helpers import billed_client
from tests.portal_web.test_portal_http import UPDATE_ACCOUNT, signed_in

BRANDING = {"input": {"name": "Acme Studio", "primaryColor": "#AA3300"}}


def assert_portal_headers(response) -> None:
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self';" in csp
    assert "frame-ancestors 'none'" in csp


async def test_an_unknown_page_is_a_branded_404_with_a_way_back(gql, tenant, client):
    await gql.data(UPDATE_ACCOUNT, BRANDING, token=tenant.admin)
    response = await client.get("/portal/acme/no-such-page/at/all")
    assert response.status_code == 404
    assert_portal_headers(response)
    assert "<title>Page not found · Acme Studio</title>" in response.text
    assert '<span class="name">Acme Studio</span>' in response.text
    assert '<link rel="stylesheet" href="/portal/acme/theme.css">' in response.text
    assert '<a href="/portal/acme/sign-in" class="button">Sign in to your portal</a>' in (
        response.text
    )
    # signed in, the way back is the dashboard
    billed = await billed_client(gql, tenant.admin)
    await signed_in(client, billed)
    response = await client.get("/portal/acme/invoices-typo")
    assert response.status_code == 404
    assert '<a href="/portal/acme/dashboard" class="button">Back to your dashboard</a>' in (
        response.text
    )
    # a screen's path asked with the wrong method still says so
    assert (await client.get("/portal/acme/sign-out")).status_code == 405


async def test_an_account_without_a_portal_gets_the_same_plain_404(gql, tenant, client):
    unknown = await client.get("/portal/nobody-here/some-page")
    assert unknown.status_code == 404
    assert_portal_headers(unknown)
    assert "Acme" not in unknown.text
    assert "theme.css" not in unknown.text
    assert "sign-in" not in unknown.text
    await gql.data(UPDATE_ACCOUNT, {"input": {"portalEnabled": False}}, token=tenant.admin)
    off = await client.get("/portal/acme/some-page")
    assert off.status_code == 404
    # nothing tells an existing account (its portal off) from one that does not exist
    assert off.text == unknown.text
    same = ("content-type", "content-length", "content-security-policy", "cache-control")
    assert [off.headers.get(name) for name in same] == [unknown.headers.get(name) for name in same]
