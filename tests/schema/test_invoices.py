"""Invoices through the API: drafts, exact totals, sending, viewing, paying, voiding,
editing after sending, deposits and lists, as staff and as the client's contacts."""

import uuid
from datetime import UTC, datetime, timedelta

from models.accounts import Account
from models.clients import Contact
from models.enums import StaffRole
from services.portal.sessions import start_contact_session

CREATE_CLIENT = "mutation($input: ClientInput!) { createClient(input: $input) { id currency } }"
INVOICE_FIELDS = """
fragment InvoiceFields on Invoice {
  id number status currency issueDate dueDate depositAmount privateNotes
  subtotal discountTotal taxTotal total amountPaid balance amountDue paidState isOverdue
  sentAt voidedAt paidAt
  client { id }
  lines { position description unitPrice subtotal discount tax total }
}
"""
CREATE_INVOICE = (
    "mutation($input: InvoiceInput!) { createInvoice(input: $input) { ...InvoiceFields } }"
    + INVOICE_FIELDS
)
UPDATE_INVOICE = (
    "mutation($id: ID!, $input: InvoiceInput!) {"
    " updateInvoice(id: $id, input: $input) { ...InvoiceFields } }" + INVOICE_FIELDS
)
SEND_INVOICE = "mutation($id: ID!) { sendInvoice(id: $id) { ...InvoiceFields } }" + INVOICE_FIELDS
VOID_INVOICE = "mutation($id: ID!) { voidInvoice(id: $id) { ...InvoiceFields } }" + INVOICE_FIELDS
INVOICE = "query($id: ID!) { invoice(id: $id) { ...InvoiceFields } }" + INVOICE_FIELDS
INVOICES = """
query($first: Int, $after: String, $clientId: ID, $status: [InvoiceStatus!], $overdue: Boolean) {
  invoices(first: $first, after: $after, clientId: $clientId, status: $status, overdue: $overdue) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { id status } }
  }
}
"""
RECORD_PAYMENT = """
mutation($input: RecordPaymentInput!) { recordPayment(input: $input) { id amount } }
"""

TODAY = datetime.now(UTC).date()


def line(description="Consulting", quantity="1", unit_price="100.00", **extra):
    return {"description": description, "quantity": quantity, "unitPrice": unit_price, **extra}


async def create_client(gql, token, **fields):
    data = await gql.data(CREATE_CLIENT, {"input": {"name": "Acme Corp", **fields}}, token=token)
    return data["createClient"]


async def create_invoice(gql, token, client_id, **fields):
    fields.setdefault("lines", [line()])
    data = await gql.data(CREATE_INVOICE, {"input": {"clientId": client_id, **fields}}, token=token)
    return data["createInvoice"]


async def send_invoice(gql, token, invoice_id):
    return (await gql.data(SEND_INVOICE, {"id": invoice_id}, token=token))["sendInvoice"]


async def invoice_count(gql, token, **filters):
    return (await gql.data(INVOICES, filters, token=token))["invoices"]["totalCount"]


def error_of(body):
    assert body.get("data") is None, body
    return body["errors"][0]["extensions"]


async def test_create_draft_invoice_computes_exact_totals(gql, tenant):
    # given a USD client
    client = await create_client(gql, tenant.admin)
    # when a draft is created with 3 x 19.99, 10% discount, 8.875% tax
    invoice = await create_invoice(
        gql,
        tenant.admin,
        client["id"],
        lines=[
            line(
                "Widgets",
                quantity="3",
                unit_price="19.99",
                discountPercent="10",
                taxRate="8.875",
                taxName="NY sales tax",
            )
        ],
    )
    # then the server computes each amount, rounded half up to the cent
    assert invoice["lines"] == [
        {
            "position": 0,
            "description": "Widgets",
            "unitPrice": "19.99",
            "subtotal": "59.97",
            "discount": "6.00",
            "tax": "4.79",
            "total": "58.76",
        }
    ]
    assert (
        invoice["subtotal"],
        invoice["discountTotal"],
        invoice["taxTotal"],
        invoice["total"],
    ) == ("59.97", "6.00", "4.79", "58.76")
    # and it is an unnumbered, unpaid draft of the client's currency
    assert invoice["status"] == "DRAFT"
    assert invoice["number"] is None
    assert invoice["currency"] == "USD"
    assert invoice["client"] == {"id": client["id"]}
    assert invoice["issueDate"] == TODAY.isoformat()
    assert invoice["amountPaid"] == "0.00"
    assert invoice["balance"] == "58.76"
    assert invoice["paidState"] == "UNPAID"
    # and reading it back shows the same amounts
    again = (await gql.data(INVOICE, {"id": invoice["id"]}, token=tenant.admin))["invoice"]
    assert again == invoice


async def test_document_totals_are_sums_of_the_rounded_lines(gql, tenant):
    client = await create_client(gql, tenant.admin)
    # when two lines each need rounding (25.025 rounds half up to 25.03)
    invoice = await create_invoice(
        gql,
        tenant.admin,
        client["id"],
        lines=[
            line("Hours", quantity="2.5", unit_price="10.01"),
            line(
                "Widgets", quantity="3", unit_price="19.99", discountPercent="10", taxRate="8.875"
            ),
        ],
    )
    # then each line is rounded, and the document adds the rounded amounts
    assert [(item["position"], item["total"]) for item in invoice["lines"]] == [
        (0, "25.03"),
        (1, "58.76"),
    ]
    assert invoice["subtotal"] == "85.00"
    assert invoice["discountTotal"] == "6.00"
    assert invoice["taxTotal"] == "4.79"
    assert invoice["total"] == "83.79"


