"""Adding a card, and paying with a saved one, in a real browser: the system's Chromium
(Playwright) with localstripe's stand-in Stripe.js served where the page loads
https://js.stripe.com/v3/ from, and its API calls answered by localstripe (the stand-in
derives its API base from the script's address, which for this one gives ``https:/``,
so they go to ``https://v1/…``). The stand-in is no real Stripe.js, so the context bypasses
the CSP; the CSP itself is checked over HTTP in test_money_screens.py.

What the stand-in cannot do: pay.js's new-card path (the Payment Element and
``confirmPayment``) — the stand-in has neither, and its ``confirmCardPayment`` only
answers a bank's 3-D Secure challenge (``/_authenticate``, which localstripe refuses
unless the intent is ``requires_action``), never sends a card Element's number. So a new
card is paid in the browser by no test here; a saved card the bank challenges is, through
pay.js's ``confirmCardPayment(clientSecret)``, which real Stripe.js has too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.portal_web.browser import CHROMIUM, CHROMIUM_ARGS
from tests.portal_web.helpers import billed_client
from tests.stripe.helpers import connect_stripe, post_stripe_event, serving

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="no Chromium at /usr/bin/chromium (apt-get install -y chromium; .ci/run does)",
)


@pytest.fixture
async def stripe_page(localstripe) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async def stand_in(route: Any) -> None:
        parts = urlsplit(route.request.url)
        path = f"{parts.path}?{parts.query}" if parts.query else parts.path
        if parts.hostname == "v1":
            target = f"{localstripe.url}/v1{path}"
        elif path == "/v3/":
            target = f"{localstripe.url}/js.stripe.com/v3/"
        else:
            target = localstripe.url + path
        async with httpx.AsyncClient(timeout=10) as http:
            answer = await http.request(
                route.request.method,
                target,
                content=route.request.post_data_buffer,
                headers={"content-type": route.request.headers.get("content-type", "")},
            )
        await route.fulfill(
            status=answer.status_code,
            body=answer.content,
            headers={
                "content-type": answer.headers.get("content-type", "application/json"),
                "access-control-allow-origin": "*",
            },
        )

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            context = await browser.new_context(bypass_csp=True)
            await context.route("https://js.stripe.com/**", stand_in)
            await context.route("https://v1/**", stand_in)
            yield await context.new_page()
        finally:
            await browser.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_contact_adds_a_card_with_stripe_js(
    gql, tenant, runtime, client, localstripe, stripe_page
):
    await connect_stripe(gql, tenant.admin)
    billed = await billed_client(gql, tenant.admin)
    page = stripe_page
    async with serving(runtime) as base:
        await page.goto(base + billed.path)
        await page.get_by_role("link", name="Payment methods").click()
        await page.wait_for_url(f"{base}/portal/acme/payment-methods")
        assert "No saved payment methods." in await page.locator("main").inner_text()
        await page.get_by_role("button", name="Add a card").click()
        # the stand-in card element (localstripe's inputs) is mounted by card.js
        await page.get_by_placeholder("number").fill("4242424242424242")
        await page.get_by_placeholder("exp_month").fill("12")
        await page.get_by_placeholder("exp_year").fill("34")
        await page.get_by_placeholder("cvc").fill("123")
        await page.get_by_placeholder("postal_code").fill("12345")
        secret = await page.locator("#setup-form").get_attribute("data-client-secret")
        await page.get_by_role("button", name="Save card").click()
        await page.wait_for_url(f"{base}/portal/acme/payment-methods?notice=card-saving")
        assert "your card is being saved" in await page.locator("main").inner_text()
        # Stripe tells Portico (localstripe sends no webhooks: posted as Stripe signs it)
        assert secret
        seti = secret.split("_secret_")[0]
        intent = localstripe.get(f"/v1/setup_intents/{seti}")
        assert intent["status"] == "succeeded"
        answer = await post_stripe_event(
            client, tenant.account_id, "setup_intent.succeeded", intent
        )
        assert answer.json()["outcome"] == "applied", answer.text
        await page.reload()
        rows = page.get_by_test_id("payment-method")
        assert await rows.count() == 1
        assert "ending 4242" in await rows.first.inner_text()
        assert "Default" in await rows.first.inner_text()


PAYMENTS = "{ payments(first: 5) { nodes { status providerPaymentId } } }"
INVOICE_STATUS = "query($id: ID!) { invoice(id: $id) { status amountDue } }"


async def add_card(page: Any, base: str, number: str) -> str:
    """Add a card on the payment methods page (card.js and the stand-in's card inputs);
    answers the SetupIntent's id."""
    await page.get_by_role("link", name="Payment methods").click()
    await page.wait_for_url(f"{base}/portal/acme/payment-methods")
    await page.get_by_role("button", name="Add a card").click()
    await page.get_by_placeholder("number").fill(number)
    await page.get_by_placeholder("exp_month").fill("12")
    await page.get_by_placeholder("exp_year").fill("34")
    await page.get_by_placeholder("cvc").fill("123")
    await page.get_by_placeholder("postal_code").fill("12345")
    secret = await page.locator("#setup-form").get_attribute("data-client-secret")
    assert secret
    await page.get_by_role("button", name="Save card").click()
    return str(secret.split("_secret_")[0])


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_contact_pays_with_a_card_the_bank_authenticates_and_sees_it_paid(
    gql, tenant, runtime, client, localstripe, stripe_page
):
    await connect_stripe(gql, tenant.admin)
    billed = await billed_client(gql, tenant.admin)
    page = stripe_page
    async with serving(runtime) as base:
        await page.goto(base + billed.path)
        # a card whose bank asks for 3-D Secure: the stand-in's challenge, passed
        seti = await add_card(page, base, "4000002760003184")
        await page.get_by_role("button", name="Complete authentication").click()
        await page.wait_for_url(f"{base}/portal/acme/payment-methods?notice=card-saving")
        intent = localstripe.get(f"/v1/setup_intents/{seti}")
        assert intent["status"] == "succeeded"
        # Stripe attaches the card to the customer once the SetupIntent succeeds;
        # localstripe does not after a 3-D Secure step, so the test does what Stripe does
        attached = localstripe._post(
            f"/v1/payment_methods/{intent['payment_method']}/attach",
            {"customer": intent["customer"]},
        )
        assert attached.status_code == 200, attached.text
        answer = await post_stripe_event(
            client, tenant.account_id, "setup_intent.succeeded", intent
        )
        assert answer.json()["outcome"] == "applied", answer.text
        # on the invoice, the saved card is offered (and chosen) to pay with
        await page.goto(f"{base}/portal/acme/invoices/{billed.invoice_id}")
        saved = page.get_by_label("Visa ending 3184")
        assert await saved.is_checked()
        assert await page.get_by_label("Amount to pay (USD)").input_value() == "1250.00"
        await page.get_by_role("button", name="Pay now").click()
        # the bank wants the payer: pay.js runs Stripe.js's confirmCardPayment
        await page.get_by_role("button", name="Confirm with your bank").click()
        await page.get_by_role("button", name="Complete authentication").click()
        await page.wait_for_url(f"{base}/portal/acme/invoices/{billed.invoice_id}?notice=paying")
        assert "your payment is being processed" in await page.locator("main").inner_text()
        # Stripe tells Portico (posted as Stripe signs it: localstripe sends no webhooks)
        (payment,) = (await gql.data(PAYMENTS, token=tenant.admin))["payments"]["nodes"]
        paid = localstripe.get(f"/v1/payment_intents/{payment['providerPaymentId']}")
        assert paid["status"] == "succeeded"
        answer = await post_stripe_event(
            client, tenant.account_id, "payment_intent.succeeded", paid
        )
        assert answer.json()["outcome"] == "applied", answer.text
        await page.reload()
        status = page.locator("dl.facts dt:text-is('Status') + dd")
        assert await status.inner_text() == "Paid"
        assert await page.get_by_role("button", name="Pay now").count() == 0
        invoice = await gql.data(INVOICE_STATUS, {"id": billed.invoice_id}, token=tenant.admin)
        assert invoice["invoice"] == {"status": "PAID", "amountDue": "0.00"}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_card_cannot_be_submitted_before_stripe_js_has_loaded(
    gql, tenant, runtime, localstripe, stripe_page
):
    """A click before the scripts are in would submit the bare form (a GET of the page
    itself, the card never reaching Stripe): the button is rendered disabled and enabled by
    card.js once its handler is in place."""
    await connect_stripe(gql, tenant.admin)
    billed = await billed_client(gql, tenant.admin)
    page = stripe_page
    released = asyncio.Event()

    async def held_back(route: Any) -> None:
        await released.wait()
        await route.fallback()

    async with serving(runtime) as base:
        await page.goto(base + billed.path)
        await page.get_by_role("link", name="Payment methods").click()
        await page.wait_for_url(f"{base}/portal/acme/payment-methods")
        await page.route("https://js.stripe.com/**", held_back)
        await page.get_by_role("button", name="Add a card").click()
        await page.get_by_role("heading", name="Add a card").wait_for()
        save = page.get_by_role("button", name="Save card")
        assert await save.is_disabled()
        released.set()
        await page.get_by_placeholder("number").wait_for()
        await page.wait_for_function("!document.getElementById('setup-submit').disabled")
        assert await save.is_enabled()
