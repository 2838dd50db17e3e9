"""Pay Now in the portal: the PaymentIntent is created through ``payInvoices`` (a real
localstripe) and the page mounts Stripe Elements with the client secret, under a CSP that
lets Stripe.js in and nothing else external."""

from __future__ import annotations

from tests.portal_web.helpers import billed_client, csrf_of
from tests.stripe.helpers import connect_stripe
from tests.stripe.server import PUBLISHABLE_KEY


async def test_pay_now_renders_stripe_elements_for_the_invoice(gql, tenant, client, localstripe):
    await connect_stripe(gql, tenant.admin)
    billed = await billed_client(gql, tenant.admin)
    await client.get(billed.path)
    page = await client.get(f"/portal/acme/invoices/{billed.invoice_id}")
    assert "Pay $1,250.00 now" in page.text
    response = await client.post(
        f"/portal/acme/invoices/{billed.invoice_id}/pay", data={"csrf": csrf_of(page.text)}
    )
    assert response.status_code == 200, response.text
    assert 'data-client-secret="pi_' in response.text
    assert "_secret_" in response.text
    assert f'data-publishable-key="{PUBLISHABLE_KEY}"' in response.text
    assert '<script src="https://js.stripe.com/v3/"></script>' in response.text
    csp = response.headers["content-security-policy"]
    assert "script-src 'self' https://js.stripe.com;" in csp
    assert "frame-src https://js.stripe.com;" in csp
    # and the page without a CSRF token pays nothing
    refused = await client.post(f"/portal/acme/invoices/{billed.invoice_id}/pay", data={})
    assert refused.status_code == 403


async def test_without_stripe_no_pay_button_is_offered(gql, tenant, client):
    billed = await billed_client(gql, tenant.admin)
    await client.get(billed.path)
    page = await client.get(f"/portal/acme/invoices/{billed.invoice_id}")
    assert page.status_code == 200
    assert "now</button>" not in page.text