async def test_jpy_invoice_has_no_decimals_and_refuses_fractional_yen(gql, tenant):
    # given a JPY client
    client = await create_client(gql, tenant.admin, currency="JPY")
    # when an invoice is created in yen
    invoice = await create_invoice(
        gql,
        tenant.admin,
        client["id"],
        lines=[line(quantity="3", unit_price="1000", taxRate="10")],
    )
    # then every amount is shown in whole yen
    assert invoice["currency"] == "JPY"
    assert invoice["lines"][0]["unitPrice"] == "1000"
    assert (
        invoice["subtotal"],
        invoice["discountTotal"],
        invoice["taxTotal"],
        invoice["total"],
        invoice["balance"],
    ) == ("3000", "0", "300", "3300", "3300")
    # and a price of 10.5 yen is refused
    body = await gql(
        CREATE_INVOICE,
        {"input": {"clientId": client["id"], "lines": [line(unit_price="10.5")]}},
        token=tenant.admin,
    )
    assert error_of(body) == {"code": "BAD_USER_INPUT", "field": "lines.0.unitPrice"}
    assert await invoice_count(gql, tenant.admin) == 1


async def test_negative_quantity_is_refused(gql, tenant):
    client = await create_client(gql, tenant.admin)
    body = await gql(
        CREATE_INVOICE,
        {"input": {"clientId": client["id"], "lines": [line(quantity="-1")]}},
        token=tenant.admin,
    )
    assert error_of(body) == {"code": "BAD_USER_INPUT", "field": "lines.0.quantity"}
    assert await invoice_count(gql, tenant.admin) == 0


async def test_unknown_and_malformed_ids(gql, tenant):
    # an unknown client
    body = await gql(
        CREATE_INVOICE,
        {"input": {"clientId": str(uuid.uuid4()), "lines": [line()]}},
        token=tenant.admin,
    )
    assert error_of(body) == {"code": "NOT_FOUND"}
    assert body["errors"][0]["message"] == "Client not found."
    # a client id that is not an id
    body = await gql(
        CREATE_INVOICE, {"input": {"clientId": "42", "lines": [line()]}}, token=tenant.admin
    )
    assert error_of(body) == {"code": "BAD_USER_INPUT", "field": "clientId"}
    # an invoice id that is not an id
    body = await gql(INVOICE, {"id": "not-a-uuid"}, token=tenant.admin)
    assert error_of(body) == {"code": "BAD_USER_INPUT", "field": "id"}
    # an unknown invoice
    body = await gql(INVOICE, {"id": str(uuid.uuid4())}, token=tenant.admin)
    assert error_of(body) == {"code": "NOT_FOUND"}
    assert await invoice_count(gql, tenant.admin) == 0


async def test_another_accounts_client_and_invoice_answer_not_found(gql, tenant, make_tenant):
    # given a client and a draft invoice of another account
    other = await make_tenant("globex")
    foreign_client = await create_client(gql, other.admin)
    foreign = await create_invoice(gql, other.admin, foreign_client["id"])
    # when this account's admin invoices that client
    body = await gql(
        CREATE_INVOICE,
        {"input": {"clientId": foreign_client["id"], "lines": [line()]}},
        token=tenant.admin,
    )
    # then it looks exactly like an unknown client
    assert error_of(body) == {"code": "NOT_FOUND"}
    unknown = await gql(
        CREATE_INVOICE,
        {"input": {"clientId": str(uuid.uuid4()), "lines": [line()]}},
        token=tenant.admin,
    )
    assert body["errors"][0]["message"] == unknown["errors"][0]["message"]
    # and reading, changing, sending or voiding the invoice looks like an unknown invoice
    for document, variables in [
        (INVOICE, {"id": foreign["id"]}),
        (UPDATE_INVOICE, {"id": foreign["id"], "input": {"lines": [line(unit_price="1.00")]}}),
        (SEND_INVOICE, {"id": foreign["id"]}),
        (VOID_INVOICE, {"id": foreign["id"]}),
    ]:
        body = await gql(document, variables, token=tenant.admin)
        assert error_of(body) == {"code": "NOT_FOUND"}
        unknown = await gql(document, {**variables, "id": str(uuid.uuid4())}, token=tenant.admin)
        assert body["errors"][0]["message"] == unknown["errors"][0]["message"]
    # and it is neither listed here nor changed
    assert await invoice_count(gql, tenant.admin) == 0
    unchanged = (await gql.data(INVOICE, {"id": foreign["id"]}, token=other.admin))["invoice"]
    assert (unchanged["status"], unchanged["number"], unchanged["total"]) == (
        "DRAFT",
        None,
        "100.00",
    )


async def test_unknown_currency_is_refused(gql, tenant):
    client = await create_client(gql, tenant.admin)
    body = await gql(
        CREATE_INVOICE,
        {"input": {"clientId": client["id"], "currency": "XYZ", "lines": [line()]}},
        token=tenant.admin,
    )
    assert error_of(body) == {"code": "BAD_USER_INPUT", "field": "currency"}
    assert await invoice_count(gql, tenant.admin) == 0


async def test_an_invalid_second_line_leaves_no_invoice(gql, tenant):
    # given one invoice already
    client = await create_client(gql, tenant.admin)
    await create_invoice(gql, tenant.admin, client["id"])
    # when an invoice is created whose second line is invalid
    body = await gql(
        CREATE_INVOICE,
        {
            "input": {
                "clientId": client["id"],
                "lines": [line(), line("Broken", unit_price="-5.00")],
            }
        },
        token=tenant.admin,
    )
    # then it is refused on that line and nothing is half-written
    assert error_of(body) == {"code": "BAD_USER_INPUT", "field": "lines.1.unitPrice"}
    assert await invoice_count(gql, tenant.admin) == 1


async def test_deposit_above_the_total_is_refused(gql, tenant):
    client = await create_client(gql, tenant.admin)
    body = await gql(
        CREATE_INVOICE,
        {"input": {"clientId": client["id"], "depositAmount": "100.01", "lines": [line()]}},
        token=tenant.admin,
    )
    assert error_of(body) == {"code": "BAD_USER_INPUT", "field": "depositAmount"}
    assert await invoice_count(gql, tenant.admin) == 0


