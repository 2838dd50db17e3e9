"""The activity timeline: who did what, shown to staff in full and to a client's contacts
only where it concerns them; never across accounts."""

import uuid

from sqlalchemy import event

from auth.principals import PartnerPrincipal
from models.activity import Verb
from models.clients import Contact
from models.enums import StaffRole
from services import activity
from services.api_tokens import create_api_token
from services.portal.sessions import start_contact_session

CREATE_CLIENT = """
mutation($input: ClientInput!) { createClient(input: $input) { id contacts { id role } } }
"""
CREATE_INVOICE = "mutation($input: InvoiceInput!) { createInvoice(input: $input) { id } }"
SEND_INVOICE = "mutation($id: ID!) { sendInvoice(id: $id) { id number } }"
VOID_INVOICE = "mutation($id: ID!) { voidInvoice(id: $id) { id } }"
MARK_VIEWED = "mutation($id: ID!) { markInvoiceViewed(id: $id) { id } }"
RECORD_PAYMENT = "mutation($input: RecordPaymentInput!) { recordPayment(input: $input) { id } }"
CREATE_QUOTE = "mutation($input: QuoteInput!) { createQuote(input: $input) { id } }"
SEND_QUOTE = "mutation($id: ID!) { sendQuote(id: $id) { id } }"
VIEW_AS = "mutation($c: ID!) { viewAsContact(contactId: $c) { token } }"
ENTRY = "id verb subjectType subjectId actorKind actorName createdAt details { key value }"
ACTIVITIES = (
    """
query($first: Int, $after: String, $subjectType: String, $subjectId: ID, $clientId: ID) {
  activities(
    first: $first, after: $after, subjectType: $subjectType, subjectId: $subjectId,
    clientId: $clientId
  ) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { """
    + ENTRY
    + """ }
  }
}
"""
)
STAFF_ACTIVITIES = "{ activities(first: 100) { totalCount nodes { verb visibleToClient } } }"
INVOICE_ACTIVITY = "query($id: ID!) { invoice(id: $id) { activity { " + ENTRY + " } } }"
QUOTE_ACTIVITY = "query($id: ID!) { quote(id: $id) { activity { verb actorName } } }"
INVOICE = "query($id: ID!) { invoice(id: $id) { id } }"


def line(unit_price="100.00"):
    return {"description": "Consulting", "quantity": "1", "unitPrice": unit_price}


def error_of(body):
    assert body.get("data") is None, body
    return body["errors"][0]["extensions"]


