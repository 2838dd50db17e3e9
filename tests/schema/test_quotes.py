"""Quotes (estimates and proposals) through the staff API."""

import uuid
from datetime import UTC, datetime, timedelta

CREATE_CLIENT = "mutation($input: ClientInput!) { createClient(input: $input) { id } }"
QUOTE_FIELDS = """
fragment QuoteFields on Quote {
  id kind number status currency title issueDate validUntil isExpired sentAt privateNotes
  subtotal discountTotal taxTotal total
  client { id }
  lines { position description unitPrice subtotal discount tax total }
}
"""
CREATE_QUOTE = (
    "mutation($input: QuoteInput!) { createQuote(input: $input) { ...QuoteFields } }" + QUOTE_FIELDS
)
SEND_QUOTE = "mutation($id: ID!) { sendQuote(id: $id) { ...QuoteFields } }" + QUOTE_FIELDS
QUOTE = "query($id: ID!) { quote(id: $id) { ...QuoteFields } }" + QUOTE_FIELDS
QUOTES = """
query($first: Int, $after: String, $clientId: ID, $status: [QuoteStatus!], $kind: QuoteKind) {
  quotes(first: $first, after: $after, clientId: $clientId, status: $status, kind: $kind) {
    totalCount
    edges { node { id kind status } }
  }
}
"""
CREATE_INVOICE = "mutation($input: InvoiceInput!) { createInvoice(input: $input) { id } }"
SEND_INVOICE = "mutation($id: ID!) { sendInvoice(id: $id) { number } }"

TODAY = datetime.now(UTC).date()


def line(description="Website redesign", quantity="1", unit_price="1500.00", **extra):
    return {"description": description, "quantity": quantity, "unitPrice": unit_price, **extra}


async def create_client(gql, token, **fields):
    data = await gql.data(CREATE_CLIENT, {"input": {"name": "Acme Corp", **fields}}, token=token)
    return data["createClient"]


async def create_quote(gql, token, client_id, **fields):
    fields.setdefault("lines", [line()])
    data = await gql.data(CREATE_QUOTE, {"input": {"clientId": client_id, **fields}}, token=token)
    return data["createQuote"]


async def quote_count(gql, token, **filters):
    return (await gql.data(QUOTES, filters, token=token))["quotes"]["totalCount"]


def error_of(body):
    assert body.get("data") is None, body
    return body["errors"][0]["extensions"]


async def test_create_a_proposal_with_exact_totals(gql, tenant):
    # given a client
    client = await create_client(gql, tenant.admin)
    # when a proposal is created with two lines
    quote = await create_quote(
        gql,
        tenant.admin,
        client["id"],
        kind="PROPOSAL",
        title="New website",
        validUntil=(TODAY + timedelta(days=30)).isoformat(),
        privateNotes="Margin is thin",
        lines=[
            line(
                "Widgets",
                quantity="3",
                unit_price="19.99",
                discountPercent="10",
                taxRate="8.875",
            ),
            line("Hours", quantity="2.5", unit_price="10.01"),
        ],
    )
    # then the server computes every amount, rounded half up per line
    assert [
        (item["position"], item["subtotal"], item["discount"], item["tax"], item["total"])
        for item in quote["lines"]
    ] == [
        (0, "59.97", "6.00", "4.79", "58.76"),
        (1, "25.03", "0.00", "0.00", "25.03"),
    ]
    assert (quote["subtotal"], quote["discountTotal"], quote["taxTotal"], quote["total"]) == (
        "85.00",
        "6.00",
        "4.79",
        "83.79",
    )
    # and it is an unnumbered draft proposal, issued today
    assert quote["kind"] == "PROPOSAL"
    assert quote["status"] == "DRAFT"
    assert quote["number"] is None
    assert quote["currency"] == "USD"
    assert quote["title"] == "New website"
    assert quote["issueDate"] == TODAY.isoformat()
    assert quote["isExpired"] is False
    assert quote["privateNotes"] == "Margin is thin"
    assert quote["client"] == {"id": client["id"]}
    # and reading it back shows the same
    again = (await gql.data(QUOTE, {"id": quote["id"]}, token=tenant.admin))["quote"]
    assert again == quote


