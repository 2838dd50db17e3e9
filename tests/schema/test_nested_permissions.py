"""Nested types follow the policy: a partner token reads through nested fields no more
than its scopes give it at the root (``auth.policy.TYPE_READS``), and its rows of work
(documents, tasks) are those the clients' contacts see. Over HTTP, with tokens made by
``createApiToken``, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlmodel import select

from models.clients import Contact
from models.documents import Document
from models.enums import TaskVisibility
from models.projects import Project, Task
from services.portal.sessions import start_contact_session

CREATE_CLIENT = """
mutation($input: ClientInput!) { createClient(input: $input) { id contacts { id } } }
"""
CREATE_INVOICE = "mutation($input: InvoiceInput!) { createInvoice(input: $input) { id } }"
SEND_INVOICE = "mutation($id: ID!) { sendInvoice(id: $id) { id } }"
RECORD_PAYMENT = "mutation($input: RecordPaymentInput!) { recordPayment(input: $input) { id } }"
CREATE_API_TOKEN = """
mutation($scopes: [String!]!) { createApiToken(name: "Partner", scopes: $scopes) { token } }
"""
TODAY = datetime.now(UTC).date()

ALLOCATIONS = "{ payments { nodes { amount allocations { amount invoiceId } } } }"
ALLOCATED_INVOICE = "{ payments { nodes { allocations { invoice { id total } } } } }"
INVOICE_CLIENT = "{ invoices { nodes { client { FIELDS } } } }"
STATEMENT_CLIENT = """
query($client: ID!, $from: Date!, $to: Date!) {
  statement(from: $from, to: $to, clientId: $client) { closingBalance client { FIELDS } }
}
"""
CONTACT_DETAILS = ("company", "email", "phone", "address", "contacts { email }")
DOCUMENTS = "{ documents { nodes { id filename } } }"
DOCUMENT = "query($id: ID!) { document(id: $id) { id } }"
TASKS = "{ tasks { nodes { id } } }"
TASK = "query($id: ID!) { task(id: $id) { id } }"
PROJECT_WORK = "{ projects { nodes { tasks { id } documents { id } } } }"


async def partner(gql: Any, tenant: Any, *scopes: str) -> str:
    data = await gql.data(CREATE_API_TOKEN, {"scopes": list(scopes)}, token=tenant.admin)
    token: str = data["createApiToken"]["token"]
    return token


def unknown_field(body: dict[str, Any], field: str, type_name: str) -> bool:
    """The answer of a document naming a field that does not exist for the caller."""
    assert body.get("data") is None, body
    messages = [error["message"] for error in body["errors"]]
    codes = {error["extensions"]["code"] for error in body["errors"]}
    return f"Cannot query field '{field}' on type '{type_name}'." in messages and codes == {
        "GRAPHQL_VALIDATION_FAILED"
    }


def not_found(body: dict[str, Any]) -> bool:
    assert body.get("data") is None, body
    return bool(body["errors"][0]["extensions"]["code"] == "NOT_FOUND")


async def billed_client(gql: Any, tenant: Any) -> tuple[dict[str, Any], str]:
    """A client with contact details and a BILLING contact, one sent invoice paid in part."""
    client = (
        await gql.data(
            CREATE_CLIENT,
            {
                "input": {
                    "name": "Acme",
                    "company": "Acme Holdings",
                    "email": "ap@acme.test",
                    "phone": "+1 555 0100",
                    "address": "1 Road Runner Way",
                    "contacts": [{"email": "billing@acme.test", "role": "BILLING"}],
                }
            },
            token=tenant.admin,
        )
    )["createClient"]
    lines = [{"description": "Work", "quantity": "1", "unitPrice": "100.00"}]
    created = await gql.data(
        CREATE_INVOICE, {"input": {"clientId": client["id"], "lines": lines}}, token=tenant.admin
    )
    invoice_id: str = created["createInvoice"]["id"]
    await gql.data(SEND_INVOICE, {"id": invoice_id}, token=tenant.admin)
    payment = {
        "clientId": client["id"],
        "amount": "40.00",
        "method": "CHECK",
        "allocations": [{"invoiceId": invoice_id, "amount": "40.00"}],
    }
    await gql.data(RECORD_PAYMENT, {"input": payment}, token=tenant.admin)
    return client, invoice_id


async def test_a_payments_token_reads_allocations_but_not_their_invoices(backend, gql, tenant):
    # given a payment applied to an invoice, and a partner token with payments:read only
    _client, invoice_id = await billed_client(gql, tenant)
    token = await partner(gql, tenant, "payments:read")
    # when the partner reads the payment's allocations
    data = await gql.data(ALLOCATIONS, token=token)
    # then it gets each allocation's amount and the invoice's id
    assert data["payments"]["nodes"] == [
        {"amount": "40.00", "allocations": [{"amount": "40.00", "invoiceId": invoice_id}]}
    ]
    # but not the invoice: the field does not exist for it, like at the root
    assert unknown_field(await gql(ALLOCATED_INVOICE, token=token), "invoice", "PaymentAllocation")
    assert unknown_field(await gql("{ invoices { totalCount } }", token=token), "invoices", "Query")
    # and with invoices:read as well it reads the invoice through the allocation
    both = await partner(gql, tenant, "payments:read", "invoices:read")
    data = await gql.data(ALLOCATED_INVOICE, token=both)
    assert data["payments"]["nodes"][0]["allocations"] == [
        {"invoice": {"id": invoice_id, "total": "100.00"}}
    ]


async def test_invoice_and_statement_tokens_read_only_the_clients_id_and_name(backend, gql, tenant):
    # given a client with contact details and a contact, and an invoice of it
    client, _invoice_id = await billed_client(gql, tenant)
    period = {"client": client["id"], "from": TODAY.isoformat(), "to": TODAY.isoformat()}
    invoices = await partner(gql, tenant, "invoices:read")
    statements = await partner(gql, tenant, "statements:read")
    # when partners with invoices:read or statements:read follow the client
    data = await gql.data(INVOICE_CLIENT.replace("FIELDS", "id name"), token=invoices)
    statement = await gql.data(
        STATEMENT_CLIENT.replace("FIELDS", "id name"), period, token=statements
    )
    # then they read its id and name
    assert data["invoices"]["nodes"] == [{"client": {"id": client["id"], "name": "Acme"}}]
    assert statement["statement"]["client"] == {"id": client["id"], "name": "Acme"}
    # and none of its contact details or contacts: those fields do not exist for them
    for detail in CONTACT_DETAILS:
        name = detail.split()[0]
        body = await gql(INVOICE_CLIENT.replace("FIELDS", detail), token=invoices)
        assert unknown_field(body, name, "Client"), detail
        body = await gql(STATEMENT_CLIENT.replace("FIELDS", detail), period, token=statements)
        assert unknown_field(body, name, "Client"), detail


async def test_clients_read_and_contacts_still_read_the_clients_details(
    backend, gql, tenant, runtime
):
    # given the same client, a partner with clients:read and invoices:read, and the
    # client's billing contact
    client, _invoice_id = await billed_client(gql, tenant)
    token = await partner(gql, tenant, "clients:read", "invoices:read")
    async with runtime.sessions() as session:
        contact = await session.get(Contact, uuid.UUID(client["contacts"][0]["id"]))
        assert contact is not None
        contact_token = await start_contact_session(
            session=session, signer=runtime.signer, contact=contact, ttl=runtime.session_ttl
        )
        await session.commit()
    document = "{ invoices { nodes { client { email phone contacts { email } } } } }"
    expected = {
        "email": "ap@acme.test",
        "phone": "+1 555 0100",
        "contacts": [{"email": "billing@acme.test"}],
    }
    # when each reads the invoice's client in full
    # then both get its contact details
    for caller in (token, contact_token):
        data = await gql.data(document, token=caller)
        assert data["invoices"]["nodes"] == [{"client": expected}]


async def internal_work(runtime: Any, tenant: Any, client_id: str) -> dict[str, uuid.UUID]:
    """A project of the client with a shared and an unshared task, and documents: shared
    in the portal, private, uploaded by the client's contact, and a file of no client."""
    ids: dict[str, uuid.UUID] = {}
    async with runtime.sessions() as session:
        owned: dict[str, Any] = {"account_id": tenant.account_id, "client_id": uuid.UUID(client_id)}
        contact_id = (
            await session.exec(select(Contact.id).where(Contact.client_id == owned["client_id"]))
        ).one()
        project = Project(**owned, name="Website")
        session.add(project)
        await session.flush()
        ids["project"] = project.id
        for shared in (True, False):
            task = Task(
                **owned,
                project_id=project.id,
                title="Design",
                visibility=TaskVisibility.CLIENT_VISIBLE if shared else TaskVisibility.INTERNAL,
            )
            session.add(task)
            await session.flush()
            ids["shared task" if shared else "unshared task"] = task.id
        documents: dict[str, dict[str, Any]] = {
            "shared": {**owned, "project_id": project.id, "visible_in_portal": True},
            "private": {**owned, "project_id": project.id},
            "uploaded": {
                **owned,
                "project_id": project.id,
                "uploaded_by_contact_id": contact_id,
                "uploaded_by_client": True,
            },
            "account-wide": {"account_id": tenant.account_id, "visible_in_portal": True},
        }
        for name, attributes in documents.items():
            row = Document(
                filename=f"{name}.pdf",
                content_type="application/pdf",
                size_bytes=1,
                sha256=hashlib.sha256(uuid.uuid4().bytes).hexdigest(),  # one file per owner
                storage_key=f"test/{uuid.uuid4()}",
                **attributes,
            )
            session.add(row)
            await session.flush()
            ids[name] = row.id
        await session.commit()
    return ids


