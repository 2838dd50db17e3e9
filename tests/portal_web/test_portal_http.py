"""The client portal over HTTP (issue 15): a mailed link becomes a cookie session and
leaves the URL, pages come from the contact's own schema, forms need their CSRF token,
and every page sends the security headers."""

from __future__ import annotations

from tests.portal.helpers import ARCHIVE_CLIENT
from tests.portal_web.helpers import billed_client, csrf_of

UPDATE_ACCOUNT = """
mutation($input: AccountSettingsInput!) { updateAccountSettings(input: $input) { id } }
"""
MODULES_WITHOUT_QUOTES = ["CLIENT_PORTAL", "INVOICES", "PAYMENTS"]


async def signed_in(client, billed) -> None:
    response = await client.get(billed.path)
    assert response.status_code == 303
    assert response.headers["location"] == "/portal/acme/dashboard"


async def test_the_mailed_dashboard_link_becomes_a_cookie_and_leaves_the_url(gql, tenant, client):
    billed = await billed_client(gql, tenant.admin)
    # when the contact opens the mailed link
    response = await client.get(billed.path)
    # then they are sent on to the same page without the token
    assert response.status_code == 303
    assert response.headers["location"] == "/portal/acme/dashboard"
    cookie = response.headers["set-cookie"]
    assert "portico_portal=" in cookie
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert "Path=/portal/acme" in cookie
    assert "Secure" not in cookie  # test environment: plain http
    assert response.headers["referrer-policy"] == "no-referrer"
    # and the dashboard shows what they owe
    page = await client.get("/portal/acme/dashboard")
    assert page.status_code == 200
    assert "$1,250.00" in page.text
    assert billed.invoice_number in page.text
    assert "Smith &amp; Co" in page.text


async def test_pages_send_the_security_headers(gql, tenant, client):
    billed = await billed_client(gql, tenant.admin)
    await signed_in(client, billed)
    for path in ("/portal/acme/dashboard", "/portal/acme/sign-in", "/portal/acme/invoices"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-content-type-options"] == "nosniff"
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp
        assert "script-src 'self';" in csp
        assert "js.stripe.com" not in csp
        assert "frame-ancestors 'none'" in csp


async def test_without_a_session_the_portal_asks_to_sign_in(gql, tenant, client):
    await billed_client(gql, tenant.admin)
    response = await client.get("/portal/acme/invoices")
    assert response.status_code == 303
    assert response.headers["location"] == "/portal/acme/sign-in"
    # a forged cookie is no session either
    client.cookies.set("portico_portal", "forged", path="/portal/acme")
    response = await client.get("/portal/acme/dashboard")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/portal/acme/sign-in")


async def test_a_bad_link_lands_on_sign_in_with_a_message(gql, tenant, client):
    await billed_client(gql, tenant.admin)
    response = await client.get("/portal/acme/dashboard?token=not-a-token")
    assert response.status_code == 303
    page = await client.get(response.headers["location"])
    assert "invalid or has expired" in page.text


async def test_an_unknown_portal_does_not_exist(client, tenant):
    assert (await client.get("/portal/nobody/sign-in")).status_code == 404


async def test_forms_without_or_with_a_wrong_csrf_token_are_refused(gql, tenant, client):
    billed = await billed_client(gql, tenant.admin)
    await signed_in(client, billed)
    approve = f"/portal/acme/quotes/{billed.quote_id}/approve"
    assert (await client.post(approve, data={})).status_code == 403
    assert (await client.post(approve, data={"csrf": "wrong"})).status_code == 403
    # a valid token of another holder (the sign-in form's) is refused too
    seeded = csrf_of((await client.get("/portal/acme/sign-in")).text)
    assert (await client.post(approve, data={"csrf": seeded})).status_code == 403
    # and the quote is still waiting for an answer
    page = await client.get(f"/portal/acme/quotes/{billed.quote_id}")
    assert 'data-testid="quote-status">Sent' in page.text
    # with the page's own token the approval goes through
    response = await client.post(approve, data={"csrf": csrf_of(page.text)})
    assert response.status_code == 303
    page = await client.get(response.headers["location"])
    assert "the quote is approved" in page.text
    assert 'data-testid="quote-status">Converted' in page.text  # the account invoices it


async def test_sign_out_ends_the_session(gql, tenant, client):
    billed = await billed_client(gql, tenant.admin)
    await signed_in(client, billed)
    page = await client.get("/portal/acme/dashboard")
    cookie = client.cookies.get("portico_portal")
    assert (await client.post("/portal/acme/sign-out", data={})).status_code == 403
    response = await client.post("/portal/acme/sign-out", data={"csrf": csrf_of(page.text)})
    assert response.status_code == 303
    assert response.headers["location"] == "/portal/acme/sign-in?notice=signed-out"
    # the session itself is over: the old cookie opens nothing
    client.cookies.set("portico_portal", cookie, path="/portal/acme")
    response = await client.get("/portal/acme/dashboard")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/portal/acme/sign-in")


async def test_archiving_the_client_ends_the_cookie_session_at_once(gql, tenant, client):
    billed = await billed_client(gql, tenant.admin)
    await signed_in(client, billed)
    assert (await client.get("/portal/acme/invoices")).status_code == 200
    await gql.data(ARCHIVE_CLIENT, {"id": billed.client_id}, token=tenant.admin)
    response = await client.get("/portal/acme/invoices")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/portal/acme/sign-in")
    assert 'portico_portal=""' in response.headers["set-cookie"]


async def test_a_contact_never_sees_another_clients_invoice(gql, tenant, client):
    mine = await billed_client(gql, tenant.admin)
    theirs = await billed_client(gql, tenant.admin, name="Rival Ltd", price="999.00")
    await signed_in(client, mine)
    assert (await client.get(f"/portal/acme/invoices/{mine.invoice_id}")).status_code == 200
    response = await client.get(f"/portal/acme/invoices/{theirs.invoice_id}")
    assert response.status_code == 404
    assert "999" not in response.text
    listing = await client.get("/portal/acme/invoices?status=all")
    assert mine.invoice_number in listing.text
    assert "$999.00" not in listing.text
    # nor pays it
    page = await client.get(f"/portal/acme/invoices/{mine.invoice_id}")
    pay = await client.post(
        f"/portal/acme/invoices/{theirs.invoice_id}/pay", data={"csrf": csrf_of(page.text)}
    )
    assert pay.status_code == 404


async def test_invoices_filter_outstanding_and_paid(gql, tenant, client):
    billed = await billed_client(gql, tenant.admin)
    await signed_in(client, billed)
    outstanding = await client.get("/portal/acme/invoices")
    assert billed.invoice_number in outstanding.text
    paid = await client.get("/portal/acme/invoices?status=paid")
    assert billed.invoice_number not in paid.text
    assert "No invoices here." in paid.text


async def test_a_page_whose_module_is_off_does_not_exist(gql, tenant, client):
    billed = await billed_client(gql, tenant.admin)
    settings = {"input": {"enabledModules": MODULES_WITHOUT_QUOTES}}
    await gql.data(UPDATE_ACCOUNT, settings, token=tenant.admin)
    await signed_in(client, billed)
    assert (await client.get("/portal/acme/quotes")).status_code == 404
    assert (await client.get(f"/portal/acme/quotes/{billed.quote_id}")).status_code == 404
    dashboard = await client.get("/portal/acme/dashboard")
    assert dashboard.status_code == 200
    assert 'href="/portal/acme/quotes"' not in dashboard.text
    assert 'href="/portal/acme/invoices"' in dashboard.text
