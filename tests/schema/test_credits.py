"""Credits (credit notes): issued by staff, applied to invoices, read by the client."""

import uuid

from sqlmodel import col, select

from models.activity import Activity
from models.clients import Contact
from models.enums import ActorKind, StaffRole
from services.portal.sessions import start_contact_session

CREATE_CLIENT = "mutation($input: ClientInput!) { createClient(input: $input) { id } }"
CREATE_CONTACT = """
mutation($clientId: ID!, $input: ContactInput!) {
  createContact(clientId: $clientId, input: $input) { id }
}
"""
CREATE_INVOICE = "mutation($input: InvoiceInput!) { createInvoice(input: $input) { id } }"
SEND_INVOICE = "mutation($id: ID!) { sendInvoice(id: $id) { id } }"
VOID_INVOICE = "mutation($id: ID!) { voidInvoice(id: $id) { id } }"
RECORD_PAYMENT = "mutation($input: RecordPaymentInput!) { recordPayment(input: $input) { id } }"
INVOICE = """
query($id: ID!) {
  invoice(id: $id) { status total amountPaid creditsApplied balance paidState paidAt }
}
"""
CREDIT_FIELDS = """
fragment CreditFields on Credit {
  id number currency amount balance status reason
  client { id }
  applications { amount invoice { id } }
}
"""
CREATE_CREDIT = (
    "mutation($input: CreditInput!) { createCredit(input: $input) { ...CreditFields } }"
    + CREDIT_FIELDS
)
APPLY_CREDIT = (
    "mutation($creditId: ID!, $invoiceId: ID!, $amount: Decimal) {"
    " applyCredit(creditId: $creditId, invoiceId: $invoiceId, amount: $amount)"
    " { ...CreditFields } }" + CREDIT_FIELDS
)
CREDITS = """
query($clientId: ID, $withBalance: Boolean, $status: [CreditStatus!]) {
  credits(clientId: $clientId, withBalance: $withBalance, status: $status) {
    totalCount
    edges { node { id number amount balance status } }
  }
}
"""
AVAILABLE_CREDIT = """
query($clientId: ID) {
  availableCredit(clientId: $clientId) { currency creditNotes unappliedPayments total }
}
"""


async def create_client(gql, token, **fields):
    data = await gql.data(CREATE_CLIENT, {"input": {"name": "Acme Corp", **fields}}, token=token)
    return data["createClient"]["id"]


async def create_invoice(gql, token, client_id, unit_price="100.00", *, send=True, **fields):
    lines = [{"description": "Consulting", "quantity": "1", "unitPrice": unit_price}]
    data = await gql.data(
        CREATE_INVOICE, {"input": {"clientId": client_id, "lines": lines, **fields}}, token=token
    )
    invoice_id = data["createInvoice"]["id"]
    if send:
        await gql.data(SEND_INVOICE, {"id": invoice_id}, token=token)
    return invoice_id


async def create_credit(gql, token, client_id, amount="50.00", **fields):
    variables = {"input": {"clientId": client_id, "amount": amount, **fields}}
    return (await gql.data(CREATE_CREDIT, variables, token=token))["createCredit"]


async def apply_credit(gql, token, credit_id, invoice_id, amount=None):
    variables = {"creditId": credit_id, "invoiceId": invoice_id, "amount": amount}
    return (await gql.data(APPLY_CREDIT, variables, token=token))["applyCredit"]


async def read_invoice(gql, token, invoice_id):
    return (await gql.data(INVOICE, {"id": invoice_id}, token=token))["invoice"]


async def credit_count(gql, token):
    return (await gql.data(CREDITS, {}, token=token))["credits"]["totalCount"]


def error_of(body):
    assert body.get("data") is None, body
    return body["errors"][0]["extensions"]


def assert_absent(body, name):
    assert body.get("data") is None
    messages = [error["message"] for error in body["errors"]]
    assert any(f"Cannot query field '{name}'" in m for m in messages), messages


async def contact_token(gql, runtime, staff_token, client_id, role="BILLING"):
    data = await gql.data(
        CREATE_CONTACT,
        {"clientId": client_id, "input": {"email": f"{role.lower()}@client.test", "role": role}},
        token=staff_token,
    )
    async with runtime.sessions() as session:
        contact = await session.get(Contact, uuid.UUID(data["createContact"]["id"]))
        token = await start_contact_session(
            session=session, signer=runtime.signer, contact=contact, ttl=runtime.session_ttl
        )
        await session.commit()
    return token


