"""Quotes (estimates and proposals) through the staff API."""

import uuid
from datetime import UTC, datetime, timedelta

from models.accounts import Account
from models.clients import Contact
from models.enums import StaffRole
from models.quotes import Quote
from services.portal.sessions import start_contact_session

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


# --- the client's answer: approve, decline, viewed ------------------------------------

CREATE_CLIENT_WITH_CONTACTS = """
mutation($input: ClientInput!) { createClient(input: $input) { id contacts { id email role } } }
"""
VIEW_AS = "mutation($id: ID!) { viewAsContact(contactId: $id) { token } }"
ANSWER_FIELDS = """
fragment AnswerFields on Quote {
  id number status isExpired poNumber viewedAt approvedAt declinedAt declineReason
  termsAcceptedAt signatureName signatureAt total
  convertedInvoice { id number }
}
"""
APPROVE_QUOTE = (
    """
mutation($id: ID!, $input: QuoteApprovalInput) {
  approveQuote(id: $id, input: $input) {
    quote { ...AnswerFields }
    invoice {
      id number status currency poNumber subtotal discountTotal taxTotal total amountDue
      client { id }
      lines { position description unitPrice subtotal discount tax total }
    }
  }
}
"""
    + ANSWER_FIELDS
)
APPROVE_BARE = "mutation($id: ID!) { approveQuote(id: $id) { quote { id status } } }"
DECLINE_QUOTE = (
    "mutation($id: ID!, $reason: String) {"
    " declineQuote(id: $id, reason: $reason) { ...AnswerFields } }" + ANSWER_FIELDS
)
MARK_VIEWED = "mutation($id: ID!) { markQuoteViewed(id: $id) { ...AnswerFields } }" + ANSWER_FIELDS
CONTACT_QUOTE = "query($id: ID!) { quote(id: $id) { ...AnswerFields } }" + ANSWER_FIELDS
STAFF_QUOTE = "query($id: ID!) { quote(id: $id) { ...AnswerFields signatureIp } }" + ANSWER_FIELDS
INVOICE_LIST = "{ invoices { totalCount edges { node { id number status } } } }"
CLIENT_ADDRESS = "203.0.113.7"  # the address the test transport connects from


async def contact_token(runtime, contact_id):
    """A portal session token for the contact, as its magic link would give."""
    async with runtime.sessions() as session:
        contact = await session.get(Contact, uuid.UUID(contact_id))
        token = await start_contact_session(
            session=session, signer=runtime.signer, contact=contact, ttl=runtime.session_ttl
        )
        await session.commit()
    return token


async def portal_client(gql, runtime, tenant, name="Acme Corp", roles=("BILLING",)):
    """A client with one contact per role; returns the client and a token per role."""
    slug = name.split()[0].lower()
    contacts = [{"email": f"{role.lower()}@{slug}.test", "role": role} for role in roles]
    client = (
        await gql.data(
            CREATE_CLIENT_WITH_CONTACTS,
            {"input": {"name": name, "contacts": contacts}},
            token=tenant.admin,
        )
    )["createClient"]
    tokens = {}
    for contact in client["contacts"]:
        tokens[contact["role"]] = await contact_token(runtime, contact["id"])
        tokens[contact["role"] + "_ID"] = contact["id"]
    return client, tokens


async def sent_quote(gql, tenant, client_id, **fields):
    quote = await create_quote(gql, tenant.admin, client_id, **fields)
    await gql.data(SEND_QUOTE, {"id": quote["id"]}, token=tenant.admin)
    return quote


async def set_account(runtime, tenant, **settings):
    async with runtime.sessions() as session:
        account = await session.get(Account, tenant.account_id)
        for name, value in settings.items():
            setattr(account, name, value)
        await session.commit()


async def staff_quote(gql, tenant, quote_id):
    return (await gql.data(STAFF_QUOTE, {"id": quote_id}, token=tenant.admin))["quote"]


async def approve(gql, token, quote_id, **given):
    return await gql(APPROVE_QUOTE, {"id": quote_id, "input": given or None}, token=token)