async def test_send_numbers_invoices_in_order_and_resending_keeps_the_number(gql, tenant):
    # given three drafts
    client = await create_client(gql, tenant.admin)
    first = await create_invoice(gql, tenant.admin, client["id"])
    second = await create_invoice(gql, tenant.admin, client["id"])
    third = await create_invoice(gql, tenant.admin, client["id"])
    # when the first two are sent
    sent_first = await send_invoice(gql, tenant.admin, first["id"])
    sent_second = await send_invoice(gql, tenant.admin, second["id"])
    # then they are numbered in send order and marked sent
    assert (sent_first["number"], sent_first["status"]) == ("INV-0001", "SENT")
    assert (sent_second["number"], sent_second["status"]) == ("INV-0002", "SENT")
    assert sent_first["sentAt"]
    # when the first is sent again
    resent = await send_invoice(gql, tenant.admin, first["id"])
    # then it keeps its number, and no number was used up
    assert (resent["number"], resent["status"]) == ("INV-0001", "SENT")
    assert (await send_invoice(gql, tenant.admin, third["id"]))["number"] == "INV-0003"


async def test_a_zero_total_draft_cannot_be_sent_and_uses_no_number(gql, tenant):
    # given a draft whose total is 0
    client = await create_client(gql, tenant.admin)
    empty = await create_invoice(gql, tenant.admin, client["id"], lines=[])
    assert empty["total"] == "0.00"
    # when it is sent
    body = await gql(SEND_INVOICE, {"id": empty["id"]}, token=tenant.admin)
    # then it is refused and stays an unnumbered draft
    assert error_of(body) == {"code": "CONFLICT"}
    still = (await gql.data(INVOICE, {"id": empty["id"]}, token=tenant.admin))["invoice"]
    assert (still["status"], still["number"]) == ("DRAFT", None)
    # and the next invoice sent is still INV-0001
    other = await create_invoice(gql, tenant.admin, client["id"])
    assert (await send_invoice(gql, tenant.admin, other["id"]))["number"] == "INV-0001"


async def test_update_replaces_the_lines_of_a_draft_and_recomputes_totals(gql, tenant):
    # given a draft with one line
    client = await create_client(gql, tenant.admin)
    draft = await create_invoice(gql, tenant.admin, client["id"], poNumber="PO-7")
    # when its lines are replaced
    updated = (
        await gql.data(
            UPDATE_INVOICE,
            {
                "id": draft["id"],
                "input": {
                    "lines": [
                        line("Design", quantity="2", unit_price="45.50"),
                        line("Hosting", unit_price="12.00", taxRate="20"),
                    ]
                },
            },
            token=tenant.admin,
        )
    )["updateInvoice"]
    # then only the new lines remain and the totals follow them
    assert [
        (item["position"], item["description"], item["total"]) for item in updated["lines"]
    ] == [
        (0, "Design", "91.00"),
        (1, "Hosting", "14.40"),
    ]
    assert (updated["subtotal"], updated["taxTotal"], updated["total"]) == (
        "103.00",
        "2.40",
        "105.40",
    )
    assert updated["balance"] == "105.40"
    again = (await gql.data(INVOICE, {"id": draft["id"]}, token=tenant.admin))["invoice"]
    assert again == updated


async def test_a_sent_invoice_cannot_be_updated(gql, tenant):
    # given a sent invoice (accounts lock sent invoices by default)
    client = await create_client(gql, tenant.admin)
    invoice = await create_invoice(gql, tenant.admin, client["id"])
    await send_invoice(gql, tenant.admin, invoice["id"])
    # when its lines are changed
    body = await gql(
        UPDATE_INVOICE,
        {"id": invoice["id"], "input": {"lines": [line(unit_price="1.00")]}},
        token=tenant.admin,
    )
    # then it is refused and the invoice is unchanged
    assert error_of(body) == {"code": "CONFLICT"}
    again = (await gql.data(INVOICE, {"id": invoice["id"]}, token=tenant.admin))["invoice"]
    assert (again["total"], len(again["lines"])) == ("100.00", 1)


async def test_a_void_invoice_cannot_be_sent(gql, tenant):
    client = await create_client(gql, tenant.admin)
    invoice = await create_invoice(gql, tenant.admin, client["id"])
    # when a draft is voided
    voided = (await gql.data(VOID_INVOICE, {"id": invoice["id"]}, token=tenant.admin))[
        "voidInvoice"
    ]
    assert voided["status"] == "VOID"
    assert voided["voidedAt"]
    # then sending it is refused and it stays void and unnumbered
    body = await gql(SEND_INVOICE, {"id": invoice["id"]}, token=tenant.admin)
    assert error_of(body) == {"code": "CONFLICT"}
    again = (await gql.data(INVOICE, {"id": invoice["id"]}, token=tenant.admin))["invoice"]
    assert (again["status"], again["number"]) == ("VOID", None)


async def test_an_invoice_with_a_payment_cannot_be_voided(gql, tenant):
    # given a sent invoice with a payment applied
    client = await create_client(gql, tenant.admin)
    invoice = await create_invoice(gql, tenant.admin, client["id"])
    await send_invoice(gql, tenant.admin, invoice["id"])
    await gql.data(
        RECORD_PAYMENT,
        {
            "input": {
                "clientId": client["id"],
                "amount": "40.00",
                "method": "BANK_TRANSFER",
                "allocations": [{"invoiceId": invoice["id"], "amount": "40.00"}],
            }
        },
        token=tenant.admin,
    )
    # when it is voided
    body = await gql(VOID_INVOICE, {"id": invoice["id"]}, token=tenant.admin)
    # then it is refused and the invoice keeps its payment
    assert error_of(body) == {"code": "CONFLICT"}
    again = (await gql.data(INVOICE, {"id": invoice["id"]}, token=tenant.admin))["invoice"]
    assert (again["status"], again["amountPaid"], again["balance"]) == ("PARTIAL", "40.00", "60.00")


