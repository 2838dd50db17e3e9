"""Payments: recorded by staff, applied to invoices, refunded, and paid from the portal."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import col, select

from models.accounts import Account
from models.activity import Activity
from models.clients import Contact
from models.enums import ActorKind, Module, StaffRole
from services.portal.sessions import start_contact_session
from tests.stripe.helpers import connect_stripe

CREATE_CLIENT = "mutation($input: ClientInput!) { createClient(input: $input) { id } }"
CREATE_CONTACT = """
mutation($clientId: ID!, $input: ContactInput!) {
  createContact(clientId: $clientId, input: $input) { id }
}
"""
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


def assert_absent(body, name):
    """The field does not exist for the caller: the document fails validation."""
    assert body.get("data") is None
    messages = [error["message"] for error in body["errors"]]
    assert any(f"Cannot query field '{name}'" in m for m in messages), messages


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


# --- applying an unapplied remainder later ----------------------------------------------

APPLY_PAYMENT = (
    "mutation($paymentId: ID!, $allocations: [AllocationInput!]!) {"
    " applyPayment(paymentId: $paymentId, allocations: $allocations) { ...PaymentFields } }"
    + PAYMENT_FIELDS
)
REFUND_PAYMENT = (
    "mutation($id: ID!, $amount: Decimal!, $allocations: [AllocationInput!]) {"
    " refundPayment(id: $id, amount: $amount, allocations: $allocations) {"
    " ...PaymentFields allocations { invoice { id } amount refundedAmount } } }" + PAYMENT_FIELDS
)


def allocations(*pairs):
    return [{"invoiceId": invoice_id, "amount": share} for invoice_id, share in pairs]


async def apply_payment(gql, token, payment_id, *pairs):
    variables = {"paymentId": payment_id, "allocations": allocations(*pairs)}
    return (await gql.data(APPLY_PAYMENT, variables, token=token))["applyPayment"]


async def refund(gql, token, payment_id, amount, pairs=None):
    variables = {"id": payment_id, "amount": amount}
    if pairs is not None:
        variables["allocations"] = allocations(*pairs)
    return (await gql.data(REFUND_PAYMENT, variables, token=token))["refundPayment"]


def balances(invoice):
    return (invoice["status"], invoice["amountPaid"], invoice["balance"])


async def test_an_unapplied_remainder_is_applied_to_invoices_later(gql, tenant):
    # given a payment of 150.00 recorded without allocations
    client = await create_client(gql, tenant.admin)
    payment = await record_payment(gql, tenant.admin, client["id"], "150.00")
    first = await create_invoice(gql, tenant.admin, client["id"], "100.00")
    second = await create_invoice(gql, tenant.admin, client["id"], "100.00")
    # when a manager applies 100.00 to the first invoice and 30.00 to the second
    applied = await apply_payment(
        gql, tenant.tokens[StaffRole.MANAGER], payment["id"], (first, "100.00"), (second, "30.00")
    )
    # then the payment keeps 20.00 unapplied and the invoices are paid and partly paid
    assert applied["unappliedAmount"] == "20.00"
    assert balances(await read_invoice(gql, tenant.admin, first)) == ("PAID", "100.00", "0.00")
    assert balances(await read_invoice(gql, tenant.admin, second)) == (
        "PARTIAL",
        "30.00",
        "70.00",
    )
    # and applying more than the remainder is refused, naming the share that overflows
    body = await gql(
        APPLY_PAYMENT,
        {"paymentId": payment["id"], "allocations": allocations((second, "20.01"))},
        token=tenant.admin,
    )
    assert error_of(body) == {"code": "BAD_USER_INPUT", "field": "allocations.0.amount"}
    # and a paid invoice takes no more
    body = await gql(
        APPLY_PAYMENT,
        {"paymentId": payment["id"], "allocations": allocations((first, "1.00"))},
        token=tenant.admin,
    )
    assert error_of(body) == {"code": "CONFLICT", "field": "allocations.0.invoiceId"}
    # and the rest joins the second invoice's allocation
    final = await apply_payment(gql, tenant.admin, payment["id"], (second, "20.00"))
    assert final["unappliedAmount"] == "0.00"
    assert sorted((a["invoice"]["id"], a["amount"]) for a in final["allocations"]) == sorted(
        [(first, "100.00"), (second, "50.00")]
    )
    assert balances(await read_invoice(gql, tenant.admin, second)) == (
        "PARTIAL",
        "50.00",
        "50.00",
    )


async def test_applying_a_payment_needs_an_invoice_of_the_same_client(gql, tenant):
    client = await create_client(gql, tenant.admin)
    other = await create_client(gql, tenant.admin, name="Globex")
    payment = await record_payment(gql, tenant.admin, client["id"], "50.00")
    foreign = await create_invoice(gql, tenant.admin, other["id"])
    body = await gql(
        APPLY_PAYMENT,
        {"paymentId": payment["id"], "allocations": allocations((foreign, "10.00"))},
        token=tenant.admin,
    )
    assert error_of(body) == {"code": "BAD_USER_INPUT", "field": "allocations.0.invoiceId"}
    body = await gql(
        APPLY_PAYMENT, {"paymentId": payment["id"], "allocations": []}, token=tenant.admin
    )
    assert error_of(body) == {"code": "BAD_USER_INPUT", "field": "allocations"}
    body = await gql(
        APPLY_PAYMENT,
        {"paymentId": str(uuid.uuid4()), "allocations": allocations((foreign, "1.00"))},
        token=tenant.admin,
    )
    assert error_of(body) == {"code": "NOT_FOUND"}
    assert (await read_invoice(gql, tenant.admin, foreign))["balance"] == "100.00"


# --- refunds ----------------------------------------------------------------------------


async def test_a_full_refund_restores_every_invoice_balance(gql, tenant):
    # given 150.00 applied as 100.00 (paid in full) and 50.00 (partly paid)
    client = await create_client(gql, tenant.admin)
    first = await create_invoice(gql, tenant.admin, client["id"], "100.00")
    second = await create_invoice(gql, tenant.admin, client["id"], "100.00")
    payment = await record_payment(
        gql, tenant.admin, client["id"], "150.00", [(first, "100.00"), (second, "50.00")]
    )
    # when all of it is refunded
    refunded = await refund(gql, tenant.admin, payment["id"], "150.00")
    # then the payment is refunded, each allocation given back in full
    assert (refunded["status"], refunded["refundedAmount"], refunded["unappliedAmount"]) == (
        "REFUNDED",
        "150.00",
        "0.00",
    )
    assert sorted(
        (a["invoice"]["id"], a["amount"], a["refundedAmount"]) for a in refunded["allocations"]
    ) == sorted([(first, "100.00", "100.00"), (second, "50.00", "50.00")])
    # and both invoices owe their totals again, back to SENT
    for invoice_id in (first, second):
        read = await read_invoice(gql, tenant.admin, invoice_id)
        assert balances(read) == ("SENT", "0.00", "100.00")
        assert (read["paidState"], read["paidAt"], read["amountDue"]) == ("UNPAID", None, "100.00")
    # and nothing more can be refunded
    body = await gql(REFUND_PAYMENT, {"id": payment["id"], "amount": "0.01"}, token=tenant.admin)
    assert error_of(body) == {"code": "CONFLICT"}


async def test_a_partial_refund_takes_the_unapplied_remainder_first(gql, tenant):
    # given 130.00 of which 100.00 pays an invoice in full and 30.00 stays unapplied
    client = await create_client(gql, tenant.admin)
    invoice = await create_invoice(gql, tenant.admin, client["id"], "100.00")
    payment = await record_payment(gql, tenant.admin, client["id"], "130.00", [(invoice, "100.00")])
    # when 20.00 is refunded
    first = await refund(gql, tenant.admin, payment["id"], "20.00")
    # then it comes out of the unapplied remainder and the invoice stays paid
    assert (first["status"], first["refundedAmount"], first["unappliedAmount"]) == (
        "PARTIALLY_REFUNDED",
        "20.00",
        "10.00",
    )
    assert balances(await read_invoice(gql, tenant.admin, invoice)) == ("PAID", "100.00", "0.00")
    # when 25.00 more is refunded: the last 10.00 unapplied, then 15.00 from the invoice
    second = await refund(gql, tenant.tokens[StaffRole.MANAGER], payment["id"], "25.00")
    assert (second["refundedAmount"], second["unappliedAmount"]) == ("45.00", "0.00")
    assert [(a["amount"], a["refundedAmount"]) for a in second["allocations"]] == [
        ("100.00", "15.00")
    ]
    read = await read_invoice(gql, tenant.admin, invoice)
    assert balances(read) == ("PARTIAL", "85.00", "15.00")
    assert (read["paidState"], read["paidAt"]) == ("PARTIAL", None)
    # and more than what is left (85.00) is refused, like a zero or finer-than-cent amount
    for amount in ("85.01", "0", "-1.00", "1.001"):
        body = await gql(
            REFUND_PAYMENT, {"id": payment["id"], "amount": amount}, token=tenant.admin
        )
        assert error_of(body) == {"code": "BAD_USER_INPUT", "field": "amount"}, amount
    # while exactly what is left refunds it completely
    last = await refund(gql, tenant.admin, payment["id"], "85.00")
    assert (last["status"], last["refundedAmount"]) == ("REFUNDED", "130.00")
    assert balances(await read_invoice(gql, tenant.admin, invoice)) == ("SENT", "0.00", "100.00")


async def test_a_refund_naming_invoices_takes_their_shares_then_the_remainder(gql, tenant):
    # given 200.00: 100.00 on the first invoice, 60.00 on the second, 40.00 unapplied
    client = await create_client(gql, tenant.admin)
    first = await create_invoice(gql, tenant.admin, client["id"], "100.00")
    second = await create_invoice(gql, tenant.admin, client["id"], "100.00")
    third = await create_invoice(gql, tenant.admin, client["id"], "100.00")
    payment = await record_payment(
        gql, tenant.admin, client["id"], "200.00", [(first, "100.00"), (second, "60.00")]
    )

    async def refused(amount, pairs):
        variables = {"id": payment["id"], "amount": amount, "allocations": allocations(*pairs)}
        return error_of(await gql(REFUND_PAYMENT, variables, token=tenant.admin))

    # then an invoice the payment does not pay, more than it holds on an invoice, shares
    # above the refund, or a rest above the unapplied 40.00 are refused
    assert await refused("10.00", [(third, "10.00")]) == {
        "code": "BAD_USER_INPUT",
        "field": "allocations.0.invoiceId",
    }
    assert await refused("70.00", [(second, "60.01")]) == {
        "code": "BAD_USER_INPUT",
        "field": "allocations.0.amount",
    }
    assert await refused("50.00", [(second, "30.00"), (first, "30.00")]) == {
        "code": "BAD_USER_INPUT",
        "field": "allocations.1.amount",
    }
    assert await refused("100.01", [(second, "60.00")]) == {
        "code": "BAD_USER_INPUT",
        "field": "amount",
    }
    payment_now = (await gql.data(PAYMENT, {"id": payment["id"]}, token=tenant.admin))["payment"]
    assert (payment_now["refundedAmount"], payment_now["unappliedAmount"]) == ("0.00", "40.00")
    # when 70.00 is refunded naming the second invoice's 60.00
    refunded = await refund(gql, tenant.admin, payment["id"], "70.00", [(second, "60.00")])
    # then the second invoice owes its total again, the first stays paid
    assert (refunded["status"], refunded["refundedAmount"], refunded["unappliedAmount"]) == (
        "PARTIALLY_REFUNDED",
        "70.00",
        "30.00",
    )
    assert balances(await read_invoice(gql, tenant.admin, second)) == ("SENT", "0.00", "100.00")
    assert balances(await read_invoice(gql, tenant.admin, first)) == ("PAID", "100.00", "0.00")
    # and the refunded money can be applied again only from what is unapplied
    reapplied = await apply_payment(gql, tenant.admin, payment["id"], (second, "30.00"))
    assert reapplied["unappliedAmount"] == "0.00"
    assert balances(await read_invoice(gql, tenant.admin, second)) == (
        "PARTIAL",
        "30.00",
        "70.00",
    )


async def test_a_refund_is_recorded_with_its_actor_and_shown_to_the_client(gql, tenant, runtime):
    client = await create_client(gql, tenant.admin)
    invoice = await create_invoice(gql, tenant.admin, client["id"], "100.00")
    payment = await record_payment(gql, tenant.admin, client["id"], "100.00", [(invoice, "100.00")])
    manager = tenant.tokens[StaffRole.MANAGER]
    await refund(gql, manager, payment["id"], "40.00")
    entries = await activities(runtime, uuid.UUID(client["id"]))
    refunded = [e for e in entries if e.verb == "payment.refunded"]
    assert len(refunded) == 1
    (entry,) = refunded
    assert (entry.subject_id, entry.actor_kind, entry.actor_id, entry.visible_to_client) == (
        uuid.UUID(payment["id"]),
        ActorKind.STAFF,
        tenant.principals[StaffRole.MANAGER].user_id,
        True,
    )
    assert entry.details["amount"] == "40.00"
    (invoice_entry,) = [e for e in entries if e.verb == "invoice.refunded"]
    assert (invoice_entry.subject_id, invoice_entry.visible_to_client) == (
        uuid.UUID(invoice),
        True,
    )
    assert [e.verb for e in entries if e.verb.startswith("payment.")] == [
        "payment.recorded",
        "payment.refunded",
    ]


# --- who may move money -----------------------------------------------------------------


async def test_members_and_contacts_cannot_record_apply_or_refund(gql, tenant, runtime):
    # given a payment with an unapplied remainder
    client = await create_client(gql, tenant.admin)
    invoice = await create_invoice(gql, tenant.admin, client["id"], "100.00")
    payment = await record_payment(gql, tenant.admin, client["id"], "100.00")
    contacts = await contact_tokens(gql, runtime, tenant.admin, client["id"])
    tokens = [tenant.tokens[StaffRole.MEMBER], *contacts.values()]
    attempts = [
        (RECORD_PAYMENT, payment_input(client["id"]), "recordPayment"),
        (
            APPLY_PAYMENT,
            {"paymentId": payment["id"], "allocations": allocations((invoice, "1.00"))},
            "applyPayment",
        ),
        (REFUND_PAYMENT, {"id": payment["id"], "amount": "1.00"}, "refundPayment"),
    ]
    for token in tokens:
        for document, variables, name in attempts:
            # when they try: the mutation does not exist for them
            assert_absent(await gql(document, variables, token=token), name)
    # and nothing changed
    again = (await gql.data(PAYMENT, {"id": payment["id"]}, token=tenant.admin))["payment"]
    assert (again["refundedAmount"], again["unappliedAmount"]) == ("0.00", "100.00")
    assert await payment_count(gql, tenant.admin) == 1
    assert (await read_invoice(gql, tenant.admin, invoice))["balance"] == "100.00"


async def test_a_contact_sees_its_payments_refunds_but_not_private_notes(gql, tenant, runtime):
    client = await create_client(gql, tenant.admin)
    invoice = await create_invoice(gql, tenant.admin, client["id"], "100.00")
    payment = await record_payment(
        gql, tenant.admin, client["id"], "100.00", [(invoice, "100.00")], privateNotes="x"
    )
    await refund(gql, tenant.admin, payment["id"], "100.00")
    contact = (await contact_tokens(gql, runtime, tenant.admin, client["id"]))["BILLING"]
    document = "query($id: ID!) { payment(id: $id) { status refundedAmount unappliedAmount" + (
        " allocations { amount refundedAmount invoice { id status balance } } } }"
    )
    seen = (await gql.data(document, {"id": payment["id"]}, token=contact))["payment"]
    assert seen == {
        "status": "REFUNDED",
        "refundedAmount": "100.00",
        "unappliedAmount": "0.00",
        "allocations": [
            {
                "amount": "100.00",
                "refundedAmount": "100.00",
                "invoice": {"id": invoice, "status": "SENT", "balance": "100.00"},
            }
        ],
    }
    body = await gql(
        "query($id: ID!) { payment(id: $id) { privateNotes } }",
        {"id": payment["id"]},
        token=contact,
    )
    assert_absent(body, "privateNotes")


# --- paying from the portal -------------------------------------------------------------

PAY_INVOICES = """
mutation($invoiceIds: [ID!]!, $amount: Decimal) {
  payInvoices(invoiceIds: $invoiceIds, amount: $amount) {
    amount currency totalDue unappliedAmount
    payment { id status method amount unappliedAmount allocations { amount invoice { id } } }
    split { invoice { id } amountDue amount }
  }
}
"""
INVOICE_PAYMENTS = (
    "query($id: ID!) { invoice(id: $id) { status amountPaid balance payments { amount } } }"
)
CONTACT_PAYMENTS = "{ payments { totalCount edges { node { id status amount } } } }"


async def contact_tokens(
    gql, runtime, staff_token, client_id, roles=("BILLING", "VIEWER", "COLLABORATOR")
):
    """A signed-in contact of the client per role."""
    tokens = {}
    for role in roles:
        data = await gql.data(
            CREATE_CONTACT,
            {
                "clientId": client_id,
                "input": {
                    "email": f"{role.lower()}-{uuid.uuid4().hex[:6]}@client.test",
                    "role": role,
                },
            },
            token=staff_token,
        )
        async with runtime.sessions() as session:
            contact = await session.get(Contact, uuid.UUID(data["createContact"]["id"]))
            tokens[role] = await start_contact_session(
                session=session, signer=runtime.signer, contact=contact, ttl=runtime.session_ttl
            )
            await session.commit()
    return tokens


async def activities(runtime, client_id):
    async with runtime.sessions() as session:
        rows = await session.exec(
            select(Activity)
            .where(Activity.client_id == client_id)
            .order_by(col(Activity.created_at), col(Activity.id))
        )
        return list(rows.all())


async def set_account(runtime, account_id, **settings):
    async with runtime.sessions() as session:
        account = await session.get(Account, account_id)
        for name, value in settings.items():
            setattr(account, name, value)
        await session.commit()


async def pay(gql, token, invoice_ids, amount=None):
    variables = {"invoiceIds": list(invoice_ids), "amount": amount}
    return (await gql.data(PAY_INVOICES, variables, token=token))["payInvoices"]


async def pay_refused(gql, token, invoice_ids, amount=None):
    body = await gql(PAY_INVOICES, {"invoiceIds": list(invoice_ids), "amount": amount}, token=token)
    return error_of(body)


async def billing_setup(gql, runtime, tenant):
    client = await create_client(gql, tenant.admin)
    tokens = await contact_tokens(gql, runtime, tenant.admin, client["id"], roles=("BILLING",))
    return client, tokens["BILLING"]


async def create_invoice_with(gql, token, client_id, **fields):
    lines = [{"description": "Work", "quantity": "1", "unitPrice": fields.pop("price", "100.00")}]
    data = await gql.data(
        CREATE_INVOICE, {"input": {"clientId": client_id, "lines": lines, **fields}}, token=token
    )
    invoice_id = data["createInvoice"]["id"]
    await gql.data(SEND_INVOICE, {"id": invoice_id}, token=token)
    return invoice_id


async def test_a_billing_contact_starts_paying_several_invoices(gql, tenant, runtime, localstripe):
    await connect_stripe(gql, tenant.admin)  # card payments need Stripe
    # given two open invoices: one of 1000.00 asking a 300.00 deposit due soonest,
    # one of 250.00 due later
    client, contact = await billing_setup(gql, runtime, tenant)
    later = await create_invoice_with(
        gql,
        tenant.admin,
        client["id"],
        price="250.00",
        dueDate=(TODAY + timedelta(days=30)).isoformat(),
    )
    deposit = await create_invoice_with(
        gql,
        tenant.admin,
        client["id"],
        price="1000.00",
        dueDate=(TODAY + timedelta(days=60)).isoformat(),
        depositAmount="300.00",
        depositDueDate=(TODAY + timedelta(days=7)).isoformat(),
    )
    # when the billing contact pays both without naming an amount
    paid = await pay(gql, contact, [later, deposit])
    # then the deposit and the other balance are due, oldest due date first
    assert (paid["amount"], paid["currency"], paid["totalDue"], paid["unappliedAmount"]) == (
        "550.00",
        "USD",
        "550.00",
        "0.00",
    )
    assert paid["split"] == [
        {"invoice": {"id": deposit}, "amountDue": "300.00", "amount": "300.00"},
        {"invoice": {"id": later}, "amountDue": "250.00", "amount": "250.00"},
    ]
    # and a PENDING card payment holds the planned split (card charging comes later)
    payment = paid["payment"]
    assert (
        payment["status"],
        payment["method"],
        payment["amount"],
        payment["unappliedAmount"],
    ) == (
        "PENDING",
        "CARD",
        "550.00",
        "0.00",
    )
    assert sorted((a["invoice"]["id"], a["amount"]) for a in payment["allocations"]) == sorted(
        [(deposit, "300.00"), (later, "250.00")]
    )
    # and no invoice changes until the payment is confirmed
    for invoice_id, balance in ((deposit, "1000.00"), (later, "250.00")):
        read = (await gql.data(INVOICE_PAYMENTS, {"id": invoice_id}, token=contact))["invoice"]
        assert read == {"status": "SENT", "amountPaid": "0.00", "balance": balance, "payments": []}
    # and the contact sees the pending payment among its payments
    listed = (await gql.data(CONTACT_PAYMENTS, token=contact))["payments"]
    assert listed["edges"] == [
        {"node": {"id": payment["id"], "status": "PENDING", "amount": "550.00"}}
    ]
    # and the start is in the client's activity, by the contact
    (entry,) = [
        e for e in await activities(runtime, uuid.UUID(client["id"])) if e.verb == "payment.started"
    ]
    assert (entry.actor_kind, entry.visible_to_client, entry.subject_id) == (
        ActorKind.CONTACT,
        True,
        uuid.UUID(payment["id"]),
    )


async def test_only_billing_contacts_may_pay_invoices(gql, tenant, runtime):
    client = await create_client(gql, tenant.admin)
    invoice = await create_invoice(gql, tenant.admin, client["id"])
    contacts = await contact_tokens(gql, runtime, tenant.admin, client["id"])
    # the staff roles, viewers and collaborators have no payInvoices at all
    for token in [*tenant.tokens.values(), contacts["VIEWER"], contacts["COLLABORATOR"]]:
        assert_absent(
            await gql(PAY_INVOICES, {"invoiceIds": [invoice]}, token=token), "payInvoices"
        )
    # and staff viewing the portal as the billing contact cannot pay for it
    billing_contact_id = (
        await gql.data(
            "query($id: ID!) { client(id: $id) { contacts { id role } } }",
            {"id": client["id"]},
            token=tenant.admin,
        )
    )["client"]["contacts"]
    (billing_id,) = [c["id"] for c in billing_contact_id if c["role"] == "BILLING"]
    view_as = (
        await gql.data(
            "mutation($c: ID!) { viewAsContact(contactId: $c) { token } }",
            {"c": billing_id},
            token=tenant.admin,
        )
    )["viewAsContact"]["token"]
    body = await gql(PAY_INVOICES, {"invoiceIds": [invoice]}, token=view_as)
    assert body.get("data") is None
    assert body["errors"]
    # and with the PAYMENTS module off for the client, neither can the billing contact
    await set_account(
        runtime,
        tenant.account_id,
        enabled_modules=[m.value for m in Module if m is not Module.PAYMENTS],
    )
    body = await gql(PAY_INVOICES, {"invoiceIds": [invoice]}, token=contacts["BILLING"])
    assert_absent(body, "payInvoices")
    assert await payment_count(gql, tenant.admin) == 0


async def test_invoices_a_contact_cannot_see_are_not_found(
    gql, tenant, runtime, make_tenant, localstripe
):
    await connect_stripe(gql, tenant.admin)  # card payments need Stripe
    # given the contact's client, another client, and another account
    client, contact = await billing_setup(gql, runtime, tenant)
    other = await create_client(gql, tenant.admin, name="Globex")
    others_invoice = await create_invoice(gql, tenant.admin, other["id"])
    draft = await create_invoice(gql, tenant.admin, client["id"], send=False)
    void = await create_invoice(gql, tenant.admin, client["id"])
    await gql.data(VOID_INVOICE, {"id": void}, token=tenant.admin)
    foreign_tenant = await make_tenant("initech")
    foreign_client = await create_client(gql, foreign_tenant.admin)
    foreign = await create_invoice(gql, foreign_tenant.admin, foreign_client["id"])
    mine = await create_invoice(gql, tenant.admin, client["id"])
    # then each answers NOT_FOUND, even next to one of its own
    for invoice_id in (others_invoice, draft, void, foreign, str(uuid.uuid4())):
        assert await pay_refused(gql, contact, [mine, invoice_id]) == {"code": "NOT_FOUND"}
    assert await payment_count(gql, tenant.admin) == 0
    assert await payment_count(gql, foreign_tenant.admin) == 0


async def test_portal_payment_rules(gql, tenant, runtime, localstripe):
    await connect_stripe(gql, tenant.admin)  # card payments need Stripe
    # given two open invoices of 100.00 and 50.00, one paid invoice, one in EUR
    client, contact = await billing_setup(gql, runtime, tenant)
    first = await create_invoice(gql, tenant.admin, client["id"], "100.00")
    second = await create_invoice(gql, tenant.admin, client["id"], "50.00")
    paid = await create_invoice(gql, tenant.admin, client["id"], "10.00")
    await record_payment(gql, tenant.admin, client["id"], "10.00", [(paid, "10.00")])
    euros = await create_invoice_with(gql, tenant.admin, client["id"], currency="EUR")
    bad = {"code": "BAD_USER_INPUT", "field": "amount"}
    # then a paid invoice, mixed currencies, repeats, no invoice and bad ids are refused
    assert await pay_refused(gql, contact, [first, paid]) == {
        "code": "CONFLICT",
        "field": "invoiceIds.1",
    }
    assert await pay_refused(gql, contact, [first, euros]) == {
        "code": "BAD_USER_INPUT",
        "field": "invoiceIds.1",
    }
    assert await pay_refused(gql, contact, [first, first]) == {
        "code": "BAD_USER_INPUT",
        "field": "invoiceIds",
    }
    assert await pay_refused(gql, contact, []) == {"code": "BAD_USER_INPUT", "field": "invoiceIds"}
    assert await pay_refused(gql, contact, [first, "nope"]) == {
        "code": "BAD_USER_INPUT",
        "field": "invoiceIds.1",
    }
    # and amounts that are not positive or finer than a cent
    for amount in ("0", "0.00", "-5.00", "10.001"):
        assert await pay_refused(gql, contact, [first], amount) == bad, amount
    # and overpaying is refused unless the account allows it
    assert await pay_refused(gql, contact, [first, second], "150.01") == bad
    # and partial payments are refused when the account does not accept them
    await set_account(runtime, tenant.account_id, allow_partial_payments=False)
    assert await pay_refused(gql, contact, [first, second], "149.99") == bad
    assert (await pay(gql, contact, [first, second], "150.00"))["amount"] == "150.00"
    # and with partial payments on, the account's minimum applies to them
    await set_account(
        runtime,
        tenant.account_id,
        allow_partial_payments=True,
        minimum_payment_amount=Decimal("25.00"),
    )
    assert await pay_refused(gql, contact, [first, second], "24.99") == bad
    partial = await pay(gql, contact, [second, first], "25.00")
    assert [(s["invoice"]["id"], s["amountDue"], s["amount"]) for s in partial["split"]] == [
        (first, "100.00", "25.00"),
        (second, "50.00", "0.00"),
    ]
    assert [a["amount"] for a in partial["payment"]["allocations"]] == ["25.00"]
    # but paying in full below the minimum is fine
    small = await create_invoice(gql, tenant.admin, client["id"], "5.00")
    assert (await pay(gql, contact, [small]))["amount"] == "5.00"
    # and overpayment, once allowed, leaves the excess as the client's credit
    await set_account(runtime, tenant.account_id, allow_overpayment=True)
    over = await pay(gql, contact, [first], "120.00")
    assert (over["amount"], over["totalDue"], over["unappliedAmount"]) == (
        "120.00",
        "100.00",
        "20.00",
    )
    assert over["split"] == [{"invoice": {"id": first}, "amountDue": "100.00", "amount": "100.00"}]
    # and no pending payment changed an invoice
    for invoice_id, balance in ((first, "100.00"), (second, "50.00")):
        assert (await read_invoice(gql, tenant.admin, invoice_id))["balance"] == balance