async def test_a_billing_contact_approves_and_gets_the_invoice_to_pay(gql, runtime, tenant):
    # given a sent proposal of two lines for a client with a billing contact
    client, tokens = await portal_client(gql, runtime, tenant)
    quote = await sent_quote(
        gql,
        tenant,
        client["id"],
        kind="PROPOSAL",
        validUntil=(TODAY + timedelta(days=10)).isoformat(),
        lines=[
            line("Design", quantity="2", unit_price="1200.00", discountPercent="10"),
            line("Hosting", quantity="1", unit_price="480.00", taxRate="8.875", taxName="NY"),
        ],
    )
    staff_view = await gql.data(QUOTE, {"id": quote["id"]}, token=tenant.admin)
    quote_lines = staff_view["quote"]["lines"]
    # when the billing contact approves it, signing with a PO number
    body = await approve(
        gql,
        tokens["BILLING"],
        quote["id"],
        acceptTerms=True,
        poNumber="  PO-7781 ",
        signatureName=" Jane Doe ",
    )
    assert "errors" not in body, body
    result = body["data"]["approveQuote"]
    # then the quote is converted, with what the client agreed to
    approved = result["quote"]
    assert approved["status"] == "CONVERTED"
    assert approved["poNumber"] == "PO-7781"
    assert approved["signatureName"] == "Jane Doe"
    signed_at = datetime.fromisoformat(approved["signatureAt"])
    assert abs(datetime.now(UTC) - signed_at) < timedelta(minutes=1)
    assert approved["approvedAt"] == approved["termsAcceptedAt"] == approved["signatureAt"]
    assert approved["viewedAt"] == approved["approvedAt"]  # approving is seeing it
    # and the invoice is sent, numbered, and asks for exactly what the quote was for
    invoice = result["invoice"]
    assert (invoice["status"], invoice["number"]) == ("SENT", "INV-0001")
    assert invoice["client"] == {"id": client["id"]}
    assert (invoice["currency"], invoice["poNumber"]) == ("USD", "PO-7781")
    assert invoice["lines"] == [
        {key: item[key] for key in invoice["lines"][0]} for item in quote_lines
    ]
    assert (
        invoice["subtotal"],
        invoice["discountTotal"],
        invoice["taxTotal"],
        invoice["total"],
    ) == ("2880.00", "240.00", "42.60", "2682.60")
    assert invoice["total"] == approved["total"] == invoice["amountDue"]
    assert approved["convertedInvoice"] == {"id": invoice["id"], "number": "INV-0001"}
    # and staff see the signature's address, which the client's schema does not offer
    seen = await staff_quote(gql, tenant, quote["id"])
    assert seen["signatureIp"] == CLIENT_ADDRESS
    assert seen["convertedInvoice"] == {"id": invoice["id"], "number": "INV-0001"}
    hidden = await gql(
        "query($id: ID!) { quote(id: $id) { signatureIp } }",
        {"id": quote["id"]},
        token=tokens["BILLING"],
    )
    assert "Cannot query field 'signatureIp'" in hidden["errors"][0]["message"]
    # and the client finds the invoice among its own
    invoices = (await gql.data(INVOICE_LIST, token=tokens["BILLING"]))["invoices"]
    assert invoices["totalCount"] == 1
    assert invoices["edges"][0]["node"] == {
        "id": invoice["id"],
        "number": "INV-0001",
        "status": "SENT",
    }


async def test_approving_twice_answers_the_same_invoice(gql, runtime, tenant):
    client, tokens = await portal_client(gql, runtime, tenant)
    quote = await sent_quote(gql, tenant, client["id"])
    first = await approve(gql, tokens["BILLING"], quote["id"], poNumber="PO-1")
    # when the contact approves again (a double click), with other details
    second = await approve(gql, tokens["BILLING"], quote["id"], poNumber="PO-2")
    # then the same invoice comes back and nothing changed
    assert first["data"]["approveQuote"]["invoice"]["id"]
    assert second["data"] == first["data"]
    assert second["data"]["approveQuote"]["quote"]["poNumber"] == "PO-1"
    assert (await gql.data(INVOICE_LIST, token=tenant.admin))["invoices"]["totalCount"] == 1


async def test_without_conversion_an_approved_quote_stays_approved(gql, runtime, tenant):
    await set_account(runtime, tenant, convert_quote_on_approval=False)
    client, tokens = await portal_client(gql, runtime, tenant)
    quote = await sent_quote(gql, tenant, client["id"])
    # when the contact approves without giving anything
    body = await gql(APPROVE_QUOTE, {"id": quote["id"]}, token=tokens["BILLING"])
    # then the quote is approved, no invoice is made, and nothing was signed
    result = body["data"]["approveQuote"]
    assert result["invoice"] is None
    assert result["quote"]["status"] == "APPROVED"
    assert result["quote"]["convertedInvoice"] is None
    assert result["quote"]["signatureName"] is None
    assert result["quote"]["termsAcceptedAt"] is None
    assert (await staff_quote(gql, tenant, quote["id"]))["signatureIp"] is None
    assert (await gql.data(INVOICE_LIST, token=tenant.admin))["invoices"]["totalCount"] == 0