async def test_list_filters_by_status_client_and_overdue(gql, tenant):
    # given a draft and a sent invoice for Acme, and an overdue one for Globex
    acme = await create_client(gql, tenant.admin)
    globex = await create_client(gql, tenant.admin, name="Globex")
    draft = await create_invoice(gql, tenant.admin, acme["id"])
    sent = await create_invoice(
        gql, tenant.admin, acme["id"], dueDate=(TODAY + timedelta(days=30)).isoformat()
    )
    await send_invoice(gql, tenant.admin, sent["id"])
    late = await create_invoice(
        gql,
        tenant.admin,
        globex["id"],
        issueDate=(TODAY - timedelta(days=40)).isoformat(),
        dueDate=(TODAY - timedelta(days=10)).isoformat(),
    )
    await send_invoice(gql, tenant.admin, late["id"])
    # a draft past its due date is not overdue (it was never sent)
    await create_invoice(
        gql,
        tenant.admin,
        acme["id"],
        issueDate=(TODAY - timedelta(days=40)).isoformat(),
        dueDate=(TODAY - timedelta(days=10)).isoformat(),
    )

    async def ids(**filters):
        page = (await gql.data(INVOICES, filters, token=tenant.admin))["invoices"]
        assert page["totalCount"] == len(page["edges"])
        return {edge["node"]["id"] for edge in page["edges"]}

    # then each filter narrows the list
    assert await ids(status=["SENT"]) == {sent["id"], late["id"]}
    assert draft["id"] in await ids(status=["DRAFT"])
    assert len(await ids(status=["DRAFT"])) == 2
    assert await ids(clientId=globex["id"]) == {late["id"]}
    assert await ids(clientId=acme["id"], status=["SENT"]) == {sent["id"]}
    assert await ids(overdue=True) == {late["id"]}
    assert await ids(status=["PAID", "VOID"]) == set()
    # and the overdue invoice says so
    overdue = (await gql.data(INVOICE, {"id": late["id"]}, token=tenant.admin))["invoice"]
    assert overdue["isOverdue"] is True
    assert overdue["amountDue"] == "100.00"


async def test_not_overdue_filter_keeps_open_invoices_without_a_due_date(gql, tenant):
    # given a sent invoice with no due date (so never overdue)
    client = await create_client(gql, tenant.admin)
    invoice = await create_invoice(gql, tenant.admin, client["id"])
    sent = await send_invoice(gql, tenant.admin, invoice["id"])
    assert (sent["dueDate"], sent["isOverdue"]) == (None, False)
    # when listing invoices that are not overdue
    page = (await gql.data(INVOICES, {"overdue": False}, token=tenant.admin))["invoices"]
    # then it is listed
    assert [edge["node"]["id"] for edge in page["edges"]] == [invoice["id"]]
    assert page["totalCount"] == 1


async def test_relay_pagination_is_newest_first_without_duplicates(gql, tenant):
    # given five invoices
    client = await create_client(gql, tenant.admin)
    created = [(await create_invoice(gql, tenant.admin, client["id"]))["id"] for _ in range(5)]
    # when paging two at a time
    seen: list[str] = []
    pages = []
    after = None
    while True:
        page = (await gql.data(INVOICES, {"first": 2, "after": after}, token=tenant.admin))[
            "invoices"
        ]
        pages.append(page)
        assert page["totalCount"] == 5
        seen.extend(edge["node"]["id"] for edge in page["edges"])
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    # then three pages hold every invoice once, newest first
    assert [len(page["edges"]) for page in pages] == [2, 2, 1]
    assert [page["pageInfo"]["hasPreviousPage"] for page in pages] == [False, True, True]
    assert seen == list(reversed(created))
    # and a page past the end, or of none, still has the list's total
    past = (
        await gql.data(INVOICES, {"after": pages[-1]["pageInfo"]["endCursor"]}, token=tenant.admin)
    )["invoices"]
    assert (past["edges"], past["totalCount"]) == ([], 5)
    none = (await gql.data(INVOICES, {"first": 0}, token=tenant.admin))["invoices"]
    assert (none["edges"], none["totalCount"], none["pageInfo"]["hasNextPage"]) == ([], 5, True)
    # and asking again gives the same order
    again = (await gql.data(INVOICES, {"first": 5}, token=tenant.admin))["invoices"]
    assert [edge["node"]["id"] for edge in again["edges"]] == seen
    assert again["pageInfo"]["hasNextPage"] is False


async def test_derived_fields_follow_deposit_and_payments(gql, tenant):
    # given a sent invoice of 100.00 with a 30.00 deposit, due in a week
    client = await create_client(gql, tenant.admin)
    invoice = await create_invoice(
        gql,
        tenant.admin,
        client["id"],
        depositAmount="30.00",
        dueDate=(TODAY + timedelta(days=7)).isoformat(),
    )
    assert invoice["depositAmount"] == "30.00"
    # a draft is not payable yet
    assert invoice["amountDue"] == "0.00"
    sent = await send_invoice(gql, tenant.admin, invoice["id"])
    # then the deposit is what is due first
    assert (sent["amountDue"], sent["balance"], sent["paidState"], sent["isOverdue"]) == (
        "30.00",
        "100.00",
        "UNPAID",
        False,
    )

    async def pay(amount):
        await gql.data(
            RECORD_PAYMENT,
            {
                "input": {
                    "clientId": client["id"],
                    "amount": amount,
                    "method": "CHECK",
                    "allocations": [{"invoiceId": invoice["id"], "amount": amount}],
                }
            },
            token=tenant.admin,
        )
        return (await gql.data(INVOICE, {"id": invoice["id"]}, token=tenant.admin))["invoice"]

    # when the deposit is paid, the rest of the balance is due
    partly = await pay("30.00")
    assert (
        partly["status"],
        partly["paidState"],
        partly["amountPaid"],
        partly["balance"],
        partly["amountDue"],
        partly["paidAt"],
    ) == ("PARTIAL", "PARTIAL", "30.00", "70.00", "70.00", None)
    # when the rest is paid, nothing is due
    paid = await pay("70.00")
    assert (
        paid["status"],
        paid["paidState"],
        paid["amountPaid"],
        paid["balance"],
        paid["amountDue"],
        paid["isOverdue"],
    ) == ("PAID", "PAID", "100.00", "0.00", "0.00", False)
    assert paid["paidAt"]


async def test_private_notes_are_readable_by_the_admin(gql, tenant):
    client = await create_client(gql, tenant.admin)
    invoice = await create_invoice(
        gql, tenant.admin, client["id"], privateNotes="Discount agreed by phone"
    )
    assert invoice["privateNotes"] == "Discount agreed by phone"
    again = (await gql.data(INVOICE, {"id": invoice["id"]}, token=tenant.admin))["invoice"]
    assert again["privateNotes"] == "Discount agreed by phone"