async def test_a_documents_token_sees_only_documents_shared_in_the_portal(
    backend, gql, tenant, runtime
):
    # given a client's documents: shared, private, uploaded by its contact, and a file of
    # no client; and a partner token with documents:read and projects:read
    client, _invoice_id = await billed_client(gql, tenant)
    ids = await internal_work(runtime, tenant, client["id"])
    token = await partner(gql, tenant, "documents:read", "projects:read")
    # when the partner lists documents, reads each by id, and through the project
    listed = {node["id"] for node in (await gql.data(DOCUMENTS, token=token))["documents"]["nodes"]}
    project = (await gql.data(PROJECT_WORK, token=token))["projects"]["nodes"]
    # then it sees what the client's contacts see: shared and client-uploaded files
    visible = {str(ids["shared"]), str(ids["uploaded"])}
    assert listed == visible
    assert {d["id"] for d in project[0]["documents"]} == visible
    for name in ("shared", "uploaded"):
        assert (await gql.data(DOCUMENT, {"id": str(ids[name])}, token=token))["document"]
    # and the private and account-wide files answer like ids that do not exist
    for name in ("private", "account-wide"):
        assert not_found(await gql(DOCUMENT, {"id": str(ids[name])}, token=token)), name
    assert not_found(await gql(DOCUMENT, {"id": str(uuid.uuid4())}, token=token))
    # while staff see them all
    staff = await gql.data(DOCUMENTS, token=tenant.admin)
    assert len(staff["documents"]["nodes"]) == 4


