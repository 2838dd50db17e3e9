"""WCAG 2.1 AA in a real browser (issue 15): axe-core finds no violation on any portal
page a contact visits (sign-in, registration and password pages, the dashboard, the money
pages, documents, projects, tasks and support, with data on each) at a desktop width and
at a phone's 375 px (where nothing scrolls sideways either), with a brand colour whose
contrast is borderline and with a light one; the pages work from the keyboard with a
visible focus."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from tests.portal_web.browser import (
    CHROMIUM,
    DESKTOP,
    NO_AXE,
    NO_CHROMIUM,
    PHONE,
    assert_accessible,
    axe_ready,
    chromium,
)
from tests.portal_web.helpers import Billed, billed_client
from tests.schema.collab_helpers import COMMENT, CREATE_PROJECT, CREATE_TASK
from tests.schema.test_credits import create_credit
from tests.schema.test_recurring import started
from tests.schema.upload_helpers import pdf, post_upload
from tests.stripe.helpers import connect_stripe, serving

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM),
    pytest.mark.skipif(not axe_ready(), reason=NO_AXE),
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]

UPDATE_ACCOUNT = """
mutation($input: AccountSettingsInput!) { updateAccountSettings(input: $input) { id } }
"""
OPEN_TICKET = """
mutation($input: SupportTicketInput!) { openSupportTicket(input: $input) { id } }
"""
RECORD_PAYMENT = """
mutation($input: RecordPaymentInput!) { recordPayment(input: $input) { id } }
"""
STRIPE_STAND_IN = "/* Stripe.js is not fetched in these tests */"
STRIPE_ELEMENT = "#payment-element"  # Stripe's own iframe: its accessibility is Stripe's


async def paid_in_part(gql: Any, admin: str, billed: Billed) -> None:
    allocation = {"invoiceId": billed.invoice_id, "amount": "250.00"}
    payment = {
        "clientId": billed.client_id,
        "amount": "250.00",
        "method": "BANK_TRANSFER",
        "allocations": [allocation],
    }
    await gql.data(RECORD_PAYMENT, {"input": payment}, token=admin)


async def collaboration(gql: Any, admin: str, billed: Billed) -> dict[str, str]:
    """A shared project with a commented task, a shared document and a ticket."""
    project = (
        await gql.data(
            CREATE_PROJECT,
            {"input": {"clientId": billed.client_id, "name": "Website"}},
            token=admin,
        )
    )["createProject"]
    task_input = {"projectId": project["id"], "title": "Homepage", "visibility": "CLIENT_VISIBLE"}
    task = (await gql.data(CREATE_TASK, {"input": task_input}, token=admin))["createTask"]
    await gql.data(COMMENT, {"taskId": task["id"], "body": "First draft is up."}, token=admin)
    shared = {"clientId": billed.client_id, "projectId": project["id"], "visibleInPortal": True}
    uploaded = await post_upload(gql.http, admin, shared, ("brief.pdf", pdf(), "application/pdf"))
    assert "errors" not in uploaded.json(), uploaded.text
    ticket_input = {"clientId": billed.client_id, "subject": "Welcome", "body": "Ask us here."}
    ticket = (await gql.data(OPEN_TICKET, {"input": ticket_input}, token=admin))[
        "openSupportTicket"
    ]
    return {"project": project["id"], "task": task["id"], "ticket": ticket["id"]}


async def tour(page: Any, base: str, billed: Billed, shared: dict[str, str]) -> list[str]:
    """Every page a billing contact reaches, each checked by axe; the URLs seen."""
    seen = []

    async def check(*, exclude: tuple[str, ...] = ()) -> None:
        await assert_accessible(page, exclude=exclude)
        seen.append(page.url.removeprefix(base))

    for path in ("sign-in", "register", "reset-password", "accept-invite"):
        await page.goto(f"{base}/portal/acme/{path}")
        await check()
    await page.goto(base + billed.path)
    await check()
    await page.goto(f"{base}/portal/acme/invoices")
    await check()
    await page.goto(f"{base}/portal/acme/invoices?status=all")
    await check()
    await page.goto(f"{base}/portal/acme/invoices/{billed.invoice_id}")
    await check()
    assert await page.get_by_label("Amount to pay (USD)").input_value() == "1000.00"
    await page.get_by_role("button", name="Pay now").click()
    await page.wait_for_url(f"{base}/portal/acme/invoices/{billed.invoice_id}/pay")
    await check(exclude=(STRIPE_ELEMENT,))
    await page.goto(f"{base}/portal/acme/quotes")
    await check()
    await page.goto(f"{base}/portal/acme/quotes/{billed.quote_id}")
    await check()
    await page.goto(f"{base}/portal/acme/payments")
    await check()
    for path in (
        "payment-methods",
        "subscriptions",
        "recurring",
        "credits",
        "statements",
        "documents",
        "projects",
        f"projects/{shared['project']}",
        "tasks",
        f"tasks/{shared['task']}",
        "support",
        f"support/{shared['ticket']}",
        f"invoices/{billed.quote_id}",  # no such invoice
        "no-such-page",  # the branded 404
    ):
        await page.goto(f"{base}/portal/acme/{path}")
        await check()
    return seen


@pytest.mark.parametrize(
    ("viewport", "brand"),
    [(PHONE, "#737373"), (DESKTOP, "#FFD400")],
    ids=["phone-borderline-grey-brand", "desktop-light-brand"],
)
async def test_every_portal_page_passes_axe(gql, tenant, runtime, localstripe, viewport, brand):
    await connect_stripe(gql, tenant.admin)
    if brand:
        settings = {"input": {"primaryColor": brand}}
        await gql.data(UPDATE_ACCOUNT, settings, token=tenant.admin)
    await gql.data(UPDATE_ACCOUNT, {"input": {"registrationEnabled": True}}, token=tenant.admin)
    billed = await billed_client(gql, tenant.admin)
    await paid_in_part(gql, tenant.admin, billed)
    shared = await collaboration(gql, tenant.admin, billed)
    await create_credit(gql, tenant.admin, billed.client_id, reason="Goodwill")
    await started(gql, tenant, billed.client_id)
    async with serving(runtime) as base, chromium() as browser:
        context = await browser.new_context(viewport=viewport)
        await context.route(
            "https://js.stripe.com/**",
            lambda route: route.fulfill(body=STRIPE_STAND_IN, content_type="text/javascript"),
        )
        page = await context.new_page()
        seen = await tour(page, base, billed, shared)
    assert len(seen) == 26, seen


FOCUSED = """() => {
  const element = document.activeElement;
  const style = getComputedStyle(element);
  const box = element.getBoundingClientRect();
  return {
    tag: element.tagName.toLowerCase(),
    id: element.id,
    text: (element.innerText || element.value || "").trim(),
    inMain: element.closest("main") !== null,
    outlined: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2,
    onScreen: box.width > 0 && box.height > 0 && box.top >= 0 && box.left >= 0
      && box.bottom <= window.innerHeight && box.right <= window.innerWidth,
  };
}"""


async def tab_to(page: Any, *, stops: int = 40, **wanted: object) -> dict[str, Any]:
    """Press Tab until the focused element matches ``wanted``; every stop on the way
    must show the focus (an outline) on the screen."""
    for _ in range(stops):
        await page.keyboard.press("Tab")
        focused: dict[str, Any] = await page.evaluate(FOCUSED)
        if focused["tag"] == "body":
            continue
        assert focused["outlined"], f"no visible focus on {focused}"
        assert focused["onScreen"], f"the focus is off the screen: {focused}"
        if all(focused.get(key) == value for key, value in wanted.items()):
            return focused
    raise AssertionError(f"{wanted} not reached in {stops} Tab presses on {page.url}")


async def test_the_portal_works_from_the_keyboard_with_a_visible_focus(gql, tenant, runtime):
    billed = await billed_client(gql, tenant.admin)
    async with serving(runtime) as base, chromium() as browser:
        page = await (await browser.new_context(viewport=PHONE)).new_page()
        await page.goto(base + billed.path)
        # the CSP stays strict under test (axe goes in through DevTools, not a script
        # element): an inline script is refused
        with contextlib.suppress(Exception):
            await page.add_script_tag(content="window.inlineRan = true")
        assert await page.evaluate("window.inlineRan === undefined")
        # the first Tab shows the skip link; it jumps past the navigation
        skip = await tab_to(page, stops=1)
        assert skip["text"] == "Skip to content"
        await page.keyboard.press("Enter")
        first = await tab_to(page, stops=1)
        assert first["inMain"], first
        # the navigation is reached and followed with the keyboard
        await page.goto(f"{base}/portal/acme/dashboard")
        await tab_to(page, tag="a", text="Quotes")
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{base}/portal/acme/quotes")
        await tab_to(page, tag="a", inMain=True)
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{base}/portal/acme/quotes/{billed.quote_id}")
        # and the quote is approved with keys alone
        await tab_to(page, id="accept_terms")
        await page.keyboard.press("Space")
        await tab_to(page, id="signature_name")
        await page.keyboard.type("Jane Smith")
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{base}/portal/acme/quotes/{billed.quote_id}?notice=approved")
        assert "the quote is approved" in await page.locator("main").inner_text()