async def test_numbering_is_per_account(gql, tenant, make_tenant):
    # given an invoice sent in another account
    other = await make_tenant("globex")
    foreign_client = await create_client(gql, other.admin)
    foreign = await create_invoice(gql, other.admin, foreign_client["id"])
    assert (await send_invoice(gql, other.admin, foreign["id"]))["number"] == "INV-0001"
    # when this account sends its first invoice
    client = await create_client(gql, tenant.admin)
    invoice = await create_invoice(gql, tenant.admin, client["id"])
    # then it is numbered from its own sequence
    assert (await send_invoice(gql, tenant.admin, invoice["id"]))["number"] == "INV-0001"


async def test_a_unit_price_too_large_to_store_is_bad_input(gql, tenant):
    client = await create_client(gql, tenant.admin)
    # when a line's unit price exceeds what an amount can hold
    body = await gql(
        CREATE_INVOICE,
        {"input": {"clientId": client["id"], "lines": [line(unit_price="1000000000000000")]}},
        token=tenant.admin,
    )
    # then it is refused as bad input on that field, and nothing is written
    assert error_of(body) == {"code": "BAD_USER_INPUT", "field": "lines.0.unitPrice"}
    assert await invoice_count(gql, tenant.admin) == 0


async def test_a_line_total_too_large_to_store_is_bad_input(gql, tenant):
    client = await create_client(gql, tenant.admin)
    # when each value is storable but their product is not
    body = await gql(
        CREATE_INVOICE,
        {
            "input": {
                "clientId": client["id"],
                "lines": [line(quantity="100000000000", unit_price="100000000")],
            }
        },
        token=tenant.admin,
    )
    # then it is refused as bad input, and nothing is written
    assert error_of(body)["code"] == "BAD_USER_INPUT"
    assert await invoice_count(gql, tenant.admin) == 0


# --- the lifecycle as the client sees it ------------------------------------------------

CREATE_PORTAL_CLIENT = """
mutation($input: ClientInput!) { createClient(input: $input) { id contacts { id role } } }
"""
MARK_SENT = "mutation($id: ID!) { markInvoiceSent(id: $id) { ...InvoiceFields } }" + INVOICE_FIELDS
MARK_VIEWED = """
mutation($id: ID!) { markInvoiceViewed(id: $id) { id status viewedAt paidState } }
"""
CONTACT_INVOICE = """
query($id: ID!) { invoice(id: $id) { id number status viewedAt total balance paidState } }
"""
CONTACT_INVOICES = """
query($status: [InvoiceStatus!]) {
  invoices(status: $status) { totalCount edges { node { id status } } }
}
"""
CONTACT_PAYMENTS = """
{ payments { totalCount edges { node { amount allocations { amount invoice { id } } } } } }
"""
INVOICE_ACTIVITY = """
query($id: ID!) { invoice(id: $id) { activity { verb actorKind actorName } } }
"""
VIEW_AS = "mutation($c: ID!) { viewAsContact(contactId: $c) { token } }"


async def portal_client(gql, runtime, token, roles=("BILLING",), name="Acme Corp"):
    """A client with one contact per role; the client and a portal token per role."""
    contacts = [
        {
            "email": f"{role.lower()}@{name.split()[0].lower()}.test",
            "firstName": role.title(),
            "lastName": "Contact",
            "role": role,
        }
        for role in roles
    ]
    client = (
        await gql.data(
            CREATE_PORTAL_CLIENT, {"input": {"name": name, "contacts": contacts}}, token=token
        )
    )["createClient"]
    tokens = {}
    async with runtime.sessions() as session:
        for contact in client["contacts"]:
            row = await session.get(Contact, uuid.UUID(contact["id"]))
            tokens[contact["role"]] = await start_contact_session(
                session=session, signer=runtime.signer, contact=row, ttl=runtime.session_ttl
            )
        await session.commit()
    return client, tokens


async def record_payment(gql, token, client_id, invoice_id, amount):
    await gql.data(
        RECORD_PAYMENT,
        {
            "input": {
                "clientId": client_id,
                "amount": amount,
                "method": "BANK_TRANSFER",
                "allocations": [{"invoiceId": invoice_id, "amount": amount}],
            }
        },
        token=token,
    )


async def set_lock_sent_invoices(runtime, account_id, locked):
    async with runtime.sessions() as session:
        account = await session.get(Account, account_id)
        account.lock_sent_invoices = locked
        await session.commit()