async def test_credits_are_numbered_from_the_accounts_credit_sequence(gql, tenant, runtime):
    # given a client
    client = await create_client(gql, tenant.admin)
    # when two credits are issued, one by a manager
    first = await create_credit(gql, tenant.admin, client, "50.00", reason="Late delivery")
    second = await create_credit(
        gql, tenant.tokens[StaffRole.MANAGER], client, "12.345", currency="KWD"
    )
    # then each is open for its full amount and numbered CR-0001, CR-0002
    assert {
        k: first[k] for k in ("number", "currency", "amount", "balance", "status", "reason")
    } == {
        "number": "CR-0001",
        "currency": "USD",
        "amount": "50.00",
        "balance": "50.00",
        "status": "OPEN",
        "reason": "Late delivery",
    }
    assert (first["client"], first["applications"]) == ({"id": client}, [])
    assert (second["number"], second["currency"], second["balance"]) == ("CR-0002", "KWD", "12.345")
    # and issuing one is in the client's activity, by its staff user, shown to the client
    async with runtime.sessions() as session:
        entries = (
            await session.exec(select(Activity).where(Activity.verb == "credit.created"))
        ).all()
    assert sorted((e.actor_kind, e.actor_id, e.visible_to_client) for e in entries) == sorted(
        [
            (ActorKind.STAFF, tenant.principals[StaffRole.ADMIN].user_id, True),
            (ActorKind.STAFF, tenant.principals[StaffRole.MANAGER].user_id, True),
        ]
    )


async def test_bad_credit_input_is_refused_and_nothing_is_numbered(gql, tenant, make_tenant):
    client = await create_client(gql, tenant.admin)
    for fields, field in [
        ({"amount": "0"}, "amount"),
        ({"amount": "-1.00"}, "amount"),
        ({"amount": "1.001"}, "amount"),
        ({"currency": "XYZ"}, "currency"),
        ({"clientId": "nope"}, "clientId"),
    ]:
        variables = {"input": {"clientId": client, "amount": "10.00", **fields}}
        body = await gql(CREATE_CREDIT, variables, token=tenant.admin)
        assert error_of(body) == {"code": "BAD_USER_INPUT", "field": field}, fields
    other = await make_tenant("globex")
    foreign = await create_client(gql, other.admin)
    body = await gql(
        CREATE_CREDIT, {"input": {"clientId": foreign, "amount": "10.00"}}, token=tenant.admin
    )
    assert error_of(body) == {"code": "NOT_FOUND"}
    assert await credit_count(gql, tenant.admin) == 0
    # a refused credit gave its number back
    assert (await create_credit(gql, tenant.admin, client))["number"] == "CR-0001"


