"""Emailed invoices and quotes carry a link that opens the document in the portal; a
visit is recorded as "viewed" only when the visitor is not staff (seed 004)."""

from __future__ import annotations

import re

from tests.portal.helpers import code_of, make_client, redeem, token_of

CREATE_INVOICE = """
mutation($input: InvoiceInput!) { createInvoice(input: $input) { id } }
"""
SEND_INVOICE = "mutation($id: ID!) { sendInvoice(id: $id) { id number status } }"
INVOICE = "query($id: ID!) { invoice(id: $id) { id status viewedAt } }"
CREATE_QUOTE = "mutation($input: QuoteInput!) { createQuote(input: $input) { id } }"
SEND_QUOTE = "mutation($id: ID!) { sendQuote(id: $id) { id number status } }"
QUOTE = "query($id: ID!) { quote(id: $id) { id status } }"
VOID = "mutation($id: ID!) { voidInvoice(id: $id) { id } }"
LINES = [{"description": "Design sprint", "quantity": "2", "unitPrice": "1250.00"}]
CONTACTS = [
    {"email": "jane@smith.test", "firstName": "Jane", "role": "BILLING"},
    {"email": "john@smith.test", "firstName": "John", "role": "COLLABORATOR"},
    {"email": "vic@smith.test", "firstName": "Vic", "role": "VIEWER"},
]


def link_in(mail) -> str:
    match = re.search(r"https?://\S+token=\S+", mail.get_body(("plain",)).get_content())
    assert match
    return match.group(0)


async def sent_invoice(gql, tenant, smtp_runtime, smtp_server):
    client = await make_client(gql, tenant.admin, contacts=CONTACTS)
    created = await gql.data(
        CREATE_INVOICE, {"input": {"clientId": client["id"], "lines": LINES}}, token=tenant.admin
    )
    invoice = (
        await gql.data(SEND_INVOICE, {"id": created["createInvoice"]["id"]}, token=tenant.admin)
    )["sendInvoice"]
    await smtp_runtime.mailer.drain()
    mails = await smtp_server.wait_for(2)
    return invoice, {m["To"]: m for m in mails}


async def test_sending_an_invoice_mails_each_contact_who_may_read_it(
    gql, tenant, smtp_runtime, smtp_server
):
    invoice, mails = await sent_invoice(gql, tenant, smtp_runtime, smtp_server)
    # billing and viewer contacts get it; the collaborator (no money) does not
    assert set(mails) == {"jane@smith.test", "vic@smith.test"}
    text = mails["jane@smith.test"].get_body(("plain",)).get_content()
    assert invoice["number"] in text
    assert "$2,500.00" in text
    # each contact has its own link
    assert link_in(mails["jane@smith.test"]) != link_in(mails["vic@smith.test"])


async def test_a_document_link_opens_the_invoice_and_records_the_view(
    gql, tenant, smtp_runtime, smtp_server
):
    invoice, mails = await sent_invoice(gql, tenant, smtp_runtime, smtp_server)
    token = token_of(link_in(mails["jane@smith.test"]))
    # staff opening the link: a read-only view, the invoice stays SENT
    staff_view = (await redeem(gql, token, auth=tenant.admin))["data"]["redeemPortalLink"]
    assert staff_view["readOnly"] is True
    seen = (await gql.data(INVOICE, {"id": invoice["id"]}, token=staff_view["token"]))["invoice"]
    assert seen["status"] == "SENT"
    assert seen["viewedAt"] is None
    # the client opening it: the session points at the invoice, which is now VIEWED
    session = (await redeem(gql, token))["data"]["redeemPortalLink"]
    assert (session["subjectType"], session["subjectId"]) == ("invoice", invoice["id"])
    seen = (await gql.data(INVOICE, {"id": invoice["id"]}, token=session["token"]))["invoice"]
    assert seen["status"] == "VIEWED"
    assert seen["viewedAt"] is not None
    # document links may be opened again
    assert "errors" not in await redeem(gql, token)


async def test_a_voided_invoices_link_still_signs_in_but_shows_nothing(
    gql, tenant, smtp_runtime, smtp_server
):
    invoice, mails = await sent_invoice(gql, tenant, smtp_runtime, smtp_server)
    await gql.data(VOID, {"id": invoice["id"]}, token=tenant.admin)
    session = (await redeem(gql, token_of(link_in(mails["jane@smith.test"]))))["data"][
        "redeemPortalLink"
    ]
    body = await gql(INVOICE, {"id": invoice["id"]}, token=session["token"])
    assert code_of(body) == "NOT_FOUND"


async def test_sending_a_quote_mails_a_link_that_marks_it_viewed(
    gql, tenant, smtp_runtime, smtp_server
):
    client = await make_client(gql, tenant.admin, contacts=CONTACTS[:1])
    created = await gql.data(
        CREATE_QUOTE, {"input": {"clientId": client["id"], "lines": LINES}}, token=tenant.admin
    )
    quote = (await gql.data(SEND_QUOTE, {"id": created["createQuote"]["id"]}, token=tenant.admin))[
        "sendQuote"
    ]
    await smtp_runtime.mailer.drain()
    [mail] = await smtp_server.wait_for(1)
    assert quote["number"] in mail.get_body(("plain",)).get_content()
    session = (await redeem(gql, token_of(link_in(mail))))["data"]["redeemPortalLink"]
    assert session["subjectType"] == "quote"
    seen = (await gql.data(QUOTE, {"id": quote["id"]}, token=session["token"]))["quote"]
    assert seen["status"] == "VIEWED"