async def test_lifecycle_from_draft_to_paid_as_the_client_sees_it(gql, tenant, runtime):
    # given a client with a billing contact and a draft of 100.00
    client, tokens = await portal_client(gql, runtime, tenant.admin)
    contact = tokens["BILLING"]
    invoice = await create_invoice(gql, tenant.admin, client["id"])
    # the draft is invisible to the contact
    assert await invoice_count(gql, contact) == 0
    assert error_of(await gql(CONTACT_INVOICE, {"id": invoice["id"]}, token=contact)) == {
        "code": "NOT_FOUND"
    }
    # when it is sent, the contact sees it, not yet viewed
    await send_invoice(gql, tenant.admin, invoice["id"])
    seen = (await gql.data(CONTACT_INVOICE, {"id": invoice["id"]}, token=contact))["invoice"]
    assert (seen["number"], seen["status"], seen["viewedAt"]) == ("INV-0001", "SENT", None)
    # when the contact opens it, it is viewed (once: a second view changes nothing)
    viewed = (await gql.data(MARK_VIEWED, {"id": invoice["id"]}, token=contact))[
        "markInvoiceViewed"
    ]
    assert viewed["status"] == "VIEWED"
    assert viewed["viewedAt"]
    again = (await gql.data(MARK_VIEWED, {"id": invoice["id"]}, token=contact))["markInvoiceViewed"]
    assert again == viewed
    # when part is paid, then the rest
    await record_payment(gql, tenant.admin, client["id"], invoice["id"], "40.00")
    partial = (await gql.data(CONTACT_INVOICE, {"id": invoice["id"]}, token=contact))["invoice"]
    assert (partial["status"], partial["paidState"], partial["balance"]) == (
        "PARTIAL",
        "PARTIAL",
        "60.00",
    )
    await record_payment(gql, tenant.admin, client["id"], invoice["id"], "60.00")
    paid = (await gql.data(CONTACT_INVOICE, {"id": invoice["id"]}, token=contact))["invoice"]
    assert (paid["status"], paid["paidState"], paid["balance"]) == ("PAID", "PAID", "0.00")
    assert paid["viewedAt"] == viewed["viewedAt"]
    # then the timeline shows each step with its actor; the contact sees the client's part
    staff_view = (await gql.data(INVOICE_ACTIVITY, {"id": invoice["id"]}, token=tenant.admin))[
        "invoice"
    ]["activity"]
    assert [(e["verb"], e["actorKind"], e["actorName"]) for e in staff_view] == [
        ("invoice.created", "STAFF", "Admin User"),
        ("invoice.sent", "STAFF", "Admin User"),
        ("invoice.viewed", "CONTACT", "Billing Contact"),
        ("invoice.payment_applied", "STAFF", "Admin User"),
        ("invoice.payment_applied", "STAFF", "Admin User"),
        ("invoice.paid", "STAFF", "Admin User"),
    ]
    client_view = (await gql.data(INVOICE_ACTIVITY, {"id": invoice["id"]}, token=contact))[
        "invoice"
    ]["activity"]
    assert client_view == staff_view[1:]
    # and a paid invoice is neither sent again nor voided
    assert error_of(await gql(SEND_INVOICE, {"id": invoice["id"]}, token=tenant.admin)) == {
        "code": "CONFLICT"
    }
    assert error_of(await gql(VOID_INVOICE, {"id": invoice["id"]}, token=tenant.admin)) == {
        "code": "CONFLICT"
    }


async def test_staff_and_view_as_never_mark_an_invoice_viewed(gql, tenant, runtime):
    # given a sent invoice
    client, _tokens = await portal_client(gql, runtime, tenant.admin)
    invoice = await create_invoice(gql, tenant.admin, client["id"])
    await send_invoice(gql, tenant.admin, invoice["id"])
    # when staff "open" it
    unchanged = (await gql.data(MARK_VIEWED, {"id": invoice["id"]}, token=tenant.admin))[
        "markInvoiceViewed"
    ]
    assert (unchanged["status"], unchanged["viewedAt"]) == ("SENT", None)
    # when staff view the portal as the contact: the read-only session cannot mark it
    contact_id = client["contacts"][0]["id"]
    view_as = (await gql.data(VIEW_AS, {"c": contact_id}, token=tenant.admin))["viewAsContact"]
    seen = await gql.data(CONTACT_INVOICE, {"id": invoice["id"]}, token=view_as["token"])
    assert seen["invoice"]["status"] == "SENT"
    body = await gql(MARK_VIEWED, {"id": invoice["id"]}, token=view_as["token"])
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    # then it is still unviewed, and nobody viewed it in the timeline
    after = (await gql.data(INVOICE, {"id": invoice["id"]}, token=tenant.admin))["invoice"]
    assert after["status"] == "SENT"
    verbs = (await gql.data(INVOICE_ACTIVITY, {"id": invoice["id"]}, token=tenant.admin))[
        "invoice"
    ]["activity"]
    assert "invoice.viewed" not in [entry["verb"] for entry in verbs]


async def test_viewing_a_paid_invoice_keeps_its_status(gql, tenant, runtime):
    # given an invoice paid before the client ever opened it
    client, tokens = await portal_client(gql, runtime, tenant.admin)
    invoice = await create_invoice(gql, tenant.admin, client["id"])
    await send_invoice(gql, tenant.admin, invoice["id"])
    await record_payment(gql, tenant.admin, client["id"], invoice["id"], "100.00")
    # when the contact opens it
    viewed = (await gql.data(MARK_VIEWED, {"id": invoice["id"]}, token=tokens["BILLING"]))[
        "markInvoiceViewed"
    ]
    # then it stays PAID and records when it was first viewed
    assert (viewed["status"], viewed["paidState"]) == ("PAID", "PAID")
    assert viewed["viewedAt"]


async def test_a_contact_never_sees_drafts_or_voided_invoices(gql, tenant, runtime):
    # given a draft, a voided sent invoice and a sent invoice with a payment
    client, tokens = await portal_client(gql, runtime, tenant.admin)
    contact = tokens["BILLING"]
    draft = await create_invoice(gql, tenant.admin, client["id"])
    voided = await create_invoice(gql, tenant.admin, client["id"])
    await send_invoice(gql, tenant.admin, voided["id"])
    await gql.data(VOID_INVOICE, {"id": voided["id"]}, token=tenant.admin)
    sent = await create_invoice(gql, tenant.admin, client["id"])
    await send_invoice(gql, tenant.admin, sent["id"])
    await record_payment(gql, tenant.admin, client["id"], sent["id"], "10.00")
    # then the list, its count and every status filter show the sent invoice only
    page = (await gql.data(CONTACT_INVOICES, {}, token=contact))["invoices"]
    assert page["totalCount"] == 1
    assert [edge["node"]["id"] for edge in page["edges"]] == [sent["id"]]
    hidden = await gql.data(CONTACT_INVOICES, {"status": ["DRAFT", "VOID"]}, token=contact)
    assert hidden["invoices"] == {"totalCount": 0, "edges": []}
    # and reading the others by id looks like an unknown invoice
    for invoice_id in (draft["id"], voided["id"]):
        body = await gql(CONTACT_INVOICE, {"id": invoice_id}, token=contact)
        assert error_of(body) == {"code": "NOT_FOUND"}
        assert body["errors"][0]["message"] == "Invoice not found."
    # and payments lead only to the visible invoice
    payments = (await gql.data(CONTACT_PAYMENTS, token=contact))["payments"]
    invoices = {
        allocation["invoice"]["id"]
        for edge in payments["edges"]
        for allocation in edge["node"]["allocations"]
    }
    assert invoices == {sent["id"]}
    # and marking a hidden invoice viewed looks like an unknown invoice too
    for invoice_id in (draft["id"], voided["id"]):
        assert error_of(await gql(MARK_VIEWED, {"id": invoice_id}, token=contact)) == {
            "code": "NOT_FOUND"
        }
    # while staff still see all three
    assert await invoice_count(gql, tenant.admin) == 3


