"""Steps the portal web tests share: a client with a sent invoice and quote, its
contact's mailed dashboard link, the CSRF token of a page's forms."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tests.portal.helpers import dashboard_url, make_client

CREATE_INVOICE = "mutation($input: InvoiceInput!) { createInvoice(input: $input) { id } }"
SEND_INVOICE = "mutation($id: ID!) { sendInvoice(id: $id) { id number } }"
CREATE_QUOTE = "mutation($input: QuoteInput!) { createQuote(input: $input) { id } }"
SEND_QUOTE = "mutation($id: ID!) { sendQuote(id: $id) { id } }"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Billed:
    client_id: str
    contact_id: str
    invoice_id: str
    invoice_number: str
    quote_id: str
    link: str

    @property
    def path(self) -> str:
        """The dashboard link as the browser requests it (path and query)."""
        parts = urlsplit(self.link)
        return f"{parts.path}?{parts.query}"


async def billed_client(
    gql: Any, admin: str, *, name: str = "Smith & Co", price: str = "1250.00", email=None
) -> Billed:
    slug = name.lower().replace(" ", "").replace("&", "")
    contacts = [{"email": email or f"jane@{slug}.test", "firstName": "Jane", "role": "BILLING"}]
    client = await make_client(gql, admin, name=name, contacts=contacts)
    lines = [{"description": "Design work", "quantity": "1", "unitPrice": price}]
    invoice = (
        await gql.data(
            CREATE_INVOICE,
            {"input": {"clientId": client["id"], "currency": "USD", "lines": lines}},
            token=admin,
        )
    )["createInvoice"]
    sent = (await gql.data(SEND_INVOICE, {"id": invoice["id"]}, token=admin))["sendInvoice"]
    quote = (
        await gql.data(
            CREATE_QUOTE,
            {"input": {"clientId": client["id"], "currency": "USD", "lines": lines}},
            token=admin,
        )
    )["createQuote"]
    await gql.data(SEND_QUOTE, {"id": quote["id"]}, token=admin)
    contact_id = client["contacts"][0]["id"]
    link = await dashboard_url(gql, admin, contact_id)
    return Billed(client["id"], contact_id, invoice["id"], sent["number"], quote["id"], link)


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)