async def test_each_required_part_of_an_approval_is_asked_for(gql, runtime, tenant):
    # given an account that wants terms accepted, a PO number and a signature
    await set_account(
        runtime,
        tenant,
        quote_requires_terms=True,
        quote_requires_po_number=True,
        quote_requires_signature=True,
    )
    client, tokens = await portal_client(gql, runtime, tenant)
    quote = await sent_quote(gql, tenant, client["id"])
    attempts = [
        ({}, "acceptTerms"),
        ({"acceptTerms": False, "poNumber": "PO-1", "signatureName": "Jane"}, "acceptTerms"),
        ({"acceptTerms": True, "signatureName": "Jane"}, "poNumber"),
        ({"acceptTerms": True, "poNumber": "   ", "signatureName": "Jane"}, "poNumber"),
        ({"acceptTerms": True, "poNumber": "PO-1"}, "signatureName"),
        ({"acceptTerms": True, "poNumber": "PO-1", "signatureName": "  "}, "signatureName"),
        ({"acceptTerms": True, "poNumber": "P" * 101, "signatureName": "Jane"}, "poNumber"),
        ({"acceptTerms": True, "poNumber": "PO-1", "signatureName": "J" * 201}, "signatureName"),
    ]
    for given, field in attempts:
        # when a part is missing or too long
        body = await approve(gql, tokens["BILLING"], quote["id"], **given)
        # then the contact is told which one, and the quote is untouched
        assert error_of(body) == {"code": "BAD_USER_INPUT", "field": field}, given
    body = await gql(APPROVE_BARE, {"id": quote["id"]}, token=tokens["BILLING"])
    assert error_of(body) == {"code": "BAD_USER_INPUT", "field": "acceptTerms"}
    untouched = await staff_quote(gql, tenant, quote["id"])
    assert untouched["status"] == "SENT"
    assert (untouched["poNumber"], untouched["signatureName"], untouched["approvedAt"]) == (
        None,
        None,
        None,
    )
    assert (await gql.data(INVOICE_LIST, token=tenant.admin))["invoices"]["totalCount"] == 0
    # and with every part the approval goes through
    body = await approve(
        gql,
        tokens["BILLING"],
        quote["id"],
        acceptTerms=True,
        poNumber="PO-1",
        signatureName="Jane Doe",
    )
    assert body["data"]["approveQuote"]["quote"]["status"] == "CONVERTED"
    assert body["data"]["approveQuote"]["invoice"]["poNumber"] == "PO-1"


async def test_an_expired_quote_cannot_be_approved(gql, runtime, tenant):
    # given a sent quote whose valid-until date has passed
    client, tokens = await portal_client(gql, runtime, tenant)
    quote = await sent_quote(gql, tenant, client["id"], validUntil=TODAY.isoformat())
    async with runtime.sessions() as session:
        row = await session.get(Quote, uuid.UUID(quote["id"]))
        row.valid_until = TODAY - timedelta(days=2)
        await session.commit()
    # when the contact approves it
    body = await approve(gql, tokens["BILLING"], quote["id"], signatureName="Jane")
    # then it is refused, and the quote and the invoice sequence are untouched
    assert error_of(body) == {"code": "CONFLICT", "field": "validUntil"}
    assert "expired" in body["errors"][0]["message"]
    seen = await staff_quote(gql, tenant, quote["id"])
    assert (seen["status"], seen["approvedAt"], seen["signatureName"]) == ("SENT", None, None)
    assert (await gql.data(INVOICE_LIST, token=tenant.admin))["invoices"]["totalCount"] == 0


async def test_a_quote_valid_until_today_can_still_be_approved(gql, runtime, tenant):
    client, tokens = await portal_client(gql, runtime, tenant)
    # "today" is the account's date (UTC here); the last valid day is inclusive
    quote = await sent_quote(gql, tenant, client["id"], validUntil=TODAY.isoformat())
    body = await approve(gql, tokens["BILLING"], quote["id"])
    assert body["data"]["approveQuote"]["quote"]["status"] == "CONVERTED"