async def test_mark_sent_numbers_a_draft_without_sending_it_again(gql, tenant, runtime):
    client, tokens = await portal_client(gql, runtime, tenant.admin)
    invoice = await create_invoice(gql, tenant.admin, client["id"])
    # when a draft is marked sent
    marked = (await gql.data(MARK_SENT, {"id": invoice["id"]}, token=tenant.admin))[
        "markInvoiceSent"
    ]
    # then it is numbered, sent and visible to the client
    assert (marked["number"], marked["status"]) == ("INV-0001", "SENT")
    assert marked["sentAt"]
    assert await invoice_count(gql, tokens["BILLING"]) == 1
    # and marking it again is refused (sendInvoice sends reminders)
    body = await gql(MARK_SENT, {"id": invoice["id"]}, token=tenant.admin)
    assert error_of(body) == {"code": "CONFLICT"}
    # and a member (no billing rights) does not have the mutation
    body = await gql(MARK_SENT, {"id": invoice["id"]}, token=tenant.tokens[StaffRole.MEMBER])
    assert (
        "Cannot query field 'markInvoiceSent' on type 'Mutation'." in body["errors"][0]["message"]
    )


async def test_mark_viewed_needs_invoice_access(gql, tenant, runtime):
    # given a sent invoice and a collaborator (no money) at the client
    client, tokens = await portal_client(gql, runtime, tenant.admin, roles=("COLLABORATOR",))
    invoice = await create_invoice(gql, tenant.admin, client["id"])
    await send_invoice(gql, tenant.admin, invoice["id"])
    # when the collaborator tries to mark it viewed, the mutation does not exist for it
    body = await gql(MARK_VIEWED, {"id": invoice["id"]}, token=tokens["COLLABORATOR"])
    assert "Cannot query field 'markInvoiceViewed'" in body["errors"][0]["message"]
    # and the invoice is unchanged
    after = (await gql.data(INVOICE, {"id": invoice["id"]}, token=tenant.admin))["invoice"]
    assert after["status"] == "SENT"


async def test_a_contact_cannot_mark_another_clients_invoice_viewed(gql, tenant, runtime):
    _acme, acme_tokens = await portal_client(gql, runtime, tenant.admin)
    globex, _ = await portal_client(gql, runtime, tenant.admin, name="Globex Inc")
    invoice = await create_invoice(gql, tenant.admin, globex["id"])
    await send_invoice(gql, tenant.admin, invoice["id"])
    body = await gql(MARK_VIEWED, {"id": invoice["id"]}, token=acme_tokens["BILLING"])
    assert error_of(body) == {"code": "NOT_FOUND"}
    after = (await gql.data(INVOICE, {"id": invoice["id"]}, token=tenant.admin))["invoice"]
    assert after["status"] == "SENT"


# --- editing after sending ----------------------------------------------------------------


async def test_a_locked_sent_invoice_explains_why_it_cannot_be_edited(gql, tenant):
    client = await create_client(gql, tenant.admin)
    invoice = await create_invoice(gql, tenant.admin, client["id"])
    await send_invoice(gql, tenant.admin, invoice["id"])
    body = await gql(
        UPDATE_INVOICE, {"id": invoice["id"], "input": {"poNumber": "PO-1"}}, token=tenant.admin
    )
    assert error_of(body) == {"code": "CONFLICT"}
    message = body["errors"][0]["message"]
    assert "INV-0001" in message
    assert "lockSentInvoices" in message


async def test_a_sent_invoice_can_be_edited_when_the_account_allows_it(gql, tenant, runtime):
    # given an account that does not lock sent invoices, and a sent invoice 40.00 paid
    await set_lock_sent_invoices(runtime, tenant.account_id, False)
    client = await create_client(gql, tenant.admin)
    invoice = await create_invoice(gql, tenant.admin, client["id"])
    await send_invoice(gql, tenant.admin, invoice["id"])
    await record_payment(gql, tenant.admin, client["id"], invoice["id"], "40.00")
    # when its lines change
    updated = (
        await gql.data(
            UPDATE_INVOICE,
            {"id": invoice["id"], "input": {"lines": [line(unit_price="150.00")]}},
            token=tenant.admin,
        )
    )["updateInvoice"]
    # then the totals follow and it keeps its number and status
    assert (updated["number"], updated["status"], updated["total"], updated["balance"]) == (
        "INV-0001",
        "PARTIAL",
        "150.00",
        "110.00",
    )
    # when the total drops to what was paid, it is paid
    paid = (
        await gql.data(
            UPDATE_INVOICE,
            {"id": invoice["id"], "input": {"lines": [line(unit_price="40.00")]}},
            token=tenant.admin,
        )
    )["updateInvoice"]
    assert (paid["status"], paid["paidState"], paid["balance"]) == ("PAID", "PAID", "0.00")
    # and raising it again reopens it
    reopened = (
        await gql.data(
            UPDATE_INVOICE,
            {"id": invoice["id"], "input": {"lines": [line(unit_price="50.00")]}},
            token=tenant.admin,
        )
    )["updateInvoice"]
    assert (reopened["status"], reopened["paidAt"], reopened["balance"]) == (
        "PARTIAL",
        None,
        "10.00",
    )
    # but never below what was paid, to another client or currency, nor to zero
    other = await create_client(gql, tenant.admin, name="Globex")
    for change, field_name in [
        ({"lines": [line(unit_price="39.99")]}, "lines"),
        ({"clientId": other["id"]}, "clientId"),
        ({"currency": "EUR"}, "currency"),
    ]:
        body = await gql(UPDATE_INVOICE, {"id": invoice["id"], "input": change}, token=tenant.admin)
        assert error_of(body) == {"code": "CONFLICT", "field": field_name}
    again = (await gql.data(INVOICE, {"id": invoice["id"]}, token=tenant.admin))["invoice"]
    assert (again["total"], again["client"], again["currency"]) == (
        "50.00",
        {"id": client["id"]},
        "USD",
    )


