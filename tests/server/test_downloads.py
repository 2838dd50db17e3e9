"""`GET /downloads/{token}`: the PDFs behind `pdfUrl`, over HTTP, and every way a link
must stop working (expired, tampered, another purpose, another account, signed out, no
longer visible, no permission)."""

from __future__ import annotations

import io
import time
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from pypdf import PdfReader

from auth.tokens import TokenPurpose
from models.clients import Contact
from services import sessions
from services.downloads import DownloadKind, download_url
from services.portal.sessions import start_contact_session

TODAY = datetime.now(UTC).date()

CREATE_CLIENT = """
mutation($input: ClientInput!) { createClient(input: $input) { id contacts { id role } } }
"""
CREATE_INVOICE = "mutation($input: InvoiceInput!) { createInvoice(input: $input) { id } }"
SEND_INVOICE = "mutation($id: ID!) { sendInvoice(id: $id) { id number } }"
VOID_INVOICE = "mutation($id: ID!) { voidInvoice(id: $id) { id } }"
CREATE_QUOTE = "mutation($input: QuoteInput!) { createQuote(input: $input) { id } }"
SEND_QUOTE = "mutation($id: ID!) { sendQuote(id: $id) { id number } }"
INVOICE = "query($id: ID!) { invoice(id: $id) { number total pdfUrl } }"
QUOTE = "query($id: ID!) { quote(id: $id) { number pdfUrl } }"
STATEMENT = """
query($from: Date!, $to: Date!) { statement(from: $from, to: $to) { closingBalance pdfUrl } }
"""
SIGN_OUT = "mutation { signOut }"
CREATE_API_TOKEN = """
mutation($scopes: [String!]!) { createApiToken(name: "Books", scopes: $scopes) { token } }
"""
NOT_FOUND = {"error": {"code": "NOT_FOUND", "message": "Not found."}}
LINES = [
    {"description": "Strategy session", "quantity": "2", "unitPrice": "1250.00"},
    {"description": "Travel expenses", "quantity": "1", "unitPrice": "87.40"},
]


async def contact_token(runtime, contact_id):
    async with runtime.sessions() as session:
        contact = await session.get(Contact, uuid.UUID(contact_id))
        token = await start_contact_session(
            session=session, signer=runtime.signer, contact=contact, ttl=runtime.session_ttl
        )
        await session.commit()
    return token


async def portal_client(gql, runtime, tenant, name, roles=("BILLING",)):
    slug = name.split()[0].lower()
    contacts = [{"email": f"{role.lower()}@{slug}.test", "role": role} for role in roles]
    client = (
        await gql.data(
            CREATE_CLIENT, {"input": {"name": name, "contacts": contacts}}, token=tenant.admin
        )
    )["createClient"]
    tokens = {c["role"]: await contact_token(runtime, c["id"]) for c in client["contacts"]}
    return client, tokens


async def draft_invoice(gql, token, client_id):
    data = await gql.data(
        CREATE_INVOICE, {"input": {"clientId": client_id, "lines": LINES}}, token=token
    )
    return data["createInvoice"]


async def sent_invoice(gql, token, client_id):
    draft = await draft_invoice(gql, token, client_id)
    return (await gql.data(SEND_INVOICE, {"id": draft["id"]}, token=token))["sendInvoice"]


async def pdf_url_of(gql, token, invoice_id):
    return (await gql.data(INVOICE, {"id": invoice_id}, token=token))["invoice"]["pdfUrl"]


