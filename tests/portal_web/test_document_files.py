"""Documents in the portal: the shared files listed and downloaded, an upload through
the form (CSRF and all) that staff then see, and no Documents page where the module is
off."""

from __future__ import annotations

import html
import re

from tests.portal_web.helpers import billed_client, csrf_of
from tests.schema.upload_helpers import UPLOAD_STAFF, pdf, post_upload

STAFF_DOCUMENTS = "query { documents(first: 10) { nodes { filename uploadedByClient } } }"
UPDATE_ACCOUNT = """
mutation($input: AccountSettingsInput!) { updateAccountSettings(input: $input) { id } }
"""


async def test_a_contact_downloads_a_shared_file_and_uploads_one(gql, tenant, client):
    billed = await billed_client(gql, tenant.admin)
    shared = {"clientId": billed.client_id, "visibleInPortal": True}
    staff = await post_upload(
        client,
        tenant.admin,
        shared,
        ("brief.pdf", pdf("brief"), "application/pdf"),
        query=UPLOAD_STAFF,
    )
    assert "errors" not in staff.json(), staff.text
    hidden = {"clientId": billed.client_id, "visibleInPortal": False}
    await post_upload(
        client,
        tenant.admin,
        hidden,
        ("internal.pdf", pdf("internal"), "application/pdf"),
        query=UPLOAD_STAFF,
    )
    await client.get(billed.path)
    page = await client.get("/portal/acme/documents")
    assert page.status_code == 200
    assert "brief.pdf" in page.text
    assert "internal.pdf" not in page.text
    # the link downloads the file itself
    match = re.search(r'href="([^"]+)" download>brief.pdf<', page.text)
    assert match, page.text
    download = await client.get(html.unescape(match.group(1)))
    assert download.status_code == 200
    assert download.content == pdf("brief")
    # an upload without the page's CSRF token is refused
    file = {"file": ("signed.pdf", pdf("signed"), "application/pdf")}
    refused = await client.post("/portal/acme/documents", files=file, data={})
    assert refused.status_code == 403
    # with it, the file arrives and the list shows it as theirs
    response = await client.post(
        "/portal/acme/documents", files=file, data={"csrf": csrf_of(page.text)}
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/portal/acme/documents?notice=uploaded"
    listing = await client.get(response.headers["location"])
    assert "your file is uploaded" in listing.text
    assert "signed.pdf" in listing.text
    seen = (await gql.data(STAFF_DOCUMENTS, token=tenant.admin))["documents"]["nodes"]
    assert {"filename": "signed.pdf", "uploadedByClient": True} in seen
    # a form sent with no file says so
    empty = await client.post("/portal/acme/documents", data={"csrf": csrf_of(listing.text)})
    assert empty.status_code == 400
    assert "Choose a file to upload." in empty.text


async def test_without_the_documents_module_there_is_no_documents_page(gql, tenant, client):
    billed = await billed_client(gql, tenant.admin)
    modules = ["CLIENT_PORTAL", "INVOICES", "PAYMENTS", "QUOTES"]
    await gql.data(UPDATE_ACCOUNT, {"input": {"enabledModules": modules}}, token=tenant.admin)
    await client.get(billed.path)
    assert (await client.get("/portal/acme/documents")).status_code == 404
    dashboard = await client.get("/portal/acme/dashboard")
    assert 'href="/portal/acme/documents"' not in dashboard.text
