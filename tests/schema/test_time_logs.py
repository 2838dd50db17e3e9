"""Time logs: staff log time; contacts read hours and descriptions where TIME_LOGS is on,
never rates or amounts (the fields do not exist for them); ``invoiceTimeLogs`` bills
billable unbilled time exactly (Decimal hours x rate), once."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from models.enums import StaffRole
from tests.schema.collab_helpers import code_of, collab_client, unknown_field

LOG = """
mutation($input: TimeLogInput!) {
  logTime(input: $input) { id minutes hours date billable description hourlyRate amount invoiced }
}
"""
CONTACT_LOGS = "query { timeLogs(first: 20) { edges { node { id hours description minutes } } } }"
INVOICE = """
mutation($projectId: ID!, $ids: [ID!], $invoiceId: ID) {
  invoiceTimeLogs(projectId: $projectId, timeLogIds: $ids, invoiceId: $invoiceId) {
    id status total project { id }
    lines { description quantity unitPrice total }
  }
}
"""
STAFF_LOGS = "query { timeLogs(first: 20) { edges { node { id invoiced invoice { id } } } } }"


async def _log(gql, token, project, minutes, **extra):
    data = await gql.data(
        LOG,
        {"input": {"projectId": project, "minutes": minutes, "date": "2026-11-30", **extra}},
        token=token,
    )
    return data["logTime"]


async def test_staff_log_time_at_the_projects_rate(gql, tenant):
    world = await collab_client(gql, tenant.admin)
    log = await _log(gql, tenant.admin, world["project"]["id"], 90, description="Wireframes")
    assert log["hours"] == "1.5000"
    assert log["date"] == "2026-11-30"
    assert Decimal(log["hourlyRate"]) == Decimal("120.50")
    assert Decimal(log["amount"]) == Decimal("180.75")
    # a member logs time too, but may not set rates
    member = tenant.tokens[StaffRole.MEMBER]
    ok = await gql.data(
        "mutation($i: TimeLogInput!) { logTime(input: $i) { minutes } }",
        {"i": {"projectId": world["project"]["id"], "minutes": 30}},
        token=member,
    )
    assert ok["logTime"]["minutes"] == 30
    body = await gql(
        "mutation($i: TimeLogInput!) { logTime(input: $i) { id } }",
        {"i": {"projectId": world["project"]["id"], "minutes": 30, "hourlyRate": "10"}},
        token=member,
    )
    assert code_of(body) == "FORBIDDEN"
    body = await gql(
        LOG, {"input": {"projectId": world["project"]["id"], "minutes": 0}}, token=tenant.admin
    )
    assert code_of(body) == "BAD_USER_INPUT"


async def test_contacts_read_hours_and_descriptions_never_rates(gql, tenant):
    world = await collab_client(gql, tenant.admin)
    await _log(
        gql, tenant.admin, world["project"]["id"], 45, description="Copy review", costRate="40"
    )
    for role, token in world["tokens"].items():
        # then each contact reads the hours and what was done
        [edge] = (await gql.data(CONTACT_LOGS, token=token))["timeLogs"]["edges"]
        assert edge["node"]["hours"] == "0.7500"
        assert edge["node"]["description"] == "Copy review"
        # and rates, costs and amounts do not exist for it
        for field in ("hourlyRate", "costRate", "amount"):
            body = await gql(
                f"query {{ timeLogs {{ edges {{ node {{ {field} }} }} }} }}", token=token
            )
            assert unknown_field(body, field, "TimeLog"), (role, field)
        body = await gql("query { projects { edges { node { hourlyRate } } } }", token=token)
        assert unknown_field(body, "hourlyRate", "Project")


async def test_invoice_time_logs_bills_exactly_and_only_once(gql, tenant):
    # given billable time at different rates, non-billable time, and another project's time
    world = await collab_client(gql, tenant.admin)
    project = world["project"]["id"]
    a = await _log(gql, tenant.admin, project, 90, description="Design")  # 1.5 h x 120.50
    b = await _log(gql, tenant.admin, project, 20, description="Call", hourlyRate="99.99")
    await _log(gql, tenant.admin, project, 60, billable=False)
    other = await gql.data(
        "mutation($i: ProjectInput!) { createProject(input: $i) { id } }",
        {"i": {"clientId": world["client"]["id"], "name": "Other", "hourlyRate": "10"}},
        token=tenant.admin,
    )
    await _log(gql, tenant.admin, other["createProject"]["id"], 60)
    # when the project's time is invoiced
    invoice = (await gql.data(INVOICE, {"projectId": project}, token=tenant.admin))[
        "invoiceTimeLogs"
    ]
    # then one line per billable log: hours x rate, rounded half up once per line
    assert invoice["status"] == "DRAFT"
    assert invoice["project"]["id"] == project
    lines = [(line["quantity"], line["unitPrice"], line["total"]) for line in invoice["lines"]]
    assert [tuple(Decimal(v) for v in line) for line in lines] == [
        (Decimal("1.5"), Decimal("120.50"), Decimal("180.75")),
        (Decimal("0.3333"), Decimal("99.99"), Decimal("33.33")),  # 33.326667 -> 33.33
    ]
    assert Decimal(invoice["total"]) == Decimal("214.08")
    assert "Design (2026-11-30)" in invoice["lines"][0]["description"]
    # and the logs are marked invoiced on that invoice
    logs = {
        e["node"]["id"]: e["node"]
        for e in (await gql.data(STAFF_LOGS, token=tenant.admin))["timeLogs"]["edges"]
    }
    assert logs[a["id"]]["invoice"] == {"id": invoice["id"]}
    assert logs[b["id"]]["invoiced"] is True
    # when it is asked again: nothing is billed twice
    again = await gql(INVOICE, {"projectId": project}, token=tenant.admin)
    assert code_of(again) == "CONFLICT"
    again = await gql(INVOICE, {"projectId": project, "ids": [a["id"]]}, token=tenant.admin)
    assert code_of(again) == "CONFLICT"
    count = await gql.data("query { invoices { totalCount } }", token=tenant.admin)
    assert count["invoices"]["totalCount"] == 1
    # and invoiced time no longer changes
    body = await gql(
        "mutation($id: ID!) { deleteTimeLog(id: $id) { id } }", {"id": a["id"]}, token=tenant.admin
    )
    assert code_of(body) == "CONFLICT"


async def test_time_is_added_to_a_named_draft_of_the_same_client(gql, tenant):
    world = await collab_client(gql, tenant.admin)
    project = world["project"]["id"]
    draft = await gql.data(
        "mutation($i: InvoiceInput!) { createInvoice(input: $i) { id } }",
        {
            "i": {
                "clientId": world["client"]["id"],
                "lines": [{"description": "Setup", "quantity": "1", "unitPrice": "100.00"}],
            }
        },
        token=tenant.admin,
    )
    draft_id = draft["createInvoice"]["id"]
    log = await _log(gql, tenant.admin, project, 60)
    invoice = (
        await gql.data(
            INVOICE,
            {"projectId": project, "ids": [log["id"]], "invoiceId": draft_id},
            token=tenant.admin,
        )
    )["invoiceTimeLogs"]
    assert invoice["id"] == draft_id
    assert [line["total"] for line in invoice["lines"]] == ["100.00", "120.50"]
    assert Decimal(invoice["total"]) == Decimal("220.50")
    # another client's draft is refused
    other = await collab_client(gql, tenant.admin, name="Other", prefix="other")
    foreign = await gql.data(
        "mutation($i: InvoiceInput!) { createInvoice(input: $i) { id } }",
        {"i": {"clientId": other["client"]["id"]}},
        token=tenant.admin,
    )
    log2 = await _log(gql, tenant.admin, project, 60)
    body = await gql(
        INVOICE,
        {"projectId": project, "ids": [log2["id"]], "invoiceId": foreign["createInvoice"]["id"]},
        token=tenant.admin,
    )
    assert code_of(body) == "BAD_USER_INPUT"


async def test_concurrent_invoicing_bills_the_time_once(gql, tenant):
    # given billable time
    world = await collab_client(gql, tenant.admin)
    project = world["project"]["id"]
    for minutes in (30, 60, 90):
        await _log(gql, tenant.admin, project, minutes)
    # when two staff invoice it at the same moment
    bodies = await asyncio.gather(
        *(gql(INVOICE, {"projectId": project}, token=tenant.admin) for _ in range(2))
    )
    # then one invoice bills all of it and the other call bills nothing
    winners = [b for b in bodies if "errors" not in b]
    assert len(winners) == 1
    assert [code_of(b) for b in bodies if "errors" in b] == ["CONFLICT"]
    assert Decimal(winners[0]["data"]["invoiceTimeLogs"]["total"]) == Decimal("361.50")
    count = await gql.data("query { invoices { totalCount } }", token=tenant.admin)
    assert count["invoices"]["totalCount"] == 1


async def test_voiding_the_invoice_makes_its_time_billable_again(gql, tenant):
    # given time billed on an invoice
    world = await collab_client(gql, tenant.admin)
    project = world["project"]["id"]
    log = await _log(gql, tenant.admin, project, 90, description="Design")
    first = (await gql.data(INVOICE, {"projectId": project}, token=tenant.admin))["invoiceTimeLogs"]
    # when that invoice is voided
    await gql.data(
        "mutation($id: ID!) { voidInvoice(id: $id) { id status } }",
        {"id": first["id"]},
        token=tenant.admin,
    )
    # then the time is no longer invoiced, and billing it again makes a new invoice
    logs = (await gql.data(STAFF_LOGS, token=tenant.admin))["timeLogs"]["edges"]
    assert [(e["node"]["id"], e["node"]["invoiced"], e["node"]["invoice"]) for e in logs] == [
        (log["id"], False, None)
    ]
    second = (await gql.data(INVOICE, {"projectId": project}, token=tenant.admin))[
        "invoiceTimeLogs"
    ]
    assert second["id"] != first["id"]
    assert Decimal(second["total"]) == Decimal("180.75")


UPDATE = """
mutation($id: ID!, $input: InvoiceInput!) {
  updateInvoice(id: $id, input: $input) { id currency total lines { description total } }
}
"""


async def test_replacing_the_lines_makes_the_time_they_billed_billable_again(gql, tenant):
    # given time billed on a draft invoice
    world = await collab_client(gql, tenant.admin)
    project = world["project"]["id"]
    log = await _log(gql, tenant.admin, project, 90, description="Design")
    draft = (await gql.data(INVOICE, {"projectId": project}, token=tenant.admin))["invoiceTimeLogs"]
    # when staff replace its lines with a fixed fee
    lines = [{"description": "Fixed fee", "quantity": "1", "unitPrice": "150.00"}]
    updated = await gql.data(
        UPDATE, {"id": draft["id"], "input": {"lines": lines}}, token=tenant.admin
    )
    assert updated["updateInvoice"]["lines"] == [{"description": "Fixed fee", "total": "150.00"}]
    # then the time is no longer invoiced, and can be billed again
    logs = (await gql.data(STAFF_LOGS, token=tenant.admin))["timeLogs"]["edges"]
    assert [(e["node"]["id"], e["node"]["invoiced"], e["node"]["invoice"]) for e in logs] == [
        (log["id"], False, None)
    ]
    again = (
        await gql.data(
            INVOICE, {"projectId": project, "invoiceId": draft["id"]}, token=tenant.admin
        )
    )["invoiceTimeLogs"]
    assert [line["total"] for line in again["lines"]] == ["150.00", "180.75"]


async def test_changing_the_currency_keeps_the_time_billed(gql, tenant):
    # given time billed on a draft invoice
    world = await collab_client(gql, tenant.admin)
    project = world["project"]["id"]
    log = await _log(gql, tenant.admin, project, 90, description="Design")
    draft = (await gql.data(INVOICE, {"projectId": project}, token=tenant.admin))["invoiceTimeLogs"]
    # when only its currency changes
    updated = await gql.data(
        UPDATE, {"id": draft["id"], "input": {"currency": "EUR"}}, token=tenant.admin
    )
    assert updated["updateInvoice"]["currency"] == "EUR"
    # then the repriced line still bills the time: it stays invoiced on this invoice
    logs = (await gql.data(STAFF_LOGS, token=tenant.admin))["timeLogs"]["edges"]
    assert [(e["node"]["id"], e["node"]["invoiced"], e["node"]["invoice"]) for e in logs] == [
        (log["id"], True, {"id": draft["id"]})
    ]
    body = await gql(INVOICE, {"projectId": project, "ids": [log["id"]]}, token=tenant.admin)
    assert code_of(body) == "CONFLICT"  # invoiced already