async def test_a_billing_contact_declines_with_a_reason(gql, runtime, tenant):
    client, tokens = await portal_client(gql, runtime, tenant)
    quote = await sent_quote(gql, tenant, client["id"])
    # when the contact declines, saying why
    declined = (
        await gql.data(
            DECLINE_QUOTE,
            {"id": quote["id"], "reason": "  Budget moved to next year. "},
            token=tokens["BILLING"],
        )
    )["declineQuote"]
    # then the quote is declined with the trimmed reason
    assert declined["status"] == "DECLINED"
    assert declined["declineReason"] == "Budget moved to next year."
    assert declined["declinedAt"]
    assert declined["approvedAt"] is None
    # and declining again changes nothing
    again = (
        await gql.data(
            DECLINE_QUOTE, {"id": quote["id"], "reason": "Other"}, token=tokens["BILLING"]
        )
    )["declineQuote"]
    assert again == declined
    # and it can no longer be approved
    body = await approve(gql, tokens["BILLING"], quote["id"])
    assert error_of(body) == {"code": "CONFLICT"}
    assert body["errors"][0]["message"] == (
        "This quote is declined; only a sent quote can be approved."
    )
    assert (await gql.data(INVOICE_LIST, token=tenant.admin))["invoices"]["totalCount"] == 0


async def test_a_decline_reason_is_optional_but_bounded(gql, runtime, tenant):
    client, tokens = await portal_client(gql, runtime, tenant)
    first = await sent_quote(gql, tenant, client["id"])
    second = await sent_quote(gql, tenant, client["id"])
    body = await gql(
        DECLINE_QUOTE, {"id": first["id"], "reason": "x" * 2001}, token=tokens["BILLING"]
    )
    assert error_of(body) == {"code": "BAD_USER_INPUT", "field": "reason"}
    assert (await staff_quote(gql, tenant, first["id"]))["status"] == "SENT"
    for reason in (None, "   "):
        declined = (
            await gql.data(
                DECLINE_QUOTE,
                {"id": second["id"] if reason else first["id"], "reason": reason},
                token=tokens["BILLING"],
            )
        )["declineQuote"]
        assert (declined["status"], declined["declineReason"]) == ("DECLINED", None)


async def test_an_approved_quote_cannot_be_declined(gql, runtime, tenant):
    client, tokens = await portal_client(gql, runtime, tenant)
    quote = await sent_quote(gql, tenant, client["id"])
    await approve(gql, tokens["BILLING"], quote["id"])
    body = await gql(DECLINE_QUOTE, {"id": quote["id"]}, token=tokens["BILLING"])
    assert error_of(body) == {"code": "CONFLICT"}
    assert body["errors"][0]["message"] == (
        "This quote is converted; only a sent quote can be declined."
    )
    assert (await staff_quote(gql, tenant, quote["id"]))["status"] == "CONVERTED"


async def test_drafts_and_other_clients_quotes_answer_not_found(gql, runtime, tenant):
    # given a draft quote of the contact's client and a sent quote of another client
    client, tokens = await portal_client(gql, runtime, tenant)
    other, _ = await portal_client(gql, runtime, tenant, name="Globex Inc")
    draft = await create_quote(gql, tenant.admin, client["id"])
    foreign = await sent_quote(gql, tenant, other["id"])
    for quote in (draft, foreign):
        for document, variables in (
            (APPROVE_QUOTE, {"id": quote["id"]}),
            (DECLINE_QUOTE, {"id": quote["id"]}),
            (MARK_VIEWED, {"id": quote["id"]}),
        ):
            # when the contact acts on it
            body = await gql(document, variables, token=tokens["BILLING"])
            # then it looks exactly like a quote that does not exist
            assert error_of(body) == {"code": "NOT_FOUND"}
            unknown = await gql(document, {"id": str(uuid.uuid4())}, token=tokens["BILLING"])
            assert body["errors"][0]["message"] == unknown["errors"][0]["message"]
    # and neither quote changed
    assert (await staff_quote(gql, tenant, draft["id"]))["status"] == "DRAFT"
    unchanged = await staff_quote(gql, tenant, foreign["id"])
    assert (unchanged["status"], unchanged["viewedAt"]) == ("SENT", None)


