"""Support tickets in the portal: a contact opens a ticket through the form, reads the
staff's answer (never an internal note) and replies; another client's ticket does not
exist for them, nor the Support page where the module is off."""

from __future__ import annotations

import re

from tests.portal_web.helpers import billed_client, csrf_of

STAFF_REPLY = """
mutation($ticketId: ID!, $body: String!, $internal: Boolean!) {
  replyToSupportTicket(ticketId: $ticketId, body: $body, internal: $internal) { id }
}
"""
STAFF_TICKET = "query($id: ID!) { supportTicket(id: $id) { messages { body fromClient } } }"
UPDATE_ACCOUNT = """
mutation($input: AccountSettingsInput!) { updateAccountSettings(input: $input) { id } }
"""


async def test_a_contact_opens_a_ticket_reads_the_answer_and_replies(gql, tenant, client):
    billed = await billed_client(gql, tenant.admin)
    await client.get(billed.path)
    page = await client.get("/portal/acme/support")
    assert page.status_code == 200
    assert "No support requests yet." in page.text
    ticket = {"subject": "Invoice question", "body": "Is VAT included?"}
    assert (await client.post("/portal/acme/support", data=ticket)).status_code == 403
    response = await client.post(
        "/portal/acme/support", data={**ticket, "csrf": csrf_of(page.text)}
    )
    assert response.status_code == 303, response.text
    match = re.fullmatch(
        r"/portal/acme/support/([0-9a-f-]+)\?notice=opened", response.headers["location"]
    )
    assert match, response.headers["location"]
    ticket_id = match.group(1)
    opened = await client.get(response.headers["location"])
    assert "your request is sent" in opened.text
    assert "Is VAT included?" in opened.text
    # staff answer, and leave an internal note the client never sees
    for body, internal in (("Yes, 20% VAT.", False), ("Check with finance", True)):
        variables = {"ticketId": ticket_id, "body": body, "internal": internal}
        await gql.data(STAFF_REPLY, variables, token=tenant.admin)
    shown = await client.get(f"/portal/acme/support/{ticket_id}")
    assert "Yes, 20% VAT." in shown.text
    assert "Check with finance" not in shown.text
    # the contact replies through the form
    reply = f"/portal/acme/support/{ticket_id}/reply"
    done = await client.post(reply, data={"body": "Thanks!", "csrf": csrf_of(shown.text)})
    assert done.status_code == 303
    assert "Your reply is sent." in (await client.get(done.headers["location"])).text
    seen = (await gql.data(STAFF_TICKET, {"id": ticket_id}, token=tenant.admin))["supportTicket"]
    assert {"body": "Thanks!", "fromClient": True} in seen["messages"]
    listing = await client.get("/portal/acme/support")
    assert f'href="/portal/acme/support/{ticket_id}">Invoice question<' in listing.text
    # a ticket without a subject is refused with the API's message, the text kept
    bad = {"subject": " ", "body": "Hello", "csrf": csrf_of(listing.text)}
    refused = await client.post("/portal/acme/support", data=bad)
    assert refused.status_code == 400
    assert 'role="alert"' in refused.text
    assert ">Hello</textarea>" in refused.text


async def test_another_clients_ticket_and_a_module_turned_off(gql, tenant, client):
    mine = await billed_client(gql, tenant.admin)
    theirs = await billed_client(gql, tenant.admin, name="Rival Ltd", price="999.00")
    await client.get(theirs.path)
    page = await client.get("/portal/acme/support")
    ticket = {"subject": "Private", "body": "Rival secret", "csrf": csrf_of(page.text)}
    location = (await client.post("/portal/acme/support", data=ticket)).headers["location"]
    their_ticket = location.split("?")[0]
    client.cookies.clear()
    await client.get(mine.path)
    response = await client.get(their_ticket)
    assert response.status_code == 404
    assert "Rival secret" not in response.text
    modules = ["CLIENT_PORTAL", "INVOICES", "PAYMENTS", "QUOTES"]
    await gql.data(UPDATE_ACCOUNT, {"input": {"enabledModules": modules}}, token=tenant.admin)
    assert (await client.get("/portal/acme/support")).status_code == 404
    dashboard = await client.get("/portal/acme/dashboard")
    assert 'href="/portal/acme/support"' not in dashboard.text
