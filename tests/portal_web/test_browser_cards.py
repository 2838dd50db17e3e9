"""Adding a card in a real browser: the system's Chromium (Playwright) on the payment
methods page, with localstripe's stand-in Stripe.js served where the page loads
https://js.stripe.com/v3/ from, and its API calls answered by localstripe (the stand-in
derives its API base from the script's address, which for this one gives ``https:/``,
so they go to ``https://v1/…``). The stand-in is no real Stripe.js, so the context bypasses
the CSP; the CSP itself is checked over HTTP in test_money_screens.py."""

from __future__ import annotations

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
