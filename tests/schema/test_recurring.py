"""Recurring invoices through the API: staff manage schedules, the scheduler issues the
invoices, and the portal shows a client its schedules (seed 004) and upcoming dates
(seed 000)."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from models.clients import Contact
from services.portal.sessions import start_contact_session
from services.recurring.periods import add_months
from services.recurring.scheduler import generate_due_invoices

TODAY = datetime.now(UTC).date()

CREATE_CLIENT = """
mutation($input: ClientInput!) { createClient(input: $input) { id contacts { id role } } }
"""
ARCHIVE_CLIENT = "mutation($id: ID!) { archiveClient(id: $id) { id } }"
FIELDS = """
fragment RecurringFields on RecurringInvoice {
  id status frequency currency startDate nextSendDate remainingCycles autoBill autoBillEnabled
  dueDays poNumber publicNotes privateNotes terms subtotal taxTotal total pausedAt
  canChangeAutoBill chargesAutomatically
  client { id }
  lines { description quantity unitPrice total }
}
"""
CREATE = (
    "mutation($input: RecurringInvoiceInput!) {"
    " createRecurringInvoice(input: $input) { ...RecurringFields } }" + FIELDS
)
UPDATE = (
    "mutation($id: ID!, $input: RecurringInvoiceInput!) {"
    " updateRecurringInvoice(id: $id, input: $input) { ...RecurringFields } }" + FIELDS
)
START = "mutation($id: ID!) { startRecurringInvoice(id: $id) { ...RecurringFields } }" + FIELDS
PAUSE = "mutation($id: ID!) { pauseRecurringInvoice(id: $id) { ...RecurringFields } }" + FIELDS
RESUME = "mutation($id: ID!) { resumeRecurringInvoice(id: $id) { ...RecurringFields } }" + FIELDS
DELETE = "mutation($id: ID!) { deleteRecurringInvoice(id: $id) }"
SET_AUTO_BILL = """
mutation($id: ID!, $enabled: Boolean!) {
  setRecurringInvoiceAutoBill(id: $id, enabled: $enabled) {
    autoBillEnabled canChangeAutoBill chargesAutomatically
  }
}
"""
UPCOMING = """
query($id: ID!, $count: Int!) {
  recurringInvoice(id: $id) { status nextSendDate upcomingDates(count: $count) }
}
"""
ISSUED = """
query($id: ID!, $first: Int, $after: String) {
  recurringInvoice(id: $id) {
    remainingCycles nextSendDate
    invoices(first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes { id number status issueDate dueDate total }
    }
  }
}
"""
PORTAL_LIST = """
{
  recurringInvoices {
    totalCount
    nodes {
      id status frequency startDate nextSendDate remainingCycles total
      upcomingDates(count: 3)
      invoices { totalCount nodes { number } }
    }
  }
}
"""
PORTAL_ONE = "query($id: ID!) { recurringInvoice(id: $id) { id status } }"
STAFF_LIST = "{ recurringInvoices { totalCount nodes { id status } } }"
VOID_INVOICE = "mutation($id: ID!) { voidInvoice(id: $id) { id status } }"
VIEW_AS = "mutation($id: ID!) { viewAsContact(contactId: $id) { token } }"


def line(description="Retainer", quantity="1", unit_price="500.00", **extra):
    return {"description": description, "quantity": quantity, "unitPrice": unit_price, **extra}


def error_of(body):
    assert body.get("data") is None, body
    return body["errors"][0]["extensions"]


def missing_field(body, name, type_name):
    assert body.get("data") is None, body
    messages = [error["message"] for error in body["errors"]]
    return f"Cannot query field '{name}' on type '{type_name}'." in messages


async def contact_token(runtime, contact_id):
    async with runtime.sessions() as session:
        contact = await session.get(Contact, uuid.UUID(contact_id))
        token = await start_contact_session(
            session=session, signer=runtime.signer, contact=contact, ttl=runtime.session_ttl
        )
        await session.commit()
    return token


async def portal_client(gql, runtime, tenant, name="Acme Corp", roles=("BILLING",), **fields):
    """A client with one contact per role; the client and a token (and id) per role."""
    slug = name.split()[0].lower()
    contacts = [{"email": f"{role.lower()}@{slug}.test", "role": role} for role in roles]
    client = (
        await gql.data(
            CREATE_CLIENT,
            {"input": {"name": name, "contacts": contacts, **fields}},
            token=tenant.admin,
        )
    )["createClient"]
    tokens = {}
    for contact in client["contacts"]:
        tokens[contact["role"]] = await contact_token(runtime, contact["id"])
        tokens[contact["role"] + "_ID"] = contact["id"]
    return client, tokens


async def create(gql, token, client_id, **fields):
    fields.setdefault("lines", [line()])
    data = await gql.data(CREATE, {"input": {"clientId": client_id, **fields}}, token=token)
    return data["createRecurringInvoice"]


async def started(gql, tenant, client_id, **fields):
    recurring = await create(gql, tenant.admin, client_id, **fields)
    return (await gql.data(START, {"id": recurring["id"]}, token=tenant.admin))[
        "startRecurringInvoice"
    ]


async def run_scheduler(runtime, today):
    return await generate_due_invoices(runtime, today=today)


async def test_staff_create_a_draft_then_start_it(gql, runtime, tenant):
    client, _ = await portal_client(gql, runtime, tenant)
    start = TODAY + timedelta(days=3)
    # when staff create a schedule: every other month, 3 cycles, opt-out auto-bill
    draft = await create(
        gql,
        tenant.admin,
        client["id"],
        frequency="TWO_MONTHS",
        startDate=start.isoformat(),
        remainingCycles=3,
        autoBill="OPT_OUT",
        dueDays=10,
        poNumber="PO-7",
        publicNotes="Thanks!",
        privateNotes="Negotiated rate",
        terms="Net 10",
        lines=[line(), line("Hosting", unit_price="100.00", taxRate="10", taxName="VAT")],
    )
    # then it is a draft with no send date, and the amounts are computed
    assert draft["status"] == "DRAFT"
    assert (draft["frequency"], draft["startDate"], draft["nextSendDate"]) == (
        "TWO_MONTHS",
        start.isoformat(),
        None,
    )
    assert (draft["remainingCycles"], draft["dueDays"], draft["currency"]) == (3, 10, "USD")
    assert (draft["autoBill"], draft["autoBillEnabled"], draft["chargesAutomatically"]) == (
        "OPT_OUT",
        True,
        True,
    )
    assert (draft["subtotal"], draft["taxTotal"], draft["total"]) == ("600.00", "10.00", "610.00")
    assert [(item["description"], item["total"]) for item in draft["lines"]] == [
        ("Retainer", "500.00"),
        ("Hosting", "110.00"),
    ]
    assert (draft["poNumber"], draft["privateNotes"], draft["terms"]) == (
        "PO-7",
        "Negotiated rate",
        "Net 10",
    )
    upcoming = await gql.data(UPCOMING, {"id": draft["id"], "count": 5}, token=tenant.admin)
    assert upcoming["recurringInvoice"]["upcomingDates"] == []
    # when it is started
    active = (await gql.data(START, {"id": draft["id"]}, token=tenant.admin))[
        "startRecurringInvoice"
    ]
    # then the first invoice is due on the start date, and 3 dates are ahead
    assert (active["status"], active["nextSendDate"]) == ("ACTIVE", start.isoformat())
    upcoming = await gql.data(UPCOMING, {"id": draft["id"], "count": 5}, token=tenant.admin)
    assert upcoming["recurringInvoice"]["upcomingDates"] == [
        start.isoformat(),
        add_months(start, 2).isoformat(),
        add_months(start, 4).isoformat(),
    ]
    # and starting twice is refused
    assert error_of(await gql(START, {"id": draft["id"]}, token=tenant.admin))["code"] == (
        "CONFLICT"
    )


async def test_omitted_cycles_mean_no_end_and_defaults_apply(gql, runtime, tenant):
    client, _ = await portal_client(gql, runtime, tenant)
    draft = await create(gql, tenant.admin, client["id"])
    assert (draft["frequency"], draft["startDate"], draft["remainingCycles"]) == (
        "MONTHLY",
        TODAY.isoformat(),
        None,
    )
    assert (draft["autoBill"], draft["chargesAutomatically"], draft["dueDays"]) == (
        "OFF",
        False,
        30,
    )


async def test_the_scheduler_issues_invoices_shown_on_the_schedule(gql, runtime, tenant):
    # given a monthly schedule of 5 cycles, started today
    client, _ = await portal_client(gql, runtime, tenant)
    recurring = await started(gql, tenant, client["id"], remainingCycles=5, dueDays=7)
    # when the scheduler runs two months later (catching up)
    await run_scheduler(runtime, add_months(TODAY, 2))
    # then the schedule lists its 3 invoices, newest first, and 2 cycles are left
    data = await gql.data(ISSUED, {"id": recurring["id"]}, token=tenant.admin)
    schedule = data["recurringInvoice"]
    assert (schedule["remainingCycles"], schedule["nextSendDate"]) == (
        2,
        add_months(TODAY, 3).isoformat(),
    )
    invoices = schedule["invoices"]
    assert invoices["totalCount"] == 3
    assert [(i["number"], i["status"], i["total"]) for i in invoices["nodes"]] == [
        ("INV-0003", "SENT", "500.00"),
        ("INV-0002", "SENT", "500.00"),
        ("INV-0001", "SENT", "500.00"),
    ]
    assert [(i["issueDate"], i["dueDate"]) for i in invoices["nodes"]][-1] == (
        TODAY.isoformat(),
        (TODAY + timedelta(days=7)).isoformat(),
    )
    # and pages follow the usual cursors
    first = await gql.data(ISSUED, {"id": recurring["id"], "first": 2}, token=tenant.admin)
    page = first["recurringInvoice"]["invoices"]
    assert [i["number"] for i in page["nodes"]] == ["INV-0003", "INV-0002"]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = await gql.data(
        ISSUED,
        {"id": recurring["id"], "first": 2, "after": page["pageInfo"]["endCursor"]},
        token=tenant.admin,
    )
    assert [i["number"] for i in rest["recurringInvoice"]["invoices"]["nodes"]] == ["INV-0001"]
    assert rest["recurringInvoice"]["invoices"]["pageInfo"]["hasNextPage"] is False


async def test_a_contact_sees_only_its_clients_started_schedules(gql, runtime, tenant):
    # given two clients with schedules, and a draft for the first
    acme, acme_tokens = await portal_client(gql, runtime, tenant, "Acme Corp")
    globex, _ = await portal_client(gql, runtime, tenant, "Globex Inc")
    mine = await started(gql, tenant, acme["id"], remainingCycles=4)
    draft = await create(gql, tenant.admin, acme["id"])
    theirs = await started(gql, tenant, globex["id"])
    await run_scheduler(runtime, add_months(TODAY, 1))
    # and one of Acme's issued invoices is voided
    staff_view = await gql.data(ISSUED, {"id": mine["id"]}, token=tenant.admin)
    newest, oldest = staff_view["recurringInvoice"]["invoices"]["nodes"]
    await gql.data(VOID_INVOICE, {"id": newest["id"]}, token=tenant.admin)
    # when Acme's billing contact opens the portal's recurring invoices
    data = await gql.data(PORTAL_LIST, token=acme_tokens["BILLING"])
    # then only Acme's started schedule is there, with what seed 004 lists
    listed = data["recurringInvoices"]
    assert listed["totalCount"] == 1
    (schedule,) = listed["nodes"]
    assert schedule["id"] == mine["id"]
    assert (
        schedule["status"],
        schedule["frequency"],
        schedule["startDate"],
        schedule["nextSendDate"],
        schedule["remainingCycles"],
        schedule["total"],
    ) == (
        "ACTIVE",
        "MONTHLY",
        TODAY.isoformat(),
        add_months(TODAY, 2).isoformat(),
        2,
        "500.00",
    )
    assert schedule["upcomingDates"] == [
        add_months(TODAY, 2).isoformat(),
        add_months(TODAY, 3).isoformat(),
    ]
    # and "View" shows the invoices issued from it, without the voided one
    assert schedule["invoices"] == {"totalCount": 1, "nodes": [{"number": oldest["number"]}]}
    # and the other client's schedule and the draft answer not found
    for other in (theirs["id"], draft["id"]):
        body = await gql(PORTAL_ONE, {"id": other}, token=acme_tokens["BILLING"])
        assert error_of(body)["code"] == "NOT_FOUND"


async def test_pause_and_resume(gql, runtime, tenant):
    client, tokens = await portal_client(gql, runtime, tenant)
    recurring = await started(gql, tenant, client["id"], frequency="WEEKLY")
    await run_scheduler(runtime, TODAY)
    # when it is paused
    paused = (await gql.data(PAUSE, {"id": recurring["id"]}, token=tenant.admin))[
        "pauseRecurringInvoice"
    ]
    # then there is no next date, nothing upcoming, and the scheduler issues nothing
    assert (paused["status"], paused["nextSendDate"]) == ("PAUSED", None)
    assert paused["pausedAt"] is not None
    upcoming = await gql.data(UPCOMING, {"id": recurring["id"], "count": 3}, token=tenant.admin)
    assert upcoming["recurringInvoice"]["upcomingDates"] == []
    assert (await run_scheduler(runtime, TODAY + timedelta(days=14))).issued == []
    # and the client still sees it, paused
    seen = await gql.data(PORTAL_ONE, {"id": recurring["id"]}, token=tokens["BILLING"])
    assert seen["recurringInvoice"]["status"] == "PAUSED"
    # and pausing again changes nothing; starting a paused schedule is refused
    again = (await gql.data(PAUSE, {"id": recurring["id"]}, token=tenant.admin))[
        "pauseRecurringInvoice"
    ]
    assert again == paused
    assert error_of(await gql(START, {"id": recurring["id"]}, token=tenant.admin))["code"] == (
        "CONFLICT"
    )
    # when it is resumed (today: today's period was issued already)
    resumed = (await gql.data(RESUME, {"id": recurring["id"]}, token=tenant.admin))[
        "resumeRecurringInvoice"
    ]
    # then it continues with the next week
    assert (resumed["status"], resumed["nextSendDate"], resumed["pausedAt"]) == (
        "ACTIVE",
        (TODAY + timedelta(days=7)).isoformat(),
        None,
    )


async def test_what_can_change_once_started(gql, runtime, tenant):
    client, _ = await portal_client(gql, runtime, tenant)
    other, _ = await portal_client(gql, runtime, tenant, "Globex Inc")
    # a draft may change anything, and an explicit null cycles count means no end
    draft = await create(gql, tenant.admin, client["id"], remainingCycles=4)
    later = TODAY + timedelta(days=10)
    changed = (
        await gql.data(
            UPDATE,
            {
                "id": draft["id"],
                "input": {
                    "clientId": other["id"],
                    "startDate": later.isoformat(),
                    "currency": "EUR",
                    "remainingCycles": None,
                },
            },
            token=tenant.admin,
        )
    )["updateRecurringInvoice"]
    assert (changed["client"]["id"], changed["startDate"], changed["currency"]) == (
        other["id"],
        later.isoformat(),
        "EUR",
    )
    assert changed["remainingCycles"] is None
    # and omitting the count leaves it as it is
    kept = (
        await gql.data(
            UPDATE,
            {"id": draft["id"], "input": {"remainingCycles": 6}},
            token=tenant.admin,
        )
    )["updateRecurringInvoice"]
    assert kept["remainingCycles"] == 6
    kept = (
        await gql.data(UPDATE, {"id": draft["id"], "input": {"dueDays": 5}}, token=tenant.admin)
    )["updateRecurringInvoice"]
    assert (kept["remainingCycles"], kept["dueDays"]) == (6, 5)
    # once started, client, currency and start date are fixed
    await gql.data(START, {"id": draft["id"]}, token=tenant.admin)
    for fields, name in (
        ({"clientId": client["id"]}, "clientId"),
        ({"currency": "USD"}, "currency"),
        ({"startDate": (later + timedelta(days=1)).isoformat()}, "startDate"),
    ):
        body = await gql(UPDATE, {"id": draft["id"], "input": fields}, token=tenant.admin)
        assert error_of(body) == {"code": "CONFLICT", "field": name}
    # and its total must stay above zero
    body = await gql(
        UPDATE,
        {"id": draft["id"], "input": {"lines": [line(unit_price="0")]}},
        token=tenant.admin,
    )
    assert error_of(body) == {"code": "CONFLICT", "field": "lines"}
    # but lines and frequency may change; the next date follows the new frequency
    updated = (
        await gql.data(
            UPDATE,
            {
                "id": draft["id"],
                "input": {"frequency": "WEEKLY", "lines": [line(unit_price="75.00")]},
            },
            token=tenant.admin,
        )
    )["updateRecurringInvoice"]
    assert (updated["frequency"], updated["nextSendDate"], updated["total"]) == (
        "WEEKLY",
        later.isoformat(),
        "75.00",
    )


async def test_a_completed_schedule_can_no_longer_change(gql, runtime, tenant):
    client, _ = await portal_client(gql, runtime, tenant)
    recurring = await started(gql, tenant, client["id"], remainingCycles=1)
    await run_scheduler(runtime, TODAY)
    data = await gql.data(UPCOMING, {"id": recurring["id"], "count": 3}, token=tenant.admin)
    assert data["recurringInvoice"] == {
        "status": "COMPLETED",
        "nextSendDate": None,
        "upcomingDates": [],
    }
    body = await gql(UPDATE, {"id": recurring["id"], "input": {"dueDays": 3}}, token=tenant.admin)
    assert error_of(body)["code"] == "CONFLICT"
    for document in (PAUSE, RESUME, START, DELETE):
        assert error_of(await gql(document, {"id": recurring["id"]}, token=tenant.admin))[
            "code"
        ] == ("CONFLICT")


async def test_invalid_input_is_refused_with_its_field(gql, runtime, tenant):
    client, _ = await portal_client(gql, runtime, tenant)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"startDate": (TODAY - timedelta(days=1)).isoformat()}, "startDate"),
        ({"startDate": (TODAY + timedelta(days=3000)).isoformat()}, "startDate"),
        ({"remainingCycles": 0}, "remainingCycles"),
        ({"remainingCycles": 1001}, "remainingCycles"),
        ({"dueDays": -1}, "dueDays"),
        ({"dueDays": 366}, "dueDays"),
        ({"currency": "XXQ"}, "currency"),
        ({"lines": [line(unit_price="1.001")]}, "lines.0.unitPrice"),
    ]
    for fields, name in cases:
        body = await gql(
            CREATE,
            {"input": {"clientId": client["id"], "lines": [line()], **fields}},
            token=tenant.admin,
        )
        assert error_of(body) == {"code": "BAD_USER_INPUT", "field": name}, fields
    body = await gql(CREATE, {"input": {"lines": [line()]}}, token=tenant.admin)
    assert error_of(body) == {"code": "BAD_USER_INPUT", "field": "clientId"}
    # a schedule without an amount cannot start
    empty = await create(gql, tenant.admin, client["id"], lines=[])
    assert error_of(await gql(START, {"id": empty["id"]}, token=tenant.admin)) == {
        "code": "CONFLICT",
        "field": "lines",
    }
    # upcoming dates are bounded
    body = await gql(UPCOMING, {"id": empty["id"], "count": 25}, token=tenant.admin)
    assert error_of(body) == {"code": "BAD_USER_INPUT", "field": "count"}
    # an archived client gets no schedule started
    ready = await create(gql, tenant.admin, client["id"])
    await gql.data(ARCHIVE_CLIENT, {"id": client["id"]}, token=tenant.admin)
    assert error_of(await gql(START, {"id": ready["id"]}, token=tenant.admin)) == {
        "code": "CONFLICT",
        "field": "clientId",
    }
    body = await gql(CREATE, {"input": {"clientId": client["id"]}}, token=tenant.admin)
    assert error_of(body) == {"code": "CONFLICT", "field": "clientId"}


async def test_only_drafts_can_be_deleted(gql, runtime, tenant):
    client, _ = await portal_client(gql, runtime, tenant)
    draft = await create(gql, tenant.admin, client["id"])
    active = await started(gql, tenant, client["id"])
    deleted = await gql.data(DELETE, {"id": draft["id"]}, token=tenant.admin)
    assert deleted == {"deleteRecurringInvoice": draft["id"]}
    assert error_of(await gql(PORTAL_ONE, {"id": draft["id"]}, token=tenant.admin))["code"] == (
        "NOT_FOUND"
    )
    assert error_of(await gql(DELETE, {"id": active["id"]}, token=tenant.admin))["code"] == (
        "CONFLICT"
    )
    listed = await gql.data(STAFF_LIST, token=tenant.admin)
    assert [node["id"] for node in listed["recurringInvoices"]["nodes"]] == [active["id"]]


async def test_the_client_chooses_auto_bill_only_where_the_business_allows(gql, runtime, tenant):
    client, tokens = await portal_client(gql, runtime, tenant)
    opt_in = await started(gql, tenant, client["id"], autoBill="OPT_IN")
    always = await started(gql, tenant, client["id"], autoBill="ALWAYS")
    assert (opt_in["autoBillEnabled"], opt_in["chargesAutomatically"]) == (False, False)
    # when the billing contact opts in
    data = await gql.data(
        SET_AUTO_BILL, {"id": opt_in["id"], "enabled": True}, token=tokens["BILLING"]
    )
    assert data["setRecurringInvoiceAutoBill"] == {
        "autoBillEnabled": True,
        "canChangeAutoBill": True,
        "chargesAutomatically": True,
    }
    # then the next invoice is marked to be charged
    result = await run_scheduler(runtime, TODAY)
    assert sorted(str(item.recurring_invoice_id) for item in result.to_charge) == sorted(
        [opt_in["id"], always["id"]]
    )
    # and where the business decides, the contact cannot
    body = await gql(SET_AUTO_BILL, {"id": always["id"], "enabled": False}, token=tokens["BILLING"])
    assert error_of(body)["code"] == "CONFLICT"
    # and when staff switch the policy to opt-out, the choice starts at "on"
    switched = (
        await gql.data(
            UPDATE, {"id": always["id"], "input": {"autoBill": "OPT_OUT"}}, token=tenant.admin
        )
    )["updateRecurringInvoice"]
    assert (switched["autoBillEnabled"], switched["canChangeAutoBill"]) == (True, True)
    # and to opt-in, at "off"
    switched = (
        await gql.data(
            UPDATE, {"id": always["id"], "input": {"autoBill": "OPT_IN"}}, token=tenant.admin
        )
    )["updateRecurringInvoice"]
    assert (switched["autoBillEnabled"], switched["chargesAutomatically"]) == (False, False)


# --- who may do what ---------------------------------------------------------------------


async def test_staff_without_billing_rights_neither_see_nor_manage_schedules(gql, runtime, tenant):
    from models.enums import StaffRole

    client, _ = await portal_client(gql, runtime, tenant)
    recurring = await started(gql, tenant, client["id"])
    member = tenant.tokens[StaffRole.MEMBER]
    # a member has no recurring invoices at all
    assert missing_field(await gql(STAFF_LIST, token=member), "recurringInvoices", "Query")
    for document, name in (
        (CREATE, "createRecurringInvoice"),
        (PAUSE, "pauseRecurringInvoice"),
        (DELETE, "deleteRecurringInvoice"),
    ):
        variables = {"id": recurring["id"], "input": {"clientId": client["id"]}}
        if document is not CREATE:
            variables.pop("input")
        else:
            variables.pop("id")
        assert missing_field(await gql(document, variables, token=member), name, "Mutation")
    # while a manager may manage them
    manager = tenant.tokens[StaffRole.MANAGER]
    paused = await gql.data(PAUSE, {"id": recurring["id"]}, token=manager)
    assert paused["pauseRecurringInvoice"]["status"] == "PAUSED"


async def test_contacts_cannot_manage_schedules(gql, runtime, tenant):
    client, tokens = await portal_client(
        gql, runtime, tenant, roles=("BILLING", "COLLABORATOR", "VIEWER")
    )
    recurring = await started(gql, tenant, client["id"], autoBill="OPT_IN")
    # a collaborator (no money) does not see recurring invoices at all
    body = await gql(PORTAL_LIST, token=tokens["COLLABORATOR"])
    assert missing_field(body, "recurringInvoices", "Query")
    # no contact may create, change, start, pause, resume or delete a schedule
    for role in ("BILLING", "VIEWER"):
        body = await gql(CREATE, {"input": {"clientId": client["id"]}}, token=tokens[role])
        assert missing_field(body, "createRecurringInvoice", "Mutation"), role
        for document, name in (
            (PAUSE, "pauseRecurringInvoice"),
            (RESUME, "resumeRecurringInvoice"),
            (START, "startRecurringInvoice"),
            (DELETE, "deleteRecurringInvoice"),
        ):
            body = await gql(document, {"id": recurring["id"]}, token=tokens[role])
            assert missing_field(body, name, "Mutation"), (role, name)
    # a viewer reads but cannot choose auto-bill, nor can staff viewing as the billing contact
    assert (await gql.data(PORTAL_LIST, token=tokens["VIEWER"]))["recurringInvoices"][
        "totalCount"
    ] == 1
    body = await gql(
        SET_AUTO_BILL, {"id": recurring["id"], "enabled": True}, token=tokens["VIEWER"]
    )
    assert missing_field(body, "setRecurringInvoiceAutoBill", "Mutation")
    view_as = (await gql.data(VIEW_AS, {"id": tokens["BILLING_ID"]}, token=tenant.admin))[
        "viewAsContact"
    ]["token"]
    body = await gql(SET_AUTO_BILL, {"id": recurring["id"], "enabled": True}, token=view_as)
    assert body.get("data") is None
    assert body["errors"]
    # and the schedule is as staff left it
    data = await gql.data(UPCOMING, {"id": recurring["id"], "count": 1}, token=tenant.admin)
    assert data["recurringInvoice"]["status"] == "ACTIVE"


async def test_a_client_without_the_invoices_module_sees_schedules_but_not_invoices(
    gql, runtime, tenant
):
    client, tokens = await portal_client(
        gql, runtime, tenant, modules=["CLIENT_PORTAL", "RECURRING_INVOICES"]
    )
    recurring = await started(gql, tenant, client["id"])
    await run_scheduler(runtime, TODAY)
    document = "{ recurringInvoices { nodes { id invoices { totalCount } } } }"
    body = await gql(document, token=tokens["BILLING"])
    assert missing_field(body, "invoices", "RecurringInvoice")
    seen = await gql.data("{ recurringInvoices { nodes { id } } }", token=tokens["BILLING"])
    assert seen["recurringInvoices"]["nodes"] == [{"id": recurring["id"]}]


async def test_statements_do_not_grow_with_schedules(gql, runtime, tenant):
    from sqlalchemy import event

    document = """
    { recurringInvoices(first: 20) { totalCount nodes {
        total upcomingDates(count: 3) client { name } lines { description total }
        invoices(first: 5) { totalCount nodes { number lines { total } } }
    } } }
    """
    client, _ = await portal_client(gql, runtime, tenant)

    async def measure():
        await runtime.mailer.drain()  # the issued invoices' mail is not this query's SQL
        counter = {"n": 0}

        def before(*_args):
            counter["n"] += 1

        event.listen(runtime.engine.sync_engine, "before_cursor_execute", before)
        try:
            data = await gql.data(document, token=tenant.admin)
        finally:
            event.remove(runtime.engine.sync_engine, "before_cursor_execute", before)
        return data["recurringInvoices"]["totalCount"], counter["n"]

    for _ in range(2):
        await started(gql, tenant, client["id"], frequency="WEEKLY")
    await run_scheduler(runtime, TODAY + timedelta(days=7))
    few = await measure()
    for _ in range(4):
        await started(gql, tenant, client["id"], frequency="WEEKLY")
    await run_scheduler(runtime, TODAY + timedelta(days=14))
    many = await measure()
    assert (few[0], many[0]) == (2, 6)
    assert many[1] == few[1]