def path_of(url):
    """What the browser requests: the link's path on the API's host."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == "http://portal.test"
    return parts.path


def text_of(content):
    reader = PdfReader(io.BytesIO(content))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def token_of(url):
    return path_of(url).rsplit("/", 1)[1]


def payload_of(runtime, url):
    return runtime.signer.unsign(TokenPurpose.DOWNLOAD, token_of(url), max_age_seconds=None)


class AnHourAgo(TimestampSigner):
    """A signer whose clock is an hour behind."""

    def get_timestamp(self) -> int:
        return int(time.time()) - 3600


# --- what works -----------------------------------------------------------------------


async def test_contact_downloads_a_visible_invoice(gql, client, runtime, tenant):
    # given a sent invoice of the contact's client
    portal, tokens = await portal_client(gql, runtime, tenant, "Acme Corp")
    invoice = await sent_invoice(gql, tenant.admin, portal["id"])
    # when the contact asks for its PDF link and follows it
    data = (await gql.data(INVOICE, {"id": invoice["id"]}, token=tokens["BILLING"]))["invoice"]
    assert data["pdfUrl"].startswith("http://portal.test/downloads/")
    response = await client.get(path_of(data["pdfUrl"]))
    # then it downloads the invoice as a PDF attachment named after its number
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="{invoice["number"]}.pdf"'
    )
    assert response.headers["cache-control"] == "private, no-store"
    text = text_of(response.content)
    assert f"Invoice {invoice['number']}" in text
    assert "Strategy session" in text
    assert "Travel expenses" in text
    assert data["total"] == "2587.40"
    assert "Total (USD) 2,587.40" in text
    assert "Balance due (USD) 2,587.40" in text
    # and the link works again within its lifetime (no state is spent)
    assert (await client.get(path_of(data["pdfUrl"]))).status_code == 200


async def test_contact_downloads_its_statement_and_a_quote(gql, client, runtime, tenant):
    portal, tokens = await portal_client(gql, runtime, tenant, "Acme Corp")
    await sent_invoice(gql, tenant.admin, portal["id"])
    # the statement of the last 30 days
    period = {"from": (TODAY - timedelta(days=30)).isoformat(), "to": TODAY.isoformat()}
    data = (await gql.data(STATEMENT, period, token=tokens["BILLING"]))["statement"]
    response = await client.get(path_of(data["pdfUrl"]))
    assert response.status_code == 200
    assert response.headers["content-disposition"] == (
        f'attachment; filename="statement-{period["from"]}-{period["to"]}-USD.pdf"'
    )
    text = text_of(response.content)
    assert f"{period['from']} to {period['to']}" in text
    assert data["closingBalance"] == "2587.40"
    assert "Closing balance (USD) 2,587.40" in text
    # a sent quote
    quote = (
        await gql.data(
            CREATE_QUOTE,
            {"input": {"clientId": portal["id"], "lines": LINES[:1]}},
            token=tenant.admin,
        )
    )["createQuote"]
    sent = (await gql.data(SEND_QUOTE, {"id": quote["id"]}, token=tenant.admin))["sendQuote"]
    url = (await gql.data(QUOTE, {"id": quote["id"]}, token=tokens["BILLING"]))["quote"]["pdfUrl"]
    response = await client.get(path_of(url))
    assert response.status_code == 200
    assert response.headers["content-disposition"] == f'attachment; filename="{sent["number"]}.pdf"'
    assert f"Estimate {sent['number']}" in text_of(response.content)


async def test_staff_preview_a_draft_and_partners_download(gql, client, runtime, tenant):
    portal, _ = await portal_client(gql, runtime, tenant, "Acme Corp")
    draft = await draft_invoice(gql, tenant.admin, portal["id"])
    response = await client.get(path_of(await pdf_url_of(gql, tenant.admin, draft["id"])))
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="invoice-draft.pdf"'
    assert "Draft invoice" in text_of(response.content)
    # a partner tool with invoices:read downloads sent invoices
    sent = await sent_invoice(gql, tenant.admin, portal["id"])
    partner = (await gql.data(CREATE_API_TOKEN, {"scopes": ["invoices:read"]}, token=tenant.admin))[
        "createApiToken"
    ]["token"]
    response = await client.get(path_of(await pdf_url_of(gql, partner, sent["id"])))
    assert response.status_code == 200
    assert sent["number"] in text_of(response.content)


# --- what does not --------------------------------------------------------------------


async def test_contact_cannot_reach_other_clients_or_hidden_invoices(gql, client, runtime, tenant):
    portal, tokens = await portal_client(gql, runtime, tenant, "Acme Corp")
    other, _ = await portal_client(gql, runtime, tenant, "Other Ltd")
    foreign = await sent_invoice(gql, tenant.admin, other["id"])
    draft = await draft_invoice(gql, tenant.admin, portal["id"])
    for invoice_id in (foreign["id"], draft["id"]):
        body = await gql(INVOICE, {"id": invoice_id}, token=tokens["BILLING"])
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    # a link handed out while the invoice was visible stops working once it is voided
    visible = await sent_invoice(gql, tenant.admin, portal["id"])
    url = await pdf_url_of(gql, tokens["BILLING"], visible["id"])
    await gql.data(VOID_INVOICE, {"id": visible["id"]}, token=tenant.admin)
    response = await client.get(path_of(url))
    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    # (staff still download the void invoice, marked as such)
    staff_url = await pdf_url_of(gql, tenant.admin, visible["id"])
    assert "VOID" in text_of((await client.get(path_of(staff_url))).content)


async def test_expired_link_is_gone(gql, client, runtime, tenant):
    portal, tokens = await portal_client(gql, runtime, tenant, "Acme Corp")
    invoice = await sent_invoice(gql, tenant.admin, portal["id"])
    url = await pdf_url_of(gql, tokens["BILLING"], invoice["id"])
    # the same link, signed an hour ago (links live PORTICO_DOWNLOAD_URL_TTL_SECONDS = 600)
    assert runtime.settings.download_url_ttl_seconds == 600
    old = URLSafeTimedSerializer(
        runtime.settings.secret_key.get_secret_value(),
        salt=TokenPurpose.DOWNLOAD.value,
        signer=AnHourAgo,
    ).dumps(payload_of(runtime, url))
    response = await client.get(f"/downloads/{old}")
    assert response.status_code == 410
    assert response.json() == {
        "error": {
            "code": "EXPIRED",
            "message": "This download link has expired. Ask for a new one.",
        }
    }


async def test_tampered_or_foreign_tokens_are_not_found(gql, client, runtime, tenant):
    portal, tokens = await portal_client(gql, runtime, tenant, "Acme Corp")
    invoice = await sent_invoice(gql, tenant.admin, portal["id"])
    url = await pdf_url_of(gql, tokens["BILLING"], invoice["id"])
    token = token_of(url)
    payload = payload_of(runtime, url)
    body, _, signature = token.rpartition(".")
    # flip a character in the middle: the last base64 character carries padding bits,
    # so changing it may leave the signature's bytes as they were
    flipped = "A" if signature[-5] != "A" else "B"
    other_invoice = await sent_invoice(gql, tenant.admin, portal["id"])
    forged_body = URLSafeTimedSerializer("not-our-secret", salt=TokenPurpose.DOWNLOAD.value)
    candidates = {
        "tampered signature": body + "." + signature[:-5] + flipped + signature[-4:],
        "tampered payload": token.replace(token[:8], token[:7] + ("x" if token[7] != "x" else "y")),
        "another purpose (session salt)": runtime.signer.sign(TokenPurpose.SESSION, payload),
        "a session bearer token": tokens["BILLING"],
        "another secret": forged_body.dumps({**payload, "d": uuid.UUID(other_invoice["id"]).hex}),
        "garbage": "not-a-token",
    }
    for name, candidate in candidates.items():
        response = await client.get(f"/downloads/{candidate}")
        assert response.status_code == 404, name
        assert response.json() == NOT_FOUND, name
    # the genuine link still works
    assert (await client.get(path_of(url))).status_code == 200


async def test_a_link_cannot_cross_accounts(gql, client, runtime, tenant, make_tenant):
    # given an invoice of account A's client and one of account B's
    portal, _ = await portal_client(gql, runtime, tenant, "Acme Corp")
    own = await sent_invoice(gql, tenant.admin, portal["id"])
    other = await make_tenant("other")
    other_portal, _ = await portal_client(gql, runtime, other, "Beta Corp")
    foreign = await sent_invoice(gql, other.admin, other_portal["id"])
    # when a link of A's staff session is made to name B's invoice (or B's account)
    payload = payload_of(runtime, await pdf_url_of(gql, tenant.admin, own["id"]))
    foreign_id = uuid.UUID(foreign["id"]).hex
    other_account = other.account_id.hex
    for changed in (
        {"d": foreign_id},
        {"d": foreign_id, "a": other_account},
        {"a": other_account},
    ):
        forged = runtime.signer.sign(TokenPurpose.DOWNLOAD, {**payload, **changed})
        response = await client.get(f"/downloads/{forged}")
        # then nothing of B's is served
        assert response.status_code == 404, changed
        assert response.json() == NOT_FOUND


async def test_signing_out_ends_the_sessions_links(gql, client, runtime, tenant):
    portal, tokens = await portal_client(gql, runtime, tenant, "Acme Corp")
    invoice = await sent_invoice(gql, tenant.admin, portal["id"])
    url = await pdf_url_of(gql, tokens["BILLING"], invoice["id"])
    assert (await client.get(path_of(url))).status_code == 200
    assert (await gql.data(SIGN_OUT, token=tokens["BILLING"]))["signOut"] is True
    response = await client.get(path_of(url))
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


async def test_a_holder_without_the_permission_gets_nothing(gql, client, runtime, tenant):
    # given a collaborator (no money: no invoices, no statements in its schema)
    portal, tokens = await portal_client(
        gql, runtime, tenant, "Acme Corp", roles=("BILLING", "COLLABORATOR")
    )
    invoice = await sent_invoice(gql, tenant.admin, portal["id"])
    body = await gql(INVOICE, {"id": invoice["id"]}, token=tokens["COLLABORATOR"])
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    # when a download link is signed for its session anyway
    async with runtime.sessions() as session:
        collaborator = await sessions.authenticate(
            session=session,
            signer=runtime.signer,
            token=tokens["COLLABORATOR"],
            max_age_seconds=3600,
        )
    for kind, document_id in (
        (DownloadKind.INVOICE, uuid.UUID(invoice["id"])),
        (DownloadKind.QUOTE, uuid.UUID(invoice["id"])),
    ):
        url = download_url(
            signer=runtime.signer,
            settings=runtime.settings,
            principal=collaborator,
            kind=kind,
            document_id=document_id,
        )
        # then the download refuses it like any unknown link
        response = await client.get(path_of(url))
        assert response.status_code == 404
        assert response.json() == NOT_FOUND