async def test_a_void_invoice_is_never_edited_even_when_unlocked(gql, tenant, runtime):
    await set_lock_sent_invoices(runtime, tenant.account_id, False)
    client = await create_client(gql, tenant.admin)
    invoice = await create_invoice(gql, tenant.admin, client["id"])
    await gql.data(VOID_INVOICE, {"id": invoice["id"]}, token=tenant.admin)
    body = await gql(
        UPDATE_INVOICE, {"id": invoice["id"], "input": {"poNumber": "PO-9"}}, token=tenant.admin
    )
    assert error_of(body) == {"code": "CONFLICT"}


# --- deposits -------------------------------------------------------------------------------


async def test_deposit_rules(gql, tenant):
    client = await create_client(gql, tenant.admin)
    due = (TODAY + timedelta(days=30)).isoformat()

    async def refused(field_name, **fields):
        body = await gql(
            CREATE_INVOICE,
            {"input": {"clientId": client["id"], "lines": [line()], **fields}},
            token=tenant.admin,
        )
        assert error_of(body) == {"code": "BAD_USER_INPUT", "field": field_name}

    # a deposit due date needs a deposit, within the issue and due dates
    await refused("depositDueDate", depositDueDate=due)
    await refused(
        "depositDueDate",
        depositAmount="10.00",
        dueDate=due,
        depositDueDate=(TODAY + timedelta(days=31)).isoformat(),
    )
    await refused(
        "depositDueDate",
        depositAmount="10.00",
        depositDueDate=(TODAY - timedelta(days=1)).isoformat(),
    )
    # a deposit is not negative, not finer than a cent, and not above the total
    await refused("depositAmount", depositAmount="-1.00")
    await refused("depositAmount", depositAmount="10.001")
    await refused("depositAmount", depositAmount="100.01")
    assert await invoice_count(gql, tenant.admin) == 0
    # the whole total may be asked as a deposit
    full = await create_invoice(
        gql, tenant.admin, client["id"], depositAmount="100.00", dueDate=due, depositDueDate=due
    )
    assert full["depositAmount"] == "100.00"
    # lowering the total below the deposit is refused
    body = await gql(
        UPDATE_INVOICE,
        {"id": full["id"], "input": {"lines": [line(unit_price="99.99")]}},
        token=tenant.admin,
    )
    assert error_of(body) == {"code": "BAD_USER_INPUT", "field": "depositAmount"}
    # and a deposit of 0 removes the deposit and its due date
    removed = (
        await gql.data(
            UPDATE_INVOICE, {"id": full["id"], "input": {"depositAmount": "0"}}, token=tenant.admin
        )
    )["updateInvoice"]
    assert removed["depositAmount"] is None
    again = (
        await gql.data(
            "query($id: ID!) { invoice(id: $id) { depositAmount depositDueDate } }",
            {"id": full["id"]},
            token=tenant.admin,
        )
    )["invoice"]
    assert again == {"depositAmount": None, "depositDueDate": None}


async def test_a_late_deposit_makes_an_invoice_overdue_until_it_is_paid(gql, tenant):
    # given a sent invoice due in a month whose 30.00 deposit was due yesterday
    client = await create_client(gql, tenant.admin)
    invoice = await create_invoice(
        gql,
        tenant.admin,
        client["id"],
        issueDate=(TODAY - timedelta(days=7)).isoformat(),
        dueDate=(TODAY + timedelta(days=30)).isoformat(),
        depositAmount="30.00",
        depositDueDate=(TODAY - timedelta(days=1)).isoformat(),
    )
    await send_invoice(gql, tenant.admin, invoice["id"])

    async def state():
        row = (await gql.data(INVOICE, {"id": invoice["id"]}, token=tenant.admin))["invoice"]
        late = {
            e["node"]["id"]
            for e in (await gql.data(INVOICES, {"overdue": True}, token=tenant.admin))["invoices"][
                "edges"
            ]
        }
        on_time = {
            e["node"]["id"]
            for e in (await gql.data(INVOICES, {"overdue": False}, token=tenant.admin))["invoices"][
                "edges"
            ]
        }
        return row["isOverdue"], row["amountDue"], invoice["id"] in late, invoice["id"] in on_time

    # then it is overdue for its deposit, and the list filter agrees
    assert await state() == (True, "30.00", True, False)
    # when part of the deposit is paid, the rest of it is still late
    await record_payment(gql, tenant.admin, client["id"], invoice["id"], "20.00")
    assert await state() == (True, "10.00", True, False)
    # when the deposit is covered, only the invoice's own due date counts
    await record_payment(gql, tenant.admin, client["id"], invoice["id"], "10.00")
    assert await state() == (False, "70.00", False, True)


async def test_amounts_beyond_decimal_precision_are_bad_input(gql, tenant):
    client = await create_client(gql, tenant.admin)
    # when quantity x price has more digits than exact arithmetic carries
    body = await gql(
        CREATE_INVOICE,
        {
            "input": {
                "clientId": client["id"],
                "lines": [line(quantity="99999999999999", unit_price="99999999999999.99")],
            }
        },
        token=tenant.admin,
    )
    # then it is refused on the line, not an internal error
    assert error_of(body) == {"code": "BAD_USER_INPUT", "field": "lines.0.quantity"}
    # and fully discounted lines whose subtotal would not fit are refused too
    free = line(unit_price="90000000000000.00", discountPercent="100")
    body = await gql(
        CREATE_INVOICE,
        {"input": {"clientId": client["id"], "lines": [free, free]}},
        token=tenant.admin,
    )
    assert error_of(body) == {"code": "BAD_USER_INPUT", "field": "lines"}
    assert await invoice_count(gql, tenant.admin) == 0


async def test_kwd_invoices_have_three_decimals(gql, tenant):
    client = await create_client(gql, tenant.admin, currency="KWD")
    invoice = await create_invoice(
        gql,
        tenant.admin,
        client["id"],
        lines=[line(quantity="3", unit_price="0.125", taxRate="10")],
    )
    assert (invoice["subtotal"], invoice["taxTotal"], invoice["total"]) == (
        "0.375",
        "0.038",
        "0.413",
    )
