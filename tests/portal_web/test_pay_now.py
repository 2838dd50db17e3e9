"""Pay Now in the portal: the PaymentIntent is created through ``payInvoices`` (a real
localstripe) and the page mounts Stripe Elements with the client secret, under a CSP that
lets Stripe.js in and nothing else external; a saved card is offered and charged at once."""

from __future__ import annotations

from tests.portal_web.helpers import CREATE_INVOICE, SEND_INVOICE, billed_client, csrf_of
from tests.schema.test_recurring import contact_token
from tests.stripe.helpers import connect_stripe, methods_of, save_card
from tests.stripe.server import PUBLISHABLE_KEY

PAYMENTS = "{ payments(first: 5) { nodes { status providerPaymentId } } }"


async def test_pay_now_renders_stripe_elements_for_the_invoice(gql, tenant, client, localstripe):
    await connect_stripe(gql, tenant.admin)
    billed = await billed_client(gql, tenant.admin)
    await client.get(billed.path)
    page = await client.get(f"/portal/acme/invoices/{billed.invoice_id}")
    # the account accepts partial payments: the amount is the balance unless changed
    assert 'name="amount" inputmode="decimal" required value="1250.00"' in page.text
    assert '<button type="submit">Pay now</button>' in page.text
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


async def test_a_saved_card_is_offered_and_charged_at_once(
    gql, runtime, tenant, client, localstripe
):
    await connect_stripe(gql, tenant.admin)
    billed = await billed_client(gql, tenant.admin)
    token = await contact_token(runtime, billed.contact_id)
    pm = await save_card(gql, client, localstripe, tenant.account_id, token)
    (method,) = await methods_of(gql, token)
    await client.get(billed.path)
    page = await client.get(f"/portal/acme/invoices/{billed.invoice_id}")
    assert "<legend>Pay with</legend>" in page.text
    assert f'name="paymentMethod" value="{method["id"]}" checked> Visa ending 4242' in page.text
    assert 'name="paymentMethod" value=""> A new card' in page.text
    response = await client.post(
        f"/portal/acme/invoices/{billed.invoice_id}/pay",
        data={"csrf": csrf_of(page.text), "paymentMethod": method["id"]},
    )
    # charged at once, nothing for Stripe.js to do: back to the invoice
    assert response.status_code == 303, response.text
    assert response.headers["location"] == (
        f"/portal/acme/invoices/{billed.invoice_id}?notice=paying"
    )
    (payment,) = (await gql.data(PAYMENTS, token=tenant.admin))["payments"]["nodes"]
    charged = localstripe.intent(payment["providerPaymentId"])
    assert charged["status"] == "succeeded"
    assert charged["payment_method"] == pm


async def test_several_invoices_are_paid_at_once(gql, tenant, client, localstripe):
    await connect_stripe(gql, tenant.admin)
    billed = await billed_client(gql, tenant.admin)
    lines = [{"description": "Hosting", "quantity": "1", "unitPrice": "250.00"}]
    other = (
        await gql.data(
            CREATE_INVOICE,
            {"input": {"clientId": billed.client_id, "currency": "USD", "lines": lines}},
            token=tenant.admin,
        )
    )["createInvoice"]
    await gql.data(SEND_INVOICE, {"id": other["id"]}, token=tenant.admin)
    await client.get(billed.path)
    page = await client.get("/portal/acme/invoices")
    assert "<legend>Pay several invoices at once</legend>" in page.text
    assert page.text.count('type="checkbox" name="invoice-') == 2
    csrf = csrf_of(page.text)
    # none chosen: the list again, saying why
    none = await client.post("/portal/acme/invoices/pay", data={"csrf": csrf})
    assert none.status_code == 400
    assert 'class="error" role="alert"' in none.text
    both = {"csrf": csrf, f"invoice-{billed.invoice_id}": "yes", f"invoice-{other['id']}": "yes"}
    response = await client.post("/portal/acme/invoices/pay", data=both)
    assert response.status_code == 200, response.text
    assert "<h1>Pay $1,500.00</h1>" in response.text
    assert 'data-client-secret="pi_' in response.text
    assert "notice%3Dpaying" in response.text or "invoices?notice=paying" in response.text
    assert 'href="/portal/acme/invoices">Back to the invoices</a>' in response.text