async def test_a_quote_is_an_estimate_by_default(gql, tenant):
    client = await create_client(gql, tenant.admin)
    quote = await create_quote(gql, tenant.admin, client["id"])
    assert quote["kind"] == "ESTIMATE"


async def test_send_numbers_quotes_apart_from_invoices(gql, tenant):
    # given two draft quotes
    client = await create_client(gql, tenant.admin)
    first = await create_quote(gql, tenant.admin, client["id"])
    second = await create_quote(gql, tenant.admin, client["id"], kind="PROPOSAL")
    # when they are sent
    sent_first = (await gql.data(SEND_QUOTE, {"id": first["id"]}, token=tenant.admin))["sendQuote"]
    sent_second = (await gql.data(SEND_QUOTE, {"id": second["id"]}, token=tenant.admin))[
        "sendQuote"
    ]
    # then they are numbered in send order and marked sent
    assert (sent_first["number"], sent_first["status"]) == ("Q-0001", "SENT")
    assert sent_first["sentAt"]
    assert (sent_second["number"], sent_second["status"]) == ("Q-0002", "SENT")
    # and sending again keeps the number
    resent = (await gql.data(SEND_QUOTE, {"id": first["id"]}, token=tenant.admin))["sendQuote"]
    assert (resent["number"], resent["status"]) == ("Q-0001", "SENT")
    # and invoices keep their own sequence
    invoice = (
        await gql.data(
            CREATE_INVOICE,
            {"input": {"clientId": client["id"], "lines": [line()]}},
            token=tenant.admin,
        )
    )["createInvoice"]
    sent_invoice = await gql.data(SEND_INVOICE, {"id": invoice["id"]}, token=tenant.admin)
    assert sent_invoice["sendInvoice"]["number"] == "INV-0001"


async def test_valid_until_before_the_issue_date_is_refused(gql, tenant):
    client = await create_client(gql, tenant.admin)
    # with an explicit issue date
    body = await gql(
        CREATE_QUOTE,
        {
            "input": {
                "clientId": client["id"],
                "issueDate": TODAY.isoformat(),
                "validUntil": (TODAY - timedelta(days=1)).isoformat(),
                "lines": [line()],
            }
        },
        token=tenant.admin,
    )
    assert error_of(body) == {"code": "BAD_USER_INPUT", "field": "validUntil"}
    # and with the default issue date (today)
    body = await gql(
        CREATE_QUOTE,
        {
            "input": {
                "clientId": client["id"],
                "validUntil": (TODAY - timedelta(days=1)).isoformat(),
                "lines": [line()],
            }
        },
        token=tenant.admin,
    )
    assert error_of(body) == {"code": "BAD_USER_INPUT", "field": "validUntil"}
    # and nothing was written
    assert await quote_count(gql, tenant.admin) == 0


async def test_a_bad_line_is_refused_and_leaves_no_quote(gql, tenant):
    client = await create_client(gql, tenant.admin)
    body = await gql(
        CREATE_QUOTE,
        {"input": {"clientId": client["id"], "lines": [line(), line(unit_price="10.001")]}},
        token=tenant.admin,
    )
    assert error_of(body) == {"code": "BAD_USER_INPUT", "field": "lines.1.unitPrice"}
    assert await quote_count(gql, tenant.admin) == 0


