"""Payments recorded by staff and their allocation to invoices."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

CREATE_CLIENT = "mutation($input: ClientInput!) { createClient(input: $input) { id } }"
CREATE_INVOICE = "mutation($input: InvoiceInput!) { createInvoice(input: $input) { id } }"
SEND_INVOICE = "mutation($id: ID!) { sendInvoice(id: $id) { id } }"
VOID_INVOICE = "mutation($id: ID!) { voidInvoice(id: $id) { id } }"
INVOICE = """
query($id: ID!) {
  invoice(id: $id) {
    id status paidState total amountPaid balance amountDue paidAt
    payments { amount invoice { id } payment { id amount method reference } }
  }
}
"""
PAYMENT_FIELDS = """
fragment PaymentFields on Payment {
  id amount currency method status reference receivedOn refundedAmount unappliedAmount
  privateNotes
  client { id }
  allocations { amount invoice { id status } payment { id } }
}
"""
RECORD_PAYMENT = (
    "mutation($input: RecordPaymentInput!) { recordPayment(input: $input) { ...PaymentFields } }"
    + PAYMENT_FIELDS
)
PAYMENT = "query($id: ID!) { payment(id: $id) { ...PaymentFields } }" + PAYMENT_FIELDS
PAYMENTS = """
query($first: Int, $after: String, $clientId: ID, $invoiceId: ID) {
  payments(first: $first, after: $after, clientId: $clientId, invoiceId: $invoiceId) {
    totalCount
    edges { node { id amount } }
  }
}
"""

TODAY = datetime.now(UTC).date()


async def create_client(gql, token, **fields):
    data = await gql.data(CREATE_CLIENT, {"input": {"name": "Acme Corp", **fields}}, token=token)
    return data["createClient"]


async def create_invoice(gql, token, client_id, unit_price="100.00", *, send=True):
    """An invoice of one line at ``unit_price``, sent unless ``send`` is false."""
    lines = [{"description": "Consulting", "quantity": "1", "unitPrice": unit_price}]
    data = await gql.data(
        CREATE_INVOICE, {"input": {"clientId": client_id, "lines": lines}}, token=token
    )
    invoice_id = data["createInvoice"]["id"]
    if send:
        await gql.data(SEND_INVOICE, {"id": invoice_id}, token=token)
    return invoice_id


def payment_input(client_id, amount="100.00", allocations=(), **fields):
    return {
        "input": {
            "clientId": client_id,
            "amount": amount,
            "method": "BANK_TRANSFER",
            "allocations": [
                {"invoiceId": invoice_id, "amount": share} for invoice_id, share in allocations
            ],
            **fields,
        }
    }


async def record_payment(gql, token, client_id, amount="100.00", allocations=(), **fields):
    data = await gql.data(
        RECORD_PAYMENT, payment_input(client_id, amount, allocations, **fields), token=token
    )
    return data["recordPayment"]


async def read_invoice(gql, token, invoice_id):
    return (await gql.data(INVOICE, {"id": invoice_id}, token=token))["invoice"]


async def payment_count(gql, token, **filters):
    return (await gql.data(PAYMENTS, filters, token=token))["payments"]["totalCount"]


def error_of(body):
    assert body.get("data") is None, body
    return body["errors"][0]["extensions"]


async def test_a_payment_applied_across_two_invoices(gql, tenant):
    # given two sent invoices of 100.00 and 58.76
    client = await create_client(gql, tenant.admin)
    first = await create_invoice(gql, tenant.admin, client["id"], "100.00")
    second = await create_invoice(gql, tenant.admin, client["id"], "58.76")
    # when 200.00 is received: 100.00 to the first, 30.00 to the second
    payment = await record_payment(
        gql,
        tenant.admin,
        client["id"],
        "200.00",
        [(first, "100.00"), (second, "30.00")],
        reference="TRX-981",
        privateNotes="Wire from parent company",
    )
    # then the payment is recorded with its remainder left unapplied
    assert payment["amount"] == "200.00"
    assert payment["currency"] == "USD"
    assert payment["method"] == "BANK_TRANSFER"
    assert payment["status"] == "COMPLETED"
    assert payment["reference"] == "TRX-981"
    assert payment["receivedOn"] == TODAY.isoformat()
    assert payment["refundedAmount"] == "0.00"
    assert payment["unappliedAmount"] == "70.00"
    assert payment["privateNotes"] == "Wire from parent company"
    assert payment["client"] == {"id": client["id"]}
    assert sorted(
        (allocation["invoice"]["id"], allocation["amount"], allocation["payment"]["id"])
        for allocation in payment["allocations"]
    ) == sorted([(first, "100.00", payment["id"]), (second, "30.00", payment["id"])])
    # and the first invoice is paid, the second partly paid
    paid = await read_invoice(gql, tenant.admin, first)
    assert (paid["status"], paid["paidState"], paid["amountPaid"], paid["balance"]) == (
        "PAID",
        "PAID",
        "100.00",
        "0.00",
    )
    assert paid["amountDue"] == "0.00"
    assert paid["paidAt"]
    partial = await read_invoice(gql, tenant.admin, second)
    assert (
        partial["status"],
        partial["paidState"],
        partial["amountPaid"],
        partial["balance"],
        partial["amountDue"],
        partial["paidAt"],
    ) == ("PARTIAL", "PARTIAL", "30.00", "28.76", "28.76", None)
    # and reading the payment back shows the same
    again = (await gql.data(PAYMENT, {"id": payment["id"]}, token=tenant.admin))["payment"]
    assert again["unappliedAmount"] == "70.00"
    assert sorted(a["amount"] for a in again["allocations"]) == ["100.00", "30.00"]


async def test_a_payment_without_allocations_stays_unapplied(gql, tenant):
    client = await create_client(gql, tenant.admin)
    payment = await record_payment(gql, tenant.admin, client["id"], "45.50", method="CASH")
    assert (payment["method"], payment["unappliedAmount"], payment["allocations"]) == (
        "CASH",
        "45.50",
        [],
    )


async def test_allocations_above_the_payment_are_refused_and_nothing_is_written(gql, tenant):
    # given two sent invoices and one earlier payment
    client = await create_client(gql, tenant.admin)
    first = await create_invoice(gql, tenant.admin, client["id"], "100.00")
    second = await create_invoice(gql, tenant.admin, client["id"], "100.00")
    await record_payment(gql, tenant.admin, client["id"], "10.00", [(first, "10.00")])
    # when 100.00 is received but 90.00 + 20.00 is allocated
    body = await gql(
        RECORD_PAYMENT,
        payment_input(client["id"], "100.00", [(first, "90.00"), (second, "20.00")]),
        token=tenant.admin,
    )
    # then it is refused on the allocation that overflows
    assert error_of(body) == {"code": "BAD_USER_INPUT", "field": "allocations.1.amount"}
    # and no payment was written and no invoice changed (not even the first allocation)
    assert await payment_count(gql, tenant.admin) == 1
    after_first = await read_invoice(gql, tenant.admin, first)
    assert (after_first["status"], after_first["amountPaid"], after_first["balance"]) == (
        "PARTIAL",
        "10.00",
        "90.00",
    )
    after_second = await read_invoice(gql, tenant.admin, second)
    assert (after_second["status"], after_second["balance"], after_second["payments"]) == (
        "SENT",
        "100.00",
        [],
    )


async def test_an_allocation_above_the_invoice_balance_is_refused(gql, tenant):
    # given a 100.00 invoice already paid 60.00
    client = await create_client(gql, tenant.admin)
    invoice = await create_invoice(gql, tenant.admin, client["id"], "100.00")
    await record_payment(gql, tenant.admin, client["id"], "60.00", [(invoice, "60.00")])
    # when 40.01 more is allocated to it
    body = await gql(
        RECORD_PAYMENT,
        payment_input(client["id"], "50.00", [(invoice, "40.01")]),
        token=tenant.admin,
    )
    # then it is refused and nothing changes
    assert error_of(body) == {"code": "BAD_USER_INPUT", "field": "allocations.0.amount"}
    assert await payment_count(gql, tenant.admin) == 1
    unchanged = await read_invoice(gql, tenant.admin, invoice)
    assert (unchanged["status"], unchanged["balance"]) == ("PARTIAL", "40.00")
    # while exactly the balance settles it
    await record_payment(gql, tenant.admin, client["id"], "40.00", [(invoice, "40.00")])
    settled = await read_invoice(gql, tenant.admin, invoice)
    assert (settled["status"], settled["paidState"], settled["balance"]) == ("PAID", "PAID", "0.00")


@pytest.mark.parametrize("state", ["DRAFT", "VOID", "PAID"])
async def test_an_allocation_to_an_invoice_that_is_not_open_is_a_conflict(gql, tenant, state):
    # given an invoice that is a draft, void, or already paid
    client = await create_client(gql, tenant.admin)
    invoice = await create_invoice(gql, tenant.admin, client["id"], send=state == "PAID")
    if state == "VOID":
        await gql.data(VOID_INVOICE, {"id": invoice}, token=tenant.admin)
    if state == "PAID":
        await record_payment(gql, tenant.admin, client["id"], "100.00", [(invoice, "100.00")])
    before = await payment_count(gql, tenant.admin)
    # when a payment is applied to it
    body = await gql(
        RECORD_PAYMENT,
        payment_input(client["id"], "10.00", [(invoice, "10.00")]),
        token=tenant.admin,
    )
    # then it is refused and nothing is written
    assert error_of(body) == {"code": "CONFLICT", "field": "allocations.0.invoiceId"}
    assert await payment_count(gql, tenant.admin) == before
    assert (await read_invoice(gql, tenant.admin, invoice))["status"] == state


async def test_an_allocation_to_another_clients_invoice_is_refused(gql, tenant):
    # given an invoice of another client of the same account
    payer = await create_client(gql, tenant.admin)
    other = await create_client(gql, tenant.admin, name="Globex")
    invoice = await create_invoice(gql, tenant.admin, other["id"])
    # when the payer's payment is applied to it
    body = await gql(
        RECORD_PAYMENT,
        payment_input(payer["id"], "10.00", [(invoice, "10.00")]),
        token=tenant.admin,
    )
    # then it is refused and nothing is written
    assert error_of(body) == {"code": "BAD_USER_INPUT", "field": "allocations.0.invoiceId"}
    assert await payment_count(gql, tenant.admin) == 0
    assert (await read_invoice(gql, tenant.admin, invoice))["balance"] == "100.00"


async def test_an_allocation_to_another_accounts_invoice_is_not_found(gql, tenant, make_tenant):
    # given an invoice of another account
    other = await make_tenant("globex")
    foreign_client = await create_client(gql, other.admin)
    foreign = await create_invoice(gql, other.admin, foreign_client["id"])
    client = await create_client(gql, tenant.admin)
    # when a payment is applied to it
    body = await gql(
        RECORD_PAYMENT,
        payment_input(client["id"], "10.00", [(foreign, "10.00")]),
        token=tenant.admin,
    )
    # then it looks like an unknown invoice
    assert error_of(body) == {"code": "NOT_FOUND"}
    unknown = await gql(
        RECORD_PAYMENT,
        payment_input(client["id"], "10.00", [(str(uuid.uuid4()), "10.00")]),
        token=tenant.admin,
    )
    assert body["errors"][0]["message"] == unknown["errors"][0]["message"]
    # and neither account has a payment, and the invoice is untouched
    assert await payment_count(gql, tenant.admin) == 0
    assert await payment_count(gql, other.admin) == 0
    assert (await read_invoice(gql, other.admin, foreign))["balance"] == "100.00"
    # and another account's client cannot be paid for either
    body = await gql(RECORD_PAYMENT, payment_input(foreign_client["id"]), token=tenant.admin)
    assert error_of(body) == {"code": "NOT_FOUND"}


async def test_malformed_and_repeated_invoice_ids_are_refused(gql, tenant):
    client = await create_client(gql, tenant.admin)
    invoice = await create_invoice(gql, tenant.admin, client["id"])
    body = await gql(
        RECORD_PAYMENT,
        payment_input(client["id"], "10.00", [(invoice, "5.00"), ("nope", "5.00")]),
        token=tenant.admin,
    )
    assert error_of(body) == {"code": "BAD_USER_INPUT", "field": "allocations.1.invoiceId"}
    body = await gql(
        RECORD_PAYMENT,
        payment_input(client["id"], "10.00", [(invoice, "5.00"), (invoice, "5.00")]),
        token=tenant.admin,
    )
    assert error_of(body) == {"code": "BAD_USER_INPUT", "field": "allocations.1.invoiceId"}
    assert await payment_count(gql, tenant.admin) == 0
    assert (await read_invoice(gql, tenant.admin, invoice))["balance"] == "100.00"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"method": "CARD"}, "method"),
        ({"amount": "0"}, "amount"),
        ({"amount": "0.00"}, "amount"),
        ({"amount": "-5.00"}, "amount"),
        ({"amount": "10.001"}, "amount"),
        ({"receivedOn": (TODAY + timedelta(days=2)).isoformat()}, "receivedOn"),
        ({"currency": "XYZ"}, "currency"),
    ],
)
async def test_bad_payment_input_is_refused_and_nothing_is_written(gql, tenant, fields, field):
    # given a client
    client = await create_client(gql, tenant.admin)
    # when a payment is recorded with one bad field
    body = await gql(RECORD_PAYMENT, payment_input(client["id"], **fields), token=tenant.admin)
    # then it is refused on that field and no payment exists
    assert error_of(body) == {"code": "BAD_USER_INPUT", "field": field}
    assert await payment_count(gql, tenant.admin) == 0


async def test_an_allocation_finer_than_a_cent_is_refused(gql, tenant):
    client = await create_client(gql, tenant.admin)
    invoice = await create_invoice(gql, tenant.admin, client["id"])
    body = await gql(
        RECORD_PAYMENT,
        payment_input(client["id"], "10.00", [(invoice, "5.005")]),
        token=tenant.admin,
    )
    assert error_of(body) == {"code": "BAD_USER_INPUT", "field": "allocations.0.amount"}
    assert await payment_count(gql, tenant.admin) == 0


async def test_a_payment_received_in_the_past_keeps_its_date(gql, tenant):
    client = await create_client(gql, tenant.admin)
    received = (TODAY - timedelta(days=3)).isoformat()
    payment = await record_payment(
        gql, tenant.admin, client["id"], "12.00", method="CHECK", receivedOn=received
    )
    assert (payment["method"], payment["receivedOn"]) == ("CHECK", received)


async def test_invoice_payments_list_each_allocation_with_its_payment(gql, tenant):
    # given an invoice paid in two payments
    client = await create_client(gql, tenant.admin)
    invoice = await create_invoice(gql, tenant.admin, client["id"])
    first = await record_payment(
        gql, tenant.admin, client["id"], "25.00", [(invoice, "25.00")], reference="CHK-1"
    )
    second = await record_payment(
        gql, tenant.admin, client["id"], "80.00", [(invoice, "75.00")], reference="CHK-2"
    )
    # when the invoice is read
    read = await read_invoice(gql, tenant.admin, invoice)
    # then its payments show each allocation, oldest first, with its payment
    assert read["payments"] == [
        {
            "amount": "25.00",
            "invoice": {"id": invoice},
            "payment": {
                "id": first["id"],
                "amount": "25.00",
                "method": "BANK_TRANSFER",
                "reference": "CHK-1",
            },
        },
        {
            "amount": "75.00",
            "invoice": {"id": invoice},
            "payment": {
                "id": second["id"],
                "amount": "80.00",
                "method": "BANK_TRANSFER",
                "reference": "CHK-2",
            },
        },
    ]
    assert (read["status"], read["balance"]) == ("PAID", "0.00")
    assert second["unappliedAmount"] == "5.00"


async def test_payments_filter_by_invoice_and_client(gql, tenant):
    # given payments to two invoices, one split across both, one unapplied, one of another client
    client = await create_client(gql, tenant.admin)
    other = await create_client(gql, tenant.admin, name="Globex")
    first = await create_invoice(gql, tenant.admin, client["id"])
    second = await create_invoice(gql, tenant.admin, client["id"])
    only_first = await record_payment(gql, tenant.admin, client["id"], "10.00", [(first, "10.00")])
    split = await record_payment(
        gql, tenant.admin, client["id"], "20.00", [(first, "10.00"), (second, "10.00")]
    )
    unapplied = await record_payment(gql, tenant.admin, client["id"], "5.00")
    elsewhere = await record_payment(gql, tenant.admin, other["id"], "7.00")

    async def ids(**filters):
        page = (await gql.data(PAYMENTS, filters, token=tenant.admin))["payments"]
        assert page["totalCount"] == len(page["edges"])
        return [edge["node"]["id"] for edge in page["edges"]]

    # then each filter narrows the list, newest first
    assert await ids(invoiceId=first) == [split["id"], only_first["id"]]
    assert await ids(invoiceId=second) == [split["id"]]
    assert await ids(clientId=client["id"]) == [unapplied["id"], split["id"], only_first["id"]]
    assert await ids(clientId=other["id"]) == [elsewhere["id"]]
    assert await ids(clientId=other["id"], invoiceId=first) == []
    assert await ids(invoiceId=str(uuid.uuid4())) == []
    assert len(await ids()) == 4
    # and a malformed invoice id is refused
    body = await gql(PAYMENTS, {"invoiceId": "nope"}, token=tenant.admin)
    assert error_of(body) == {"code": "BAD_USER_INPUT", "field": "invoiceId"}


async def test_an_amount_too_large_to_store_is_bad_input(gql, tenant):
    client = await create_client(gql, tenant.admin)
    body = await gql(
        RECORD_PAYMENT, payment_input(client["id"], "1000000000000000"), token=tenant.admin
    )
    assert error_of(body) == {"code": "BAD_USER_INPUT", "field": "amount"}
    assert await payment_count(gql, tenant.admin) == 0
