"""The issue's browser journeys (issue 15) in the system's Chromium under Playwright,
against a running Portico: a contact asks for a magic link on the sign-in page, follows
it from the mail a real SMTP server (aiosmtpd) received and lands on the dashboard;
downloads a statement PDF (the browser's download); uploads a document that then shows
in the list; a module turned off removes its tab; a revoked session is signed out on
the next click; a collaborator never sees money."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.portal.helpers import dashboard_url, make_client
from tests.portal.test_magic_links import link_in
from tests.portal_web.browser import CHROMIUM, NO_CHROMIUM, chromium
from tests.portal_web.helpers import billed_client
from tests.stripe.helpers import serving

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)

UPDATE_ACCOUNT = """
mutation($input: AccountSettingsInput!) { updateAccountSettings(input: $input) { id } }
"""
REVOKE = "mutation($id: ID!) { revokeContactAccess(contactId: $id) { id } }"


@pytest.fixture
async def page() -> AsyncIterator[Any]:
    async with chromium() as browser:
        context = await browser.new_context(accept_downloads=True)
        yield await context.new_page()


async def public_urls_to(page: Any, runtime: Any, base: str) -> None:
    """Send the browser's requests for the configured public URL (where download links
    point) to the server under test."""
    public = str(runtime.settings.public_base_url).rstrip("/")

    async def forward(route: Any) -> None:
        url = base + route.request.url.removeprefix(public)
        await route.fulfill(response=await route.fetch(url=url))

    await page.context.route(f"{public}/**", forward)


async def last_mail(runtime: Any, smtp_server: Any, count: int) -> Any:
    await runtime.background.drain()
    await runtime.mailer.drain()
    return (await smtp_server.wait_for(count))[-1]


def served(base: str, link: str) -> str:
    """The mailed link (on the configured portal URL) on the server under test."""
    parts = urlsplit(link)
    return f"{base}{parts.path}?{parts.query}"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_mailed_magic_link_then_a_statement_pdf_and_an_upload(
    gql, tenant, smtp_runtime, smtp_server, page, tmp_path: Path
):
    await billed_client(gql, tenant.admin)
    await last_mail(smtp_runtime, smtp_server, 2)  # the invoice's and the quote's
    mails = len(smtp_server.messages)
    async with serving(smtp_runtime) as base:
        # the contact asks for a sign-in link
        await page.goto(f"{base}/portal/acme/sign-in")
        await page.get_by_label("Email address").last.fill("jane@smithco.test")
        await page.get_by_role("button", name="Email me a sign-in link").click()
        await page.wait_for_load_state()
        # the link arrives by mail (over SMTP) and she follows it
        mail = await last_mail(smtp_runtime, smtp_server, mails + 1)
        assert mail["To"] == "jane@smithco.test"
        await page.goto(served(base, link_in(mail)))
        # she lands on the dashboard, signed in, the token gone from the address bar
        assert page.url == f"{base}/portal/acme/dashboard"
        assert await page.get_by_test_id("outstanding").inner_text() == "$1,250.00"
        # the statement's PDF downloads in the browser
        await public_urls_to(page, smtp_runtime, base)
        await page.get_by_role("link", name="Statements").click()
        await page.wait_for_url(f"{base}/portal/acme/statements")
        async with page.expect_download() as info:
            await page.get_by_role("link", name="Download PDF").click()
        download = await info.value
        saved = tmp_path / "statement.pdf"
        await download.save_as(saved)
        assert saved.read_bytes().startswith(b"%PDF-")
        assert download.suggested_filename.endswith(".pdf")
        # she uploads a document and it is in the list
        await page.get_by_role("link", name="Documents").click()
        await page.wait_for_url(f"{base}/portal/acme/documents")
        assert "No documents yet." in await page.locator("main").inner_text()
        upload = tmp_path / "signed-contract.txt"
        upload.write_text("Signed by Jane Smith.\n", encoding="utf-8")
        await page.get_by_label("File").set_input_files(str(upload))
        await page.get_by_role("button", name="Upload").click()
        await page.wait_for_url(f"{base}/portal/acme/documents?notice=uploaded")
        assert await page.get_by_role("link", name="signed-contract.txt").is_visible()
        assert "Thank you: your file is uploaded." in await page.locator("main").inner_text()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_module_off_removes_its_tab_and_a_revoked_session_is_signed_out(
    gql, tenant, runtime, page
):
    billed = await billed_client(gql, tenant.admin)
    async with serving(runtime) as base:
        await page.goto(base + billed.path)
        nav = page.get_by_role("navigation", name="Portal")
        assert await nav.get_by_role("link", name="Quotes").count() == 1
        modules = ["CLIENT_PORTAL", "INVOICES", "PAYMENTS"]
        await gql.data(UPDATE_ACCOUNT, {"input": {"enabledModules": modules}}, token=tenant.admin)
        # the next page has no Quotes tab, and the quotes page is gone
        await nav.get_by_role("link", name="Invoices").click()
        await page.wait_for_url(f"{base}/portal/acme/invoices")
        assert await nav.get_by_role("link", name="Quotes").count() == 0
        assert await nav.get_by_role("link", name="Invoices").count() == 1
        gone = await page.goto(f"{base}/portal/acme/quotes")
        assert gone is not None
        assert gone.status == 404
        await page.go_back()
        # staff revoke the contact's access: the next click signs her out
        await gql.data(REVOKE, {"id": billed.contact_id}, token=tenant.admin)
        await nav.get_by_role("link", name="Dashboard").click()
        await page.wait_for_url(f"{base}/portal/acme/sign-in?notice=signed-out")
        assert await page.get_by_role("button", name="Email me a sign-in link").is_visible()
        assert not [c for c in await page.context.cookies() if c["name"] == "portico_portal"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_collaborator_never_sees_money(gql, tenant, runtime, page):
    await billed_client(gql, tenant.admin)  # the client owes $1,250.00
    jones = await make_client(
        gql,
        tenant.admin,
        name="Jones Ltd",
        contacts=[{"email": "john@jones.test", "firstName": "John", "role": "COLLABORATOR"}],
    )
    link = await dashboard_url(gql, tenant.admin, jones["contacts"][0]["id"])
    async with serving(runtime) as base:
        await page.goto(served(base, link))
        assert page.url == f"{base}/portal/acme/dashboard"
        nav = page.get_by_role("navigation", name="Portal")
        tabs = await nav.get_by_role("link").all_inner_texts()
        assert tabs, "the collaborator has a portal"
        for money_tab in ("Invoices", "Quotes", "Payments", "Credits", "Statements"):
            assert money_tab not in tabs
        text = await page.locator("body").inner_text()
        assert "$" not in text
        assert "Outstanding" not in text
        for path in ("invoices", "payments", "statements", "credits", "subscriptions"):
            answer = await page.goto(f"{base}/portal/acme/{path}")
            assert answer is not None
            assert answer.status == 404, path
            assert "$" not in await page.locator("body").inner_text()
