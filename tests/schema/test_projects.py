"""Projects: staff create, update and archive them; ``project(id)`` gathers invoices,
documents, tasks and the timeline, each part only where the caller's profile allows it;
``createInvoice(projectId)`` takes a project of the invoice's client only."""

from __future__ import annotations

from models.enums import StaffRole
from tests.schema.collab_helpers import CREATE_TASK, code_of, collab_client, unknown_field

OVERVIEW = """
query($id: ID!) {
  project(id: $id) {
    id name status
    invoices { id status }
    tasks { id }
    documents { id }
    activity { verb }
  }
}
"""
UPDATE = """
mutation($id: ID!, $input: ProjectInput!) {
  updateProject(id: $id, input: $input) { id name status dueDate }
}
"""
ARCHIVE = "mutation($id: ID!) { archiveProject(id: $id) { id status } }"
CREATE_INVOICE = """
mutation($i: InvoiceInput!) { createInvoice(input: $i) { id project { id } } }
"""


async def test_staff_create_update_and_archive_projects(gql, tenant):
    world = await collab_client(gql, tenant.admin)
    project = world["project"]
    assert project["status"] == "ACTIVE"
    member = tenant.tokens[StaffRole.MEMBER]
    updated = await gql.data(
        UPDATE,
        {"id": project["id"], "input": {"name": "Website v2", "dueDate": "2027-01-31"}},
        token=member,
    )
    assert updated["updateProject"]["name"] == "Website v2"
    archived = await gql.data(ARCHIVE, {"id": project["id"]}, token=tenant.admin)
    assert archived["archiveProject"]["status"] == "ARCHIVED"
    body = await gql(UPDATE, {"id": project["id"], "input": {"name": "x"}}, token=tenant.admin)
    assert code_of(body) == "CONFLICT"
    body = await gql(
        CREATE_TASK, {"input": {"projectId": project["id"], "title": "x"}}, token=tenant.admin
    )
    assert code_of(body) == "CONFLICT"
    # contacts have no such mutations
    body = await gql(ARCHIVE, {"id": project["id"]}, token=world["tokens"]["BILLING"])
    assert unknown_field(body, "archiveProject", "Mutation")
    # a timeline of what happened, for staff
    data = await gql.data(OVERVIEW, {"id": project["id"]}, token=tenant.admin)
    assert [a["verb"] for a in data["project"]["activity"]] == [
        "project.created",
        "project.updated",
        "project.archived",
    ]


async def test_the_overview_shows_each_part_only_where_the_profile_allows_it(gql, tenant):
    world = await collab_client(gql, tenant.admin)
    project = world["project"]["id"]
    client = world["client"]["id"]
    # given a draft and a sent invoice of the project, a shared and an internal task
    for send in (False, True):
        invoice = await gql.data(
            CREATE_INVOICE,
            {
                "i": {
                    "clientId": client,
                    "projectId": project,
                    "lines": [{"description": "Work", "quantity": "1", "unitPrice": "10.00"}],
                }
            },
            token=tenant.admin,
        )
        assert invoice["createInvoice"]["project"] == {"id": project}
        if send:
            sent_id = invoice["createInvoice"]["id"]
            await gql.data(
                "mutation($id: ID!) { markInvoiceSent(id: $id) { id } }",
                {"id": sent_id},
                token=tenant.admin,
            )
    for visibility in ("CLIENT_VISIBLE", "INTERNAL"):
        await gql.data(
            CREATE_TASK,
            {"input": {"projectId": project, "title": visibility, "visibility": visibility}},
            token=tenant.admin,
        )
    # staff see everything
    staff = (await gql.data(OVERVIEW, {"id": project}, token=tenant.admin))["project"]
    assert len(staff["invoices"]) == 2
    assert len(staff["tasks"]) == 2
    assert "task.created" in [a["verb"] for a in staff["activity"]]
    # the billing contact: the sent invoice only, the shared task only
    billing = (await gql.data(OVERVIEW, {"id": project}, token=world["tokens"]["BILLING"]))[
        "project"
    ]
    assert billing["invoices"] == [{"id": sent_id, "status": "SENT"}]
    assert len(billing["tasks"]) == 1
    verbs = [a["verb"] for a in billing["activity"]]
    assert verbs.count("task.created") == 1  # the internal task's entry is not shown
    assert "invoice.sent" in verbs
    # the collaborator has no money: no invoices part at all
    collaborator = world["tokens"]["COLLABORATOR"]
    assert unknown_field(
        await gql(OVERVIEW, {"id": project}, token=collaborator), "invoices", "Project"
    )
    no_money = OVERVIEW.replace("invoices { id status }", "")
    part = (await gql.data(no_money, {"id": project}, token=collaborator))["project"]
    assert len(part["tasks"]) == 1
    assert not any(a["verb"].startswith("invoice.") for a in part["activity"])
    # another client's contact cannot open the project
    other = await collab_client(gql, tenant.admin, name="Other", prefix="other")
    assert (
        code_of(await gql(no_money, {"id": project}, token=other["tokens"]["BILLING"]))
        == "NOT_FOUND"
    )


async def test_create_invoice_takes_a_project_of_the_same_client_only(gql, tenant):
    world = await collab_client(gql, tenant.admin)
    other = await collab_client(gql, tenant.admin, name="Other", prefix="other")
    body = await gql(
        CREATE_INVOICE,
        {"i": {"clientId": world["client"]["id"], "projectId": other["project"]["id"]}},
        token=tenant.admin,
    )
    assert code_of(body) == "BAD_USER_INPUT"
    assert body["errors"][0]["extensions"].get("field") == "projectId"
    body = await gql(
        CREATE_INVOICE,
        {
            "i": {
                "clientId": world["client"]["id"],
                "projectId": "00000000-0000-0000-0000-000000000000",
            }
        },
        token=tenant.admin,
    )
    assert code_of(body) == "NOT_FOUND"