async def test_an_expired_quote_cannot_be_sent(gql, tenant):
    # given a quote issued a month ago that was valid until five days ago
    client = await create_client(gql, tenant.admin)
    quote = await create_quote(
        gql,
        tenant.admin,
        client["id"],
        issueDate=(TODAY - timedelta(days=30)).isoformat(),
        validUntil=(TODAY - timedelta(days=5)).isoformat(),
    )
    assert quote["isExpired"] is True
    # when it is sent
    body = await gql(SEND_QUOTE, {"id": quote["id"]}, token=tenant.admin)
    # then it is refused and stays an unnumbered draft
    assert error_of(body) == {"code": "CONFLICT"}
    again = (await gql.data(QUOTE, {"id": quote["id"]}, token=tenant.admin))["quote"]
    assert (again["status"], again["number"], again["sentAt"]) == ("DRAFT", None, None)
    # and no number was used up
    fresh = await create_quote(gql, tenant.admin, client["id"])
    sent = (await gql.data(SEND_QUOTE, {"id": fresh["id"]}, token=tenant.admin))["sendQuote"]
    assert sent["number"] == "Q-0001"


async def test_a_zero_total_quote_cannot_be_sent(gql, tenant):
    client = await create_client(gql, tenant.admin)
    quote = await create_quote(gql, tenant.admin, client["id"], lines=[])
    assert quote["total"] == "0.00"
    body = await gql(SEND_QUOTE, {"id": quote["id"]}, token=tenant.admin)
    assert error_of(body) == {"code": "CONFLICT"}


async def test_another_accounts_quote_answers_not_found(gql, tenant, make_tenant):
    # given a client and a quote of another account
    other = await make_tenant("globex")
    foreign_client = await create_client(gql, other.admin)
    foreign = await create_quote(gql, other.admin, foreign_client["id"])
    # when this account's admin reads or sends the quote
    for document in (QUOTE, SEND_QUOTE):
        body = await gql(document, {"id": foreign["id"]}, token=tenant.admin)
        # then it looks exactly like an unknown quote
        assert error_of(body) == {"code": "NOT_FOUND"}
        unknown = await gql(document, {"id": str(uuid.uuid4())}, token=tenant.admin)
        assert body["errors"][0]["message"] == unknown["errors"][0]["message"]
    # and quoting the other account's client looks like an unknown client
    body = await gql(
        CREATE_QUOTE,
        {"input": {"clientId": foreign_client["id"], "lines": [line()]}},
        token=tenant.admin,
    )
    assert error_of(body) == {"code": "NOT_FOUND"}
    # and nothing leaked or changed
    assert await quote_count(gql, tenant.admin) == 0
    unchanged = (await gql.data(QUOTE, {"id": foreign["id"]}, token=other.admin))["quote"]
    assert (unchanged["status"], unchanged["number"]) == ("DRAFT", None)


async def test_list_filters_by_kind_and_status(gql, tenant):
    # given a draft estimate, a draft proposal and a sent proposal
    client = await create_client(gql, tenant.admin)
    estimate = await create_quote(gql, tenant.admin, client["id"], kind="ESTIMATE")
    draft_proposal = await create_quote(gql, tenant.admin, client["id"], kind="PROPOSAL")
    sent_proposal = await create_quote(gql, tenant.admin, client["id"], kind="PROPOSAL")
    await gql.data(SEND_QUOTE, {"id": sent_proposal["id"]}, token=tenant.admin)

    async def ids(**filters):
        page = (await gql.data(QUOTES, filters, token=tenant.admin))["quotes"]
        assert page["totalCount"] == len(page["edges"])
        return [edge["node"]["id"] for edge in page["edges"]]

    # then each filter narrows the list (newest first)
    assert await ids() == [sent_proposal["id"], draft_proposal["id"], estimate["id"]]
    assert await ids(kind="PROPOSAL") == [sent_proposal["id"], draft_proposal["id"]]
    assert await ids(kind="ESTIMATE") == [estimate["id"]]
    assert await ids(status=["SENT"]) == [sent_proposal["id"]]
    assert await ids(status=["DRAFT"]) == [draft_proposal["id"], estimate["id"]]
    assert await ids(kind="PROPOSAL", status=["DRAFT"]) == [draft_proposal["id"]]
    assert await ids(kind="ESTIMATE", status=["SENT", "APPROVED"]) == []
    assert await ids(clientId=client["id"], kind="ESTIMATE") == [estimate["id"]]