async def portal_client(gql, runtime, token, name="Acme", roles=("BILLING",), **fields):
    contacts = [
        {
            "email": f"{role.lower()}@{name.lower()}.test",
            "firstName": role.title(),
            "lastName": name,
            "role": role,
        }
        for role in roles
    ]
    client = (
        await gql.data(
            CREATE_CLIENT, {"input": {"name": name, "contacts": contacts, **fields}}, token=token
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


async def sent_invoice(gql, token, client_id, unit_price="100.00"):
    invoice = (
        await gql.data(
            CREATE_INVOICE,
            {"input": {"clientId": client_id, "lines": [line(unit_price)]}},
            token=token,
        )
    )["createInvoice"]
    return (await gql.data(SEND_INVOICE, {"id": invoice["id"]}, token=token))["sendInvoice"]


async def pay(gql, token, client_id, invoice_id, amount):
    await gql.data(
        RECORD_PAYMENT,
        {
            "input": {
                "clientId": client_id,
                "amount": amount,
                "method": "CHECK",
                "allocations": [{"invoiceId": invoice_id, "amount": amount}],
            }
        },
        token=token,
    )


async def timeline(gql, token, **filters):
    return (await gql.data(ACTIVITIES, {"first": 100, **filters}, token=token))["activities"]


def verbs(page):
    return [node["verb"] for node in page["nodes"]]


async def test_staff_see_every_step_with_its_actor_newest_first(gql, tenant, runtime):
    # given an invoice sent by the admin, viewed by the contact and paid by the manager
    client, tokens = await portal_client(gql, runtime, tenant.admin)
    invoice = await sent_invoice(gql, tenant.admin, client["id"])
    await gql.data(MARK_VIEWED, {"id": invoice["id"]}, token=tokens["BILLING"])
    await pay(gql, tenant.tokens[StaffRole.MANAGER], client["id"], invoice["id"], "100.00")
    # when staff read the invoice's timeline from the root
    page = await timeline(gql, tenant.admin, subjectType="invoice", subjectId=invoice["id"])
    # then every step is there, newest first, with who did it
    assert [(n["verb"], n["actorKind"], n["actorName"]) for n in page["nodes"]] == [
        ("invoice.paid", "STAFF", "Manager User"),
        ("invoice.payment_applied", "STAFF", "Manager User"),
        ("invoice.viewed", "CONTACT", "Billing Acme"),
        ("invoice.sent", "STAFF", "Admin User"),
        ("invoice.created", "STAFF", "Admin User"),
    ]
    assert page["totalCount"] == 5
    assert {n["subjectType"] for n in page["nodes"]} == {"invoice"}
    assert {n["subjectId"] for n in page["nodes"]} == {invoice["id"]}
    sent = page["nodes"][3]
    assert sent["details"] == [
        {"key": "number", "value": "INV-0001"},
        {"key": "source", "value": "send"},
    ]
    # and Invoice.activity gives the same entries, oldest first
    nested = (await gql.data(INVOICE_ACTIVITY, {"id": invoice["id"]}, token=tenant.admin))[
        "invoice"
    ]["activity"]
    assert nested == list(reversed(page["nodes"]))


async def test_a_contact_sees_only_its_clients_entries_meant_for_it(gql, tenant, runtime):
    # given two clients, each with an invoice sent, paid in part, and one voided after sending
    acme, acme_tokens = await portal_client(gql, runtime, tenant.admin)
    globex, globex_tokens = await portal_client(gql, runtime, tenant.admin, name="Globex")
    invoice = await sent_invoice(gql, tenant.admin, acme["id"])
    await pay(gql, tenant.admin, acme["id"], invoice["id"], "40.00")
    voided = await sent_invoice(gql, tenant.admin, acme["id"])
    await gql.data(VOID_INVOICE, {"id": voided["id"]}, token=tenant.admin)
    draft = (
        await gql.data(
            CREATE_INVOICE,
            {"input": {"clientId": acme["id"], "lines": [line()]}},
            token=tenant.admin,
        )
    )["createInvoice"]
    await gql.data(VOID_INVOICE, {"id": draft["id"]}, token=tenant.admin)
    foreign = await sent_invoice(gql, tenant.admin, globex["id"])
    # when Acme's contact reads the timeline
    page = await timeline(gql, acme_tokens["BILLING"])
    # then it sees its client's sent, paid and voided invoices; nothing internal, nothing
    # of the draft, nothing of Globex
    assert sorted(verbs(page)) == sorted(
        [
            "invoice.sent",
            "invoice.payment_applied",
            "payment.recorded",
            "invoice.sent",
            "invoice.voided",
        ]
    )
    assert page["totalCount"] == 5
    subjects = {n["subjectId"] for n in page["nodes"]}
    assert draft["id"] not in subjects
    assert foreign["id"] not in subjects
    # and the voided invoice's entry does not open the invoice itself
    body = await gql(INVOICE, {"id": voided["id"]}, token=acme_tokens["BILLING"])
    assert error_of(body) == {"code": "NOT_FOUND"}
    # and only safe details are shown to it: the amount, not the payment's id
    paid = next(n for n in page["nodes"] if n["verb"] == "invoice.payment_applied")
    assert paid["details"] == [
        {"key": "amount", "value": "40.00"},
        {"key": "number", "value": invoice["number"]},
    ]
    staff_page = await timeline(gql, tenant.admin, subjectId=invoice["id"])
    staff_paid = next(n for n in staff_page["nodes"] if n["verb"] == "invoice.payment_applied")
    assert {"amount", "payment_id"} <= {d["key"] for d in staff_paid["details"]}
    # and filters cannot widen the scope
    assert (await timeline(gql, acme_tokens["BILLING"], clientId=globex["id"]))["totalCount"] == 0
    assert (await timeline(gql, acme_tokens["BILLING"], subjectId=foreign["id"]))["totalCount"] == 0
    assert (await timeline(gql, globex_tokens["BILLING"]))["totalCount"] == 1


async def test_staff_see_internal_entries_and_which_ones_clients_see(gql, tenant, runtime):
    client, _tokens = await portal_client(gql, runtime, tenant.admin)
    await sent_invoice(gql, tenant.admin, client["id"])
    page = (await gql.data(STAFF_ACTIVITIES, token=tenant.admin))["activities"]
    shown = {(node["verb"], node["visibleToClient"]) for node in page["nodes"]}
    assert {
        ("client.created", False),
        ("invoice.created", False),
        ("invoice.sent", True),
    } <= shown


async def test_contacts_without_money_rights_see_no_money_entries(gql, tenant, runtime):
    # given a client with a billing contact and a collaborator, a paid invoice, and a
    # project entry meant for the client
    client, tokens = await portal_client(
        gql, runtime, tenant.admin, roles=("BILLING", "COLLABORATOR")
    )
    invoice = await sent_invoice(gql, tenant.admin, client["id"])
    await pay(gql, tenant.admin, client["id"], invoice["id"], "100.00")
    async with runtime.sessions() as session:
        activity.record(
            session,
            account_id=tenant.account_id,
            actor=tenant.principals[StaffRole.MEMBER],
            verb=Verb.PROJECT_UPDATED,
            subject_id=uuid.uuid4(),
            client_id=uuid.UUID(client["id"]),
        )
        await session.commit()
    # then the collaborator sees the project entry only, the billing contact everything
    assert verbs(await timeline(gql, tokens["COLLABORATOR"])) == ["project.updated"]
    assert set(verbs(await timeline(gql, tokens["BILLING"]))) == {
        "project.updated",
        "payment.recorded",
        "invoice.payment_applied",
        "invoice.paid",
        "invoice.sent",
    }
    # and a member of staff (no money either) sees no invoice or payment entries
    member = verbs(await timeline(gql, tenant.tokens[StaffRole.MEMBER]))
    assert "project.updated" in member
    assert not [verb for verb in member if verb.startswith(("invoice.", "payment."))]


async def test_a_module_switched_off_for_the_client_hides_its_entries(gql, tenant, runtime):
    # given a client whose portal has no invoices or payments
    client, tokens = await portal_client(
        gql, runtime, tenant.admin, modules=["CLIENT_PORTAL", "PROJECTS", "DOCUMENTS"]
    )
    invoice = await sent_invoice(gql, tenant.admin, client["id"])
    await pay(gql, tenant.admin, client["id"], invoice["id"], "100.00")
    # then its contact sees none of their entries
    assert (await timeline(gql, tokens["BILLING"]))["totalCount"] == 0


async def test_actor_names_for_api_tokens_and_the_system(gql, tenant, runtime):
    # given entries made through an API token and by the system
    client, tokens = await portal_client(gql, runtime, tenant.admin)
    invoice = await sent_invoice(gql, tenant.admin, client["id"])
    async with runtime.sessions() as session:
        row, _token = await create_api_token(
            session=session,
            actor=tenant.principals[StaffRole.ADMIN],
            name="Bookkeeping sync",
            scopes=["invoices:read"],
        )
        partner = PartnerPrincipal(
            account_id=tenant.account_id, token_id=row.id, scopes=frozenset()
        )
        for actor, verb in [(partner, Verb.INVOICE_UPDATED), (None, Verb.INVOICE_OVERDUE)]:
            activity.record(
                session,
                account_id=tenant.account_id,
                actor=actor,
                verb=verb,
                subject_id=uuid.UUID(invoice["id"]),
                client_id=uuid.UUID(client["id"]),
            )
        await session.commit()

    def names(page):
        return {
            n["verb"]: (n["actorKind"], n["actorName"])
            for n in page["nodes"]
            if n["verb"] in ("invoice.updated", "invoice.overdue")
        }

    # then staff read the token's name, contacts only that it came through the API
    assert names(await timeline(gql, tenant.admin)) == {
        "invoice.updated": ("PARTNER", "Bookkeeping sync"),
        "invoice.overdue": ("SYSTEM", "System"),
    }
    assert names(await timeline(gql, tokens["BILLING"])) == {
        "invoice.updated": ("PARTNER", "API"),
        "invoice.overdue": ("SYSTEM", "System"),
    }
    # and the token's creation (with its scopes) is an internal, admin-only entry
    created = await timeline(gql, tenant.admin, subjectType="api_token")
    assert created["nodes"][0]["details"] == [
        {"key": "name", "value": "Bookkeeping sync"},
        {"key": "scopes", "value": "invoices:read"},
    ]
    manager = await timeline(gql, tenant.tokens[StaffRole.MANAGER], subjectType="api_token")
    assert manager["totalCount"] == 0


async def test_an_entry_about_a_draft_never_reaches_the_client(gql, tenant, runtime):
    # given a draft with an entry wrongly marked visible to the client
    client, tokens = await portal_client(gql, runtime, tenant.admin)
    draft = (
        await gql.data(
            CREATE_INVOICE,
            {"input": {"clientId": client["id"], "lines": [line()]}},
            token=tenant.admin,
        )
    )["createInvoice"]
    async with runtime.sessions() as session:
        activity.record(
            session,
            account_id=tenant.account_id,
            actor=tenant.principals[StaffRole.ADMIN],
            verb=Verb.INVOICE_UPDATED,
            subject_id=uuid.UUID(draft["id"]),
            client_id=uuid.UUID(client["id"]),
            visible_to_client=True,
        )
        await session.commit()
    # then the contact does not see it until the invoice is sent
    assert (await timeline(gql, tokens["BILLING"]))["totalCount"] == 0
    await gql.data(SEND_INVOICE, {"id": draft["id"]}, token=tenant.admin)
    assert sorted(verbs(await timeline(gql, tokens["BILLING"]))) == [
        "invoice.sent",
        "invoice.updated",
    ]


async def test_view_as_shows_exactly_what_the_contact_sees(gql, tenant, runtime):
    client, tokens = await portal_client(gql, runtime, tenant.admin)
    invoice = await sent_invoice(gql, tenant.admin, client["id"])
    await pay(gql, tenant.admin, client["id"], invoice["id"], "10.00")
    view_as = (await gql.data(VIEW_AS, {"c": client["contacts"][0]["id"]}, token=tenant.admin))[
        "viewAsContact"
    ]["token"]
    as_contact = await timeline(gql, tokens["BILLING"])
    as_staff_viewing = await timeline(gql, view_as)
    assert as_staff_viewing == as_contact
    assert "contact.viewed_as" not in verbs(as_contact)


async def test_quote_activity_follows_the_same_rules(gql, tenant, runtime):
    client, tokens = await portal_client(gql, runtime, tenant.admin)
    quote = (
        await gql.data(
            CREATE_QUOTE,
            {"input": {"clientId": client["id"], "lines": [line("500.00")]}},
            token=tenant.admin,
        )
    )["createQuote"]
    await gql.data(SEND_QUOTE, {"id": quote["id"]}, token=tenant.admin)
    staff = (await gql.data(QUOTE_ACTIVITY, {"id": quote["id"]}, token=tenant.admin))["quote"]
    assert [entry["verb"] for entry in staff["activity"]] == ["quote.created", "quote.sent"]
    contact = await gql.data(QUOTE_ACTIVITY, {"id": quote["id"]}, token=tokens["BILLING"])
    assert contact["quote"]["activity"] == [{"verb": "quote.sent", "actorName": "Admin User"}]


async def test_another_accounts_activity_is_invisible(gql, tenant, runtime, make_tenant):
    # given activity in another account
    other = await make_tenant("globex")
    foreign_client, foreign_tokens = await portal_client(gql, runtime, other.admin, name="Far")
    foreign = await sent_invoice(gql, other.admin, foreign_client["id"])
    # and some here
    client, tokens = await portal_client(gql, runtime, tenant.admin)
    await sent_invoice(gql, tenant.admin, client["id"])
    # then neither staff nor contacts here see any of it, even by naming it
    for token in (tenant.admin, tokens["BILLING"]):
        page = await timeline(gql, token)
        assert foreign["id"] not in {n["subjectId"] for n in page["nodes"]}
        assert (await timeline(gql, token, subjectId=foreign["id"]))["totalCount"] == 0
        assert (await timeline(gql, token, clientId=foreign_client["id"]))["totalCount"] == 0
    # and the other account still sees its own
    assert (await timeline(gql, other.admin, subjectId=foreign["id"]))["totalCount"] == 2
    assert verbs(await timeline(gql, foreign_tokens["BILLING"])) == ["invoice.sent"]


async def test_pages_of_the_timeline(gql, tenant, runtime):
    client, _tokens = await portal_client(gql, runtime, tenant.admin)
    for _ in range(3):
        await sent_invoice(gql, tenant.admin, client["id"])
    everything = await timeline(gql, tenant.admin, subjectType="invoice")
    assert everything["totalCount"] == 6
    seen, after = [], None
    while True:
        page = (
            await gql.data(
                ACTIVITIES,
                {"first": 4, "after": after, "subjectType": "invoice"},
                token=tenant.admin,
            )
        )["activities"]
        seen += [node["id"] for node in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [node["id"] for node in everything["nodes"]]


async def test_who_may_not_read_the_timeline(gql, tenant, runtime):
    client, _tokens = await portal_client(gql, runtime, tenant.admin)
    invoice = await sent_invoice(gql, tenant.admin, client["id"])
    async with runtime.sessions() as session:
        _row, partner = await create_api_token(
            session=session,
            actor=tenant.principals[StaffRole.ADMIN],
            name="Reader",
            scopes=["invoices:read"],
        )
        await session.commit()
    # partners (no scope grants the timeline) and anonymous callers have no such field
    for token in (partner, None):
        body = await gql("{ activities { totalCount } }", token=token)
        assert "Cannot query field 'activities' on type 'Query'." in body["errors"][0]["message"]
    body = await gql(INVOICE_ACTIVITY, {"id": invoice["id"]}, token=partner)
    assert "Cannot query field 'activity' on type 'Invoice'." in body["errors"][0]["message"]
    # and contacts do not see which entries are internal
    body = await gql(STAFF_ACTIVITIES, token=_tokens["BILLING"])
    assert "Cannot query field 'visibleToClient'" in body["errors"][0]["message"]


DEEP = """
{ invoices(first: 10) { nodes { number activity { verb actorName details { key value } } } } }
"""


async def test_timeline_statements_do_not_grow_with_rows(gql, tenant, runtime):
    client, tokens = await portal_client(gql, runtime, tenant.admin)

    async def add(count):
        for _ in range(count):
            invoice = await sent_invoice(gql, tenant.admin, client["id"])
            await gql.data(MARK_VIEWED, {"id": invoice["id"]}, token=tokens["BILLING"])

    async def measure(token):
        # mail for the sent invoices is delivered in the background on the same engine
        await runtime.mailer.drain()
        await runtime.background.drain()
        counter = {"n": 0}

        def before(*_args):
            counter["n"] += 1

        event.listen(runtime.engine.sync_engine, "before_cursor_execute", before)
        try:
            data = await gql.data(DEEP, token=token)
        finally:
            event.remove(runtime.engine.sync_engine, "before_cursor_execute", before)
        return counter["n"], data

    await add(2)
    few = {token: await measure(token) for token in (tenant.admin, tokens["BILLING"])}
    await add(6)
    many = {token: await measure(token) for token in (tenant.admin, tokens["BILLING"])}
    for token in (tenant.admin, tokens["BILLING"]):
        assert len(many[token][1]["invoices"]["nodes"]) == 8
        assert many[token][0] == few[token][0], token
        assert few[token][0] <= 8
