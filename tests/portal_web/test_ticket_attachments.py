"""A file attached to a support ticket reply in the portal (issue 15, support tickets):
the contact's reply form uploads it (``uploadDocument``) and sends the reply with it
attached; the conversation links each message's attachments, and staff read the same.
A file the API refuses sends no reply."""

from __future__ import annotations

import io
import json
import re
from typing import Any

from tests.portal_web.helpers import billed_client, csrf_of
from tests.schema.test_recurring import contact_token
from tests.schema.upload_helpers import PREFLIGHT, post_upload

ATTACHMENTS = """
query($id: ID!) {
  supportTicket(id: $id) { messages { body fromClient attachments { filename } } }
}
"""


async def opened_ticket(client) -> tuple[str, str]:
    """A ticket the signed-in contact opened: its id and page."""
    page = await client.get("/portal/acme/support")
    form = {"subject": "Contract", "body": "See below.", "csrf": csrf_of(page.text)}
    response = await client.post("/portal/acme/support", data=form)
    assert response.status_code == 303, response.text
    match = re.search(r"/support/([0-9a-f-]+)\?", response.headers["location"])
    assert match
    shown = await client.get(f"/portal/acme/support/{match.group(1)}")
    return match.group(1), shown.text


async def test_a_reply_carries_an_attached_file(gql, tenant, client):
    billed = await billed_client(gql, tenant.admin)
    await client.get(billed.path)
    ticket_id, page = await opened_ticket(client)
    assert 'enctype="multipart/form-data"' in page
    assert '<label for="reply-file">Attach a file (optional)</label>' in page
    response = await client.post(
        f"/portal/acme/support/{ticket_id}/reply",
        data={"body": "The signed contract.", "csrf": csrf_of(page)},
        files={"file": ("contract.txt", b"Signed by Jane.\n", "text/plain")},
    )
    assert response.status_code == 303, response.text
    shown = await client.get(response.headers["location"])
    assert "Your reply is sent." in shown.text
    assert "The signed contract." in shown.text
    link = re.search(r'<a href="([^"]+)" download>contract\.txt</a>', shown.text)
    assert link, shown.text
    # staff see it attached to the client's message
    seen = (await gql.data(ATTACHMENTS, {"id": ticket_id}, token=tenant.admin))["supportTicket"]
    assert {
        "body": "The signed contract.",
        "fromClient": True,
        "attachments": [{"filename": "contract.txt"}],
    } in seen["messages"]
    # and the file is the client's document too
    documents = await client.get("/portal/acme/documents")
    assert ">contract.txt</a>" in documents.text


async def test_a_refused_file_sends_no_reply(gql, tenant, client):
    billed = await billed_client(gql, tenant.admin)
    await client.get(billed.path)
    ticket_id, page = await opened_ticket(client)
    response = await client.post(
        f"/portal/acme/support/{ticket_id}/reply",
        data={"body": "A program for you.", "csrf": csrf_of(page)},
        files={"file": ("tool.exe", b"MZ\x90\x00\x03\x00\x00\x00" * 8, "application/octet-stream")},
    )
    assert response.status_code == 400, response.text
    assert 'class="error" role="alert"' in response.text
    seen = (await gql.data(ATTACHMENTS, {"id": ticket_id}, token=tenant.admin))["supportTicket"]
    assert [message["body"] for message in seen["messages"]] == ["See below."]


async def test_a_reply_without_a_file_still_needs_its_csrf_token(gql, tenant, client):
    billed = await billed_client(gql, tenant.admin)
    await client.get(billed.path)
    ticket_id, page = await opened_ticket(client)
    reply = f"/portal/acme/support/{ticket_id}/reply"
    assert (await client.post(reply, data={"body": "Hi"})).status_code == 403
    done = await client.post(reply, data={"body": "Thanks!", "csrf": csrf_of(page)})
    assert done.status_code == 303


async def stored_files(runtime, tenant) -> set[str]:
    prefix = f"documents/{tenant.account_id.hex}/"
    return {stored.key async for stored in runtime.storage.listing(prefix)}


async def test_a_reply_refused_keeps_no_file_nor_document(gql, runtime, tenant, client):
    billed = await billed_client(gql, tenant.admin)
    await client.get(billed.path)
    ticket_id, page = await opened_ticket(client)
    response = await client.post(
        f"/portal/acme/support/{ticket_id}/reply",
        data={"body": "  ", "csrf": csrf_of(page)},
        files={"file": ("contract.txt", b"Signed by Jane.\n", "text/plain")},
    )
    assert response.status_code == 400, response.text
    assert 'role="alert" id="reply-error">This field is required.</p>' in response.text
    documents = await client.get("/portal/acme/documents")
    assert "contract.txt" not in documents.text
    assert await stored_files(runtime, tenant) == set()


REPLY_WITH_FILE = """
mutation($ticketId: ID!, $body: String!, $attachmentIds: [ID!], $file: Upload) {
  replyToSupportTicket(
    ticketId: $ticketId, body: $body, attachmentIds: $attachmentIds, file: $file
  ) { id }
}
"""


async def test_a_reply_that_fails_after_the_file_is_stored_deletes_it(gql, runtime, tenant, client):
    # a document of another client, which this contact's reply may not attach
    rival = await billed_client(gql, tenant.admin, name="Rival Ltd")
    foreign = await post_upload(
        client,
        tenant.admin,
        {"clientId": rival.client_id},
        ("rival.txt", b"Rival's file.\n", "text/plain"),
    )
    foreign_id = foreign.json()["data"]["uploadDocument"]["id"]
    before = await stored_files(runtime, tenant)
    assert len(before) == 1
    billed = await billed_client(gql, tenant.admin)
    await client.get(billed.path)
    ticket_id, _page = await opened_ticket(client)
    token = await contact_token(runtime, billed.contact_id)
    variables: dict[str, Any] = {
        "ticketId": ticket_id,
        "body": "Both files.",
        "attachmentIds": [foreign_id],
        "file": None,
    }
    operations = {"query": REPLY_WITH_FILE, "variables": variables}
    answer = await client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("mine.txt", io.BytesIO(b"My own file.\n"), "text/plain")},
        headers={**PREFLIGHT, "Authorization": f"Bearer {token}"},
    )
    body = answer.json()
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND", body  # not theirs
    # the file was stored, then the reply refused: neither the file nor a document stays
    assert await stored_files(runtime, tenant) == before
    documents = await client.get("/portal/acme/documents")
    assert "mine.txt" not in documents.text
    seen = (await gql.data(ATTACHMENTS, {"id": ticket_id}, token=tenant.admin))["supportTicket"]
    assert [message["body"] for message in seen["messages"]] == ["See below."]
    # and the same reply without the foreign document goes through, file attached
    variables["attachmentIds"] = None
    sent = await client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("mine.txt", io.BytesIO(b"My own file.\n"), "text/plain")},
        headers={**PREFLIGHT, "Authorization": f"Bearer {token}"},
    )
    assert "errors" not in sent.json(), sent.json()
    assert len(await stored_files(runtime, tenant)) == 2
