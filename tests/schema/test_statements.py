"""The `statement` query: contacts get their own client's, staff and partners name one;
amounts shown at the currency's precision; who may not read statements has no field."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from models.clients import Contact
from models.enums import StaffRole
from services.portal.sessions import start_contact_session

TODAY = datetime.now(UTC).date()
START = TODAY - timedelta(days=60)

CREATE_CLIENT = """
mutation($input: ClientInput!) { createClient(input: $input) { id contacts { id role } } }
"""
CREATE_INVOICE = "mutation($input: InvoiceInput!) { createInvoice(input: $input) { id } }"
SEND_INVOICE = "mutation($id: ID!) { sendInvoice(id: $id) { id number } }"
RECORD_PAYMENT = "mutation($input: RecordPaymentInput!) { recordPayment(input: $input) { id } }"
CREATE_API_TOKEN = """
mutation($scopes: [String!]!) { createApiToken(name: "Books", scopes: $scopes) { token } }
"""
STATEMENT = """
query($from: Date!, $to: Date!, $status: StatementStatus, $clientId: ID, $currency: String) {
  statement(from: $from, to: $to, status: $status, clientId: $clientId, currency: $currency) {
    from to status currency currencies
    openingBalance invoiced received closingBalance
    client { id name }
    entries { date kind number description amount balance dueDate documentId }
    aging { current days1To30 days31To60 days61To90 over90 total }
    pdfUrl
  }
}
"""

BARE_STATEMENT = '{ statement(from: "2024-01-01", to: "2024-01-31") { closingBalance } }'


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


async def sent_invoice(gql, token, client_id, amount, issued, due=None, currency=None):
    fields = {"clientId": client_id, "issueDate": issued.isoformat()}
    if due:
        fields["dueDate"] = due.isoformat()
    if currency:
        fields["currency"] = currency
    fields["lines"] = [{"description": "Work", "quantity": "1", "unitPrice": amount}]
    created = (await gql.data(CREATE_INVOICE, {"input": fields}, token=token))["createInvoice"]
    return (await gql.data(SEND_INVOICE, {"id": created["id"]}, token=token))["sendInvoice"]


async def statement(gql, token, **variables):
    variables = {"from": START.isoformat(), "to": TODAY.isoformat(), **variables}
    return await gql(STATEMENT, variables, token=token)


def code_of(body):
    assert body.get("data") is None, body
    return body["errors"][0]["extensions"]["code"]


async def test_contact_reads_its_statement_with_formatted_amounts(gql, runtime, tenant):
    # given a client with two invoices, one partly paid, and a draft
    client, tokens = await portal_client(gql, runtime, tenant, "Acme Corp")
    late = await sent_invoice(
        gql,
        tenant.admin,
        client["id"],
        "1234.5",
        START + timedelta(days=1),
        START + timedelta(days=5),
    )
    await sent_invoice(gql, tenant.admin, client["id"], "99.99", TODAY, TODAY + timedelta(days=30))
    await gql.data(
        RECORD_PAYMENT,
        {
            "input": {
                "clientId": client["id"],
                "amount": "200",
                "method": "BANK_TRANSFER",
                "receivedOn": (START + timedelta(days=10)).isoformat(),
                "allocations": [{"invoiceId": late["id"], "amount": "200"}],
            }
        },
        token=tenant.admin,
    )
    await gql.data(
        CREATE_INVOICE,
        {
            "input": {
                "clientId": client["id"],
                "lines": [{"description": "Draft", "quantity": "1", "unitPrice": "5"}],
            }
        },
        token=tenant.admin,
    )
    # when the billing contact asks for its statement (no client id)
    body = await statement(gql, tokens["BILLING"])
    # then it is its client's, amounts at two decimals
    assert "errors" not in body, body
    result = body["data"]["statement"]
    assert result["client"] == {"id": client["id"], "name": "Acme Corp"}
    assert (result["from"], result["to"], result["status"]) == (
        START.isoformat(),
        TODAY.isoformat(),
        "ALL",
    )
    assert (result["currency"], result["currencies"]) == ("USD", ["USD"])
    assert (
        result["openingBalance"],
        result["invoiced"],
        result["received"],
        result["closingBalance"],
    ) == ("0.00", "1334.49", "200.00", "1134.49")
    assert [(e["kind"], e["amount"], e["balance"]) for e in result["entries"]] == [
        ("INVOICE", "1234.50", "1234.50"),
        ("PAYMENT", "-200.00", "1034.50"),
        ("INVOICE", "99.99", "1134.49"),
    ]
    assert result["entries"][0]["number"] == late["number"]
    assert result["entries"][0]["documentId"] == late["id"]
    assert result["entries"][0]["dueDate"] == (START + timedelta(days=5)).isoformat()
    assert result["aging"] == {
        "current": "99.99",
        "days1To30": "0.00",
        "days31To60": "1034.50",  # due 55 days ago
        "days61To90": "0.00",
        "over90": "0.00",
        "total": "1134.49",
    }
    assert result["pdfUrl"].startswith("http://portal.test/downloads/")
    # and with the PAID filter no invoice is listed (none is paid in full), the payment is
    paid = (await statement(gql, tokens["BILLING"], status="PAID"))["data"]["statement"]
    assert [e["kind"] for e in paid["entries"]] == ["PAYMENT"]
    assert paid["closingBalance"] == "1134.49"
    unpaid = (await statement(gql, tokens["BILLING"], status="UNPAID"))["data"]["statement"]
    assert [e["kind"] for e in unpaid["entries"]] == ["INVOICE", "PAYMENT", "INVOICE"]


async def test_contact_cannot_read_another_clients_statement(gql, runtime, tenant):
    client, tokens = await portal_client(gql, runtime, tenant, "Acme Corp")
    other, _ = await portal_client(gql, runtime, tenant, "Other Ltd")
    await sent_invoice(gql, tenant.admin, other["id"], "500", TODAY)
    # naming its own client works
    own = await statement(gql, tokens["BILLING"], clientId=client["id"])
    assert own["data"]["statement"]["client"]["id"] == client["id"]
    # another client's id answers NOT_FOUND, as an id that does not exist
    assert code_of(await statement(gql, tokens["BILLING"], clientId=other["id"])) == "NOT_FOUND"
    assert (
        code_of(await statement(gql, tokens["BILLING"], clientId=str(uuid.uuid4()))) == "NOT_FOUND"
    )


async def test_viewer_contact_reads_collaborator_has_no_statement_field(gql, runtime, tenant):
    _, tokens = await portal_client(
        gql, runtime, tenant, "Acme Corp", roles=("VIEWER", "COLLABORATOR")
    )
    viewer = await statement(gql, tokens["VIEWER"])
    assert viewer["data"]["statement"]["closingBalance"] == "0.00"
    collaborator = await gql(BARE_STATEMENT, token=tokens["COLLABORATOR"])
    assert collaborator["errors"][0]["message"] == (
        "Cannot query field 'statement' on type 'Query'."
    )
    assert collaborator["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_staff_member_has_no_statement_field(gql, tenant):
    body = await gql(BARE_STATEMENT, token=tenant.tokens[StaffRole.MEMBER])
    assert body["errors"][0]["message"] == "Cannot query field 'statement' on type 'Query'."
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_staff_and_partners_name_the_client(gql, runtime, tenant, make_tenant):
    client, _ = await portal_client(gql, runtime, tenant, "Acme Corp")
    await sent_invoice(gql, tenant.admin, client["id"], "70", TODAY, currency="EUR")
    # staff without a client id: BAD_USER_INPUT on clientId
    body = await statement(gql, tenant.admin)
    assert code_of(body) == "BAD_USER_INPUT"
    assert body["errors"][0]["extensions"]["field"] == "clientId"
    # with one: the client's currency by default, another on request
    usd = (await statement(gql, tenant.admin, clientId=client["id"]))["data"]["statement"]
    assert (usd["currency"], usd["currencies"], usd["closingBalance"]) == (
        "USD",
        ["EUR", "USD"],
        "0.00",
    )
    eur = await statement(gql, tenant.admin, clientId=client["id"], currency="EUR")
    assert eur["data"]["statement"]["closingBalance"] == "70.00"
    # a partner token with statements:read
    partner = (
        await gql.data(CREATE_API_TOKEN, {"scopes": ["statements:read"]}, token=tenant.admin)
    )["createApiToken"]["token"]
    body = await statement(gql, partner, clientId=client["id"], currency="EUR")
    assert body["data"]["statement"]["closingBalance"] == "70.00"
    # another account's staff: NOT_FOUND
    stranger = await make_tenant("stranger")
    assert code_of(await statement(gql, stranger.admin, clientId=client["id"])) == "NOT_FOUND"


async def test_period_validation(gql, runtime, tenant):
    _, tokens = await portal_client(gql, runtime, tenant, "Acme Corp")
    backwards = await statement(
        gql, tokens["BILLING"], **{"from": TODAY.isoformat(), "to": START.isoformat()}
    )
    assert code_of(backwards) == "BAD_USER_INPUT"
    assert backwards["errors"][0]["extensions"]["field"] == "from"
    too_long = await statement(
        gql, tokens["BILLING"], **{"from": (TODAY - timedelta(days=6 * 365)).isoformat()}
    )
    assert code_of(too_long) == "BAD_USER_INPUT"
    assert too_long["errors"][0]["extensions"]["field"] == "to"