async def test_a_credit_is_applied_until_its_balance_is_used_up(gql, tenant, runtime):
    # given a 100.00 invoice and a 30.00 invoice, and a credit of 120.00
    client = await create_client(gql, tenant.admin)
    first = await create_invoice(gql, tenant.admin, client, "100.00")
    second = await create_invoice(gql, tenant.admin, client, "30.00")
    credit = await create_credit(gql, tenant.admin, client, "120.00")
    # when 40.00 is applied to the first invoice
    applied = await apply_credit(gql, tenant.admin, credit["id"], first, "40.00")
    # then the credit keeps 80.00 and the invoice owes 60.00
    assert (applied["balance"], applied["status"]) == ("80.00", "OPEN")
    assert applied["applications"] == [{"amount": "40.00", "invoice": {"id": first}}]
    read = await read_invoice(gql, tenant.admin, first)
    assert (read["status"], read["creditsApplied"], read["amountPaid"], read["balance"]) == (
        "PARTIAL",
        "40.00",
        "0.00",
        "60.00",
    )
    # and more than the invoice's balance or than the credit's balance is refused
    for invoice_id, amount in ((first, "60.01"), (second, "30.01")):
        body = await gql(
            APPLY_CREDIT,
            {"creditId": credit["id"], "invoiceId": invoice_id, "amount": amount},
            token=tenant.admin,
        )
        assert error_of(body) == {"code": "BAD_USER_INPUT", "field": "amount"}
    # when applied without an amount: as much as both balances allow
    applied = await apply_credit(gql, tenant.admin, credit["id"], first)
    assert (applied["balance"], applied["status"]) == ("20.00", "OPEN")
    paid = await read_invoice(gql, tenant.admin, first)
    assert (paid["status"], paid["paidState"], paid["creditsApplied"], paid["balance"]) == (
        "PAID",
        "PAID",
        "100.00",
        "0.00",
    )
    assert paid["paidAt"]
    body = await gql(
        APPLY_CREDIT,
        {"creditId": credit["id"], "invoiceId": second, "amount": "20.01"},
        token=tenant.admin,
    )
    assert error_of(body) == {"code": "BAD_USER_INPUT", "field": "amount"}
    used = await apply_credit(gql, tenant.admin, credit["id"], second)
    assert (used["balance"], used["status"]) == ("0.00", "APPLIED")
    assert [a["amount"] for a in used["applications"]] == ["40.00", "60.00", "20.00"]
    assert (await read_invoice(gql, tenant.admin, second))["balance"] == "10.00"
    # and a used-up credit cannot be applied again
    body = await gql(
        APPLY_CREDIT, {"creditId": credit["id"], "invoiceId": second}, token=tenant.admin
    )
    assert error_of(body) == {"code": "CONFLICT"}
    # and the lists filter by what is left
    with_balance = (await gql.data(CREDITS, {"withBalance": True}, token=tenant.admin))["credits"]
    assert with_balance["totalCount"] == 0
    applied_list = (await gql.data(CREDITS, {"status": ["APPLIED"]}, token=tenant.admin))["credits"]
    assert applied_list["edges"] == [
        {
            "node": {
                "id": credit["id"],
                "number": "CR-0001",
                "amount": "120.00",
                "balance": "0.00",
                "status": "APPLIED",
            }
        }
    ]
    # and each application is in the activity, with the invoice's payment entries
    async with runtime.sessions() as session:
        verbs = [
            (e.verb, e.subject_id)
            for e in (
                await session.exec(
                    select(Activity)
                    .where(col(Activity.verb).in_(["credit.applied", "invoice.paid"]))
                    .order_by(col(Activity.created_at))
                )
            ).all()
        ]
    assert verbs.count(("credit.applied", uuid.UUID(credit["id"]))) == 3
    assert ("invoice.paid", uuid.UUID(first)) in verbs


async def test_a_credit_applies_only_to_open_invoices_of_its_client_and_currency(gql, tenant):
    client = await create_client(gql, tenant.admin)
    other = await create_client(gql, tenant.admin, name="Globex")
    credit = await create_credit(gql, tenant.admin, client, "50.00")
    others_invoice = await create_invoice(gql, tenant.admin, other)
    euros = await create_invoice(gql, tenant.admin, client, currency="EUR")
    draft = await create_invoice(gql, tenant.admin, client, send=False)
    void = await create_invoice(gql, tenant.admin, client)
    await gql.data(VOID_INVOICE, {"id": void}, token=tenant.admin)
    paid = await create_invoice(gql, tenant.admin, client, "10.00")
    await gql.data(
        RECORD_PAYMENT,
        {
            "input": {
                "clientId": client,
                "amount": "10.00",
                "method": "CASH",
                "allocations": [{"invoiceId": paid, "amount": "10.00"}],
            }
        },
        token=tenant.admin,
    )

    async def refused(invoice_id):
        body = await gql(
            APPLY_CREDIT,
            {"creditId": credit["id"], "invoiceId": invoice_id, "amount": "5.00"},
            token=tenant.admin,
        )
        return error_of(body)

    assert await refused(others_invoice) == {"code": "BAD_USER_INPUT", "field": "invoiceId"}
    assert await refused(euros) == {"code": "BAD_USER_INPUT", "field": "invoiceId"}
    for invoice_id in (draft, void, paid):
        assert await refused(invoice_id) == {"code": "CONFLICT", "field": "invoiceId"}
    assert await refused(str(uuid.uuid4())) == {"code": "NOT_FOUND"}
    assert await refused("nope") == {"code": "BAD_USER_INPUT", "field": "invoiceId"}
    # and the credit is untouched
    read = (await gql.data(CREDITS, {}, token=tenant.admin))["credits"]["edges"][0]["node"]
    assert (read["balance"], read["status"]) == ("50.00", "OPEN")