async def test_only_billing_contacts_can_answer_a_quote(gql, runtime, tenant):
    # given a sent quote and every other kind of caller
    client, tokens = await portal_client(
        gql, runtime, tenant, roles=("BILLING", "COLLABORATOR", "VIEWER")
    )
    quote = await sent_quote(gql, tenant, client["id"])
    view_as = (await gql.data(VIEW_AS, {"id": tokens["BILLING_ID"]}, token=tenant.admin))[
        "viewAsContact"
    ]["token"]
    callers = {
        "staff admin": tenant.admin,
        "staff manager": tenant.tokens[StaffRole.MANAGER],
        "collaborator": tokens["COLLABORATOR"],
        "viewer": tokens["VIEWER"],
    }
    for who, token in callers.items():
        for document, name in ((APPROVE_BARE, "approveQuote"), (DECLINE_QUOTE, "declineQuote")):
            # when they try to approve or decline
            body = await gql(document, {"id": quote["id"]}, token=token)
            # then the mutation does not exist for them
            assert body.get("data") is None, who
            assert body["errors"][0]["message"] == (
                f"Cannot query field '{name}' on type 'Mutation'."
            ), who
    # and staff viewing the portal as the billing contact has no mutations at all
    for document in (APPROVE_BARE, DECLINE_QUOTE, MARK_VIEWED):
        body = await gql(document, {"id": quote["id"]}, token=view_as)
        assert body.get("data") is None
        assert body["errors"]
    # and the quote was neither answered nor viewed
    seen = await staff_quote(gql, tenant, quote["id"])
    assert (seen["status"], seen["viewedAt"], seen["approvedAt"]) == ("SENT", None, None)


async def test_a_contact_opening_a_quote_marks_it_viewed(gql, runtime, tenant):
    client, tokens = await portal_client(gql, runtime, tenant, roles=("BILLING", "VIEWER"))
    quote = await sent_quote(gql, tenant, client["id"])
    # when staff "open" it, nothing changes
    by_staff = (await gql.data(MARK_VIEWED, {"id": quote["id"]}, token=tenant.admin))[
        "markQuoteViewed"
    ]
    assert (by_staff["status"], by_staff["viewedAt"]) == ("SENT", None)
    # when a contact of the client (even a viewer) opens it, it is viewed
    viewed = (await gql.data(MARK_VIEWED, {"id": quote["id"]}, token=tokens["VIEWER"]))[
        "markQuoteViewed"
    ]
    assert viewed["status"] == "VIEWED"
    assert viewed["viewedAt"]
    # and opening it again keeps the first time
    again = (await gql.data(MARK_VIEWED, {"id": quote["id"]}, token=tokens["BILLING"]))[
        "markQuoteViewed"
    ]
    assert again == viewed
    # and a viewed quote can still be approved, keeping when it was first viewed
    result = (await approve(gql, tokens["BILLING"], quote["id"]))["data"]["approveQuote"]
    assert result["quote"]["status"] == "CONVERTED"
    assert result["quote"]["viewedAt"] == viewed["viewedAt"]
    # and viewing an answered quote leaves it as it is
    after = (await gql.data(MARK_VIEWED, {"id": quote["id"]}, token=tokens["BILLING"]))[
        "markQuoteViewed"
    ]
    assert after["status"] == "CONVERTED"


async def test_a_collaborator_cannot_mark_quotes_viewed(gql, runtime, tenant):
    client, tokens = await portal_client(gql, runtime, tenant, roles=("COLLABORATOR",))
    quote = await sent_quote(gql, tenant, client["id"])
    body = await gql(MARK_VIEWED, {"id": quote["id"]}, token=tokens["COLLABORATOR"])
    assert body.get("data") is None
    assert body["errors"][0]["message"] == (
        "Cannot query field 'markQuoteViewed' on type 'Mutation'."
    )
    assert (await staff_quote(gql, tenant, quote["id"]))["viewedAt"] is None


async def test_expiry_follows_the_business_time_zone(gql, runtime, tenant):
    client, tokens = await portal_client(gql, runtime, tenant)
    if datetime.now(UTC).hour >= 10:
        # given a quote valid through today (UTC) of a business at UTC+14, where today
        # is already over from 10:00 UTC on
        quote = await sent_quote(gql, tenant, client["id"], validUntil=TODAY.isoformat())
        await set_account(runtime, tenant, timezone="Pacific/Kiritimati")
        expired = True
    else:
        # given a quote valid through yesterday (UTC) of a business at UTC-12, where it
        # is still yesterday until 12:00 UTC
        await set_account(runtime, tenant, timezone="Etc/GMT+12")
        yesterday = (TODAY - timedelta(days=1)).isoformat()
        quote = await sent_quote(
            gql, tenant, client["id"], issueDate=yesterday, validUntil=yesterday
        )
        expired = False
    # when the client looks at it and approves it
    shown = (await gql.data(CONTACT_QUOTE, {"id": quote["id"]}, token=tokens["BILLING"]))["quote"]
    body = await approve(gql, tokens["BILLING"], quote["id"])
    # then the portal and the approval go by the business's date, and agree
    assert shown["isExpired"] is expired
    if expired:
        assert error_of(body) == {"code": "CONFLICT", "field": "validUntil"}
    else:
        assert body["data"]["approveQuote"]["quote"]["status"] == "CONVERTED"