async def test_a_projects_token_sees_only_shared_tasks(backend, gql, tenant, runtime):
    # given a project with a shared and an unshared task, and a projects:read token
    client, _invoice_id = await billed_client(gql, tenant)
    ids = await internal_work(runtime, tenant, client["id"])
    token = await partner(gql, tenant, "projects:read")
    # when the partner lists tasks, reads them by id, and through the project
    listed = [node["id"] for node in (await gql.data(TASKS, token=token))["tasks"]["nodes"]]
    project = (await gql.data("{ projects { nodes { tasks { id } } } }", token=token))["projects"][
        "nodes"
    ]
    # then it sees only the shared task
    assert listed == [str(ids["shared task"])]
    assert project == [{"tasks": [{"id": str(ids["shared task"])}]}]
    assert (await gql.data(TASK, {"id": str(ids["shared task"])}, token=token))["task"]
    # and the unshared one answers like an id that does not exist
    assert not_found(await gql(TASK, {"id": str(ids["unshared task"])}, token=token))
    # and without documents:read the project's documents are no field at all
    body = await gql(PROJECT_WORK, token=token)
    assert unknown_field(body, "documents", "Project")
    # while staff see both tasks
    staff = await gql.data(TASKS, token=tenant.admin)
    assert len(staff["tasks"]["nodes"]) == 2


async def test_nested_fields_of_the_schema_follow_the_root_fields(backend, gql, tenant):
    # given partner tokens of one scope each
    quotes = await partner(gql, tenant, "quotes:read")
    credits = await partner(gql, tenant, "credits:read")
    # when they follow a nested field to a type their scope does not give at the root
    # then the field does not exist for them
    converted = "{ quotes { nodes { convertedInvoice { id } } } }"
    assert unknown_field(await gql(converted, token=quotes), "convertedInvoice", "Quote")
    applied = "{ credits { nodes { applications { invoice { id } } } } }"
    assert unknown_field(await gql(applied, token=credits), "invoice", "CreditApplication")
    # and the id of the invoice a credit went to stays readable
    data = await gql.data("{ credits { nodes { applications { invoiceId } } } }", token=credits)
    assert data["credits"]["nodes"] == []
