"""The portal in a real browser: the system's Chromium driven by Playwright against a
running Portico. A contact opens the mailed dashboard link, lands on the dashboard
without the token in the URL, sees what they owe, opens the invoice and approves a quote.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.portal_web.browser import CHROMIUM, CHROMIUM_ARGS
from tests.portal_web.helpers import billed_client
from tests.stripe.helpers import serving

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="no Chromium at /usr/bin/chromium (apt-get install -y chromium; .ci/run does)",
)


@pytest.fixture
async def browser_page() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            context = await browser.new_context()
            yield await context.new_page()
        finally:
            await browser.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_contact_follows_the_mailed_link_and_approves_a_quote(
    gql, tenant, runtime, browser_page
):
    billed = await billed_client(gql, tenant.admin)
    page = browser_page
    async with serving(runtime) as base:
        # the contact opens the mailed dashboard link
        await page.goto(base + billed.path)
        # and lands on the dashboard, the token gone from the address bar
        assert page.url == f"{base}/portal/acme/dashboard"
        assert await page.get_by_test_id("outstanding").inner_text() == "$1,250.00"
        # opens the invoice
        await page.get_by_role("link", name=billed.invoice_number).first.click()
        await page.wait_for_url(f"{base}/portal/acme/invoices/{billed.invoice_id}")
        assert await page.get_by_test_id("balance").inner_text() == "$1,250.00"
        assert await page.get_by_role("link", name="Download PDF").is_visible()
        # goes to the quotes and approves the one waiting
        await page.get_by_role("link", name="Quotes").click()
        await page.locator("table a").first.click()
        await page.wait_for_url(f"{base}/portal/acme/quotes/{billed.quote_id}")
        await page.get_by_label("I accept the terms").check()
        await page.get_by_label("Your full name, as a signature").fill("Jane Smith")
        await page.get_by_role("button", name="Approve quote").click()
        await page.wait_for_url(f"{base}/portal/acme/quotes/{billed.quote_id}?notice=approved")
        assert "the quote is approved" in await page.locator("main").inner_text()
        # signing out ends it: the dashboard asks to sign in again
        await page.get_by_role("button", name="Sign out").click()
        await page.wait_for_url(f"{base}/portal/acme/sign-in?notice=signed-out")
        await page.goto(f"{base}/portal/acme/dashboard")
        assert page.url.startswith(f"{base}/portal/acme/sign-in")
