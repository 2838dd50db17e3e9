"""A void invoice owes nothing: staff read balance 0, amount due 0 and paid state VOID;
overdue lists and statements skip it; contacts never see it."""

from datetime import timedelta

from tests.schema.test_invoices import (
    CONTACT_INVOICE,
    CONTACT_INVOICES,
    INVOICE,
    INVOICES,
    TODAY,
    VOID_INVOICE,
    create_client,
    create_invoice,
    error_of,
    invoice_count,
    portal_client,
    send_invoice,
)
from tests.schema.test_statements import STATEMENT

LATE = {"issueDate": (TODAY - timedelta(days=40)).isoformat()}
LATE_DUE = {**LATE, "dueDate": (TODAY - timedelta(days=10)).isoformat()}


async def voided_sent_invoice(gql, token, client_id, **fields):
    invoice = await create_invoice(gql, token, client_id, **fields)
    await send_invoice(gql, token, invoice["id"])
    return (await gql.data(VOID_INVOICE, {"id": invoice["id"]}, token=token))["voidInvoice"]


async def test_a_voided_invoice_owes_nothing(gql, tenant):
    # given a sent invoice past its due date, then voided
    client = await create_client(gql, tenant.admin)
    voided = await voided_sent_invoice(gql, tenant.admin, client["id"], **LATE_DUE)
    # then the void answer and a later read both say it owes nothing
    again = (await gql.data(INVOICE, {"id": voided["id"]}, token=tenant.admin))["invoice"]
    for invoice in (voided, again):
        assert (
            invoice["status"],
            invoice["total"],
            invoice["amountPaid"],
            invoice["balance"],
            invoice["amountDue"],
            invoice["paidState"],
            invoice["isOverdue"],
        ) == ("VOID", "100.00", "0.00", "0.00", "0.00", "VOID", False)


async def test_a_voided_draft_owes_nothing(gql, tenant):
    client = await create_client(gql, tenant.admin)
    draft = await create_invoice(gql, tenant.admin, client["id"])
    assert (draft["balance"], draft["paidState"]) == ("100.00", "UNPAID")
    voided = (await gql.data(VOID_INVOICE, {"id": draft["id"]}, token=tenant.admin))["voidInvoice"]
    assert (voided["balance"], voided["amountDue"], voided["paidState"]) == (
        "0.00",
        "0.00",
        "VOID",
    )


async def test_overdue_lists_skip_a_voided_invoice(gql, tenant):
    # given a late open invoice and a late voided one
    client = await create_client(gql, tenant.admin)
    late = await create_invoice(gql, tenant.admin, client["id"], **LATE_DUE)
    await send_invoice(gql, tenant.admin, late["id"])
    voided = await voided_sent_invoice(gql, tenant.admin, client["id"], **LATE_DUE)
    # then only the open one is overdue; the void one is listed as not overdue
    overdue = (await gql.data(INVOICES, {"overdue": True}, token=tenant.admin))["invoices"]
    assert [edge["node"]["id"] for edge in overdue["edges"]] == [late["id"]]
    not_overdue = (await gql.data(INVOICES, {"overdue": False}, token=tenant.admin))["invoices"]
    assert [edge["node"]["id"] for edge in not_overdue["edges"]] == [voided["id"]]
    # and staff list it by its status
    assert await invoice_count(gql, tenant.admin, status=["VOID"]) == 1


async def test_statements_do_not_count_a_voided_invoice(gql, tenant, runtime):
    client, _ = await portal_client(gql, runtime, tenant.admin)
    kept = await create_invoice(gql, tenant.admin, client["id"], **LATE_DUE)
    await send_invoice(gql, tenant.admin, kept["id"])
    voided = await voided_sent_invoice(gql, tenant.admin, client["id"], **LATE_DUE)
    variables = {
        "from": (TODAY - timedelta(days=60)).isoformat(),
        "to": TODAY.isoformat(),
        "clientId": client["id"],
    }
    result = (await gql.data(STATEMENT, variables, token=tenant.admin))["statement"]
    assert (result["invoiced"], result["closingBalance"], result["aging"]["total"]) == (
        "100.00",
        "100.00",
        "100.00",
    )
    assert voided["id"] not in {entry["documentId"] for entry in result["entries"]}


async def test_contacts_never_see_a_voided_invoice(gql, tenant, runtime):
    client, tokens = await portal_client(gql, runtime, tenant.admin)
    voided = await voided_sent_invoice(gql, tenant.admin, client["id"])
    contact = tokens["BILLING"]
    body = await gql(CONTACT_INVOICE, {"id": voided["id"]}, token=contact)
    assert error_of(body) == {"code": "NOT_FOUND"}
    listed = await gql.data(CONTACT_INVOICES, {"status": ["VOID"]}, token=contact)
    assert listed["invoices"] == {"totalCount": 0, "edges": []}
    assert (await gql.data(CONTACT_INVOICES, {}, token=contact))["invoices"]["totalCount"] == 0