async def test_another_accounts_credit_is_not_found(gql, tenant, make_tenant):
    other = await make_tenant("globex")
    foreign_client = await create_client(gql, other.admin)
    foreign = await create_credit(gql, other.admin, foreign_client)
    client = await create_client(gql, tenant.admin)
    invoice = await create_invoice(gql, tenant.admin, client)
    body = await gql(
        APPLY_CREDIT, {"creditId": foreign["id"], "invoiceId": invoice}, token=tenant.admin
    )
    assert error_of(body) == {"code": "NOT_FOUND"}
    assert (await read_invoice(gql, tenant.admin, invoice))["balance"] == "100.00"


async def test_members_and_contacts_cannot_issue_or_apply_credits(gql, tenant, runtime):
    client = await create_client(gql, tenant.admin)
    invoice = await create_invoice(gql, tenant.admin, client)
    credit = await create_credit(gql, tenant.admin, client)
    billing = await contact_token(gql, runtime, tenant.admin, client)
    for token in (tenant.tokens[StaffRole.MEMBER], billing):
        body = await gql(
            CREATE_CREDIT, {"input": {"clientId": client, "amount": "5.00"}}, token=token
        )
        assert_absent(body, "createCredit")
        body = await gql(
            APPLY_CREDIT, {"creditId": credit["id"], "invoiceId": invoice}, token=token
        )
        assert_absent(body, "applyCredit")
    assert await credit_count(gql, tenant.admin) == 1
    assert (await read_invoice(gql, tenant.admin, invoice))["balance"] == "100.00"


async def test_a_client_sees_its_credits_and_available_credit(gql, tenant, runtime):
    # given a credit of 50.00 (20.00 applied), a payment with 15.00 unapplied, and another
    # client's credit
    client = await create_client(gql, tenant.admin)
    other = await create_client(gql, tenant.admin, name="Globex")
    invoice = await create_invoice(gql, tenant.admin, client)
    credit = await create_credit(gql, tenant.admin, client, "50.00")
    await apply_credit(gql, tenant.admin, credit["id"], invoice, "20.00")
    await create_credit(gql, tenant.admin, other, "99.00")
    await gql.data(
        RECORD_PAYMENT,
        {
            "input": {
                "clientId": client,
                "amount": "45.00",
                "method": "CHECK",
                "allocations": [{"invoiceId": invoice, "amount": "30.00"}],
            }
        },
        token=tenant.admin,
    )
    await gql.data(
        RECORD_PAYMENT,
        {"input": {"clientId": client, "amount": "7.50", "method": "CASH", "currency": "EUR"}},
        token=tenant.admin,
    )
    billing = await contact_token(gql, runtime, tenant.admin, client)
    # when its billing contact reads its credits
    listed = (await gql.data(CREDITS, {}, token=billing))["credits"]
    # then it sees only its own, with the remaining balance
    assert [(e["node"]["id"], e["node"]["balance"]) for e in listed["edges"]] == [
        (credit["id"], "30.00")
    ]
    # and its available credit per currency: open credit notes plus unapplied payments
    expected = [
        {"currency": "EUR", "creditNotes": "0.00", "unappliedPayments": "7.50", "total": "7.50"},
        {"currency": "USD", "creditNotes": "30.00", "unappliedPayments": "15.00", "total": "45.00"},
    ]
    assert (await gql.data(AVAILABLE_CREDIT, {}, token=billing))["availableCredit"] == expected
    # and staff read the same by naming the client, and must name one
    staff = await gql.data(AVAILABLE_CREDIT, {"clientId": client}, token=tenant.admin)
    assert staff["availableCredit"] == expected
    assert error_of(await gql(AVAILABLE_CREDIT, {}, token=tenant.admin)) == {
        "code": "BAD_USER_INPUT",
        "field": "clientId",
    }
    # and a contact cannot read another client's
    body = await gql(AVAILABLE_CREDIT, {"clientId": other}, token=billing)
    assert error_of(body) == {"code": "NOT_FOUND"}
    # and collaborators and members have no credits at all
    collaborator = await contact_token(gql, runtime, tenant.admin, client, role="COLLABORATOR")
    for token in (collaborator, tenant.tokens[StaffRole.MEMBER]):
        assert_absent(
            await gql(AVAILABLE_CREDIT, {"clientId": client}, token=token), "availableCredit"
        )
