"""Document numbers under concurrency: per account and per kind, 1..N with no gap and
no duplicate however many sends race, on SQLite and on PostgreSQL.

Every send goes through the API as its own request (its own session and connection),
all at once, like staff clicking "send" in several tabs while clients approve quotes.
"""

import asyncio

from sqlmodel import select

from models.accounts import Account
from models.clients import Contact
from services.invoices import next_number
from services.portal.sessions import start_contact_session

CREATE_CLIENT = """
mutation($input: ClientInput!) { createClient(input: $input) { id contacts { id } } }
"""
CREATE_INVOICE = "mutation($input: InvoiceInput!) { createInvoice(input: $input) { id } }"
SEND_INVOICE = "mutation($id: ID!) { sendInvoice(id: $id) { id number status } }"
CREATE_QUOTE = "mutation($input: QuoteInput!) { createQuote(input: $input) { id } }"
SEND_QUOTE = "mutation($id: ID!) { sendQuote(id: $id) { id number status } }"
APPROVE_QUOTE = """
mutation($id: ID!) { approveQuote(id: $id) { quote { status } invoice { id number } } }
"""
INVOICE_NUMBERS = "{ invoices(first: 100) { edges { node { number } } } }"

RACERS = 8
LINES = [{"description": "Consulting", "quantity": "1", "unitPrice": "100.00"}]


def expected(prefix, count, start=1):
    return [f"{prefix}{n:04d}" for n in range(start, start + count)]


async def create_client(gql, token, name="Acme Corp", contacts=()):
    data = await gql.data(
        CREATE_CLIENT, {"input": {"name": name, "contacts": list(contacts)}}, token=token
    )
    return data["createClient"]


async def draft_invoices(gql, token, client_id, count):
    ids = []
    for _ in range(count):
        data = await gql.data(
            CREATE_INVOICE, {"input": {"clientId": client_id, "lines": LINES}}, token=token
        )
        ids.append(data["createInvoice"]["id"])
    return ids


async def draft_quotes(gql, token, client_id, count):
    ids = []
    for _ in range(count):
        data = await gql.data(
            CREATE_QUOTE, {"input": {"clientId": client_id, "lines": LINES}}, token=token
        )
        ids.append(data["createQuote"]["id"])
    return ids


async def all_at_once(gql, document, ids, token):
    bodies = await asyncio.gather(*(gql(document, {"id": id_}, token=token) for id_ in ids))
    for body in bodies:
        assert "errors" not in body, body["errors"]
    return [body["data"] for body in bodies]


async def test_concurrent_invoice_sends_number_one_to_n(gql, tenant):
    # given eight draft invoices
    client = await create_client(gql, tenant.admin)
    ids = await draft_invoices(gql, tenant.admin, client["id"], RACERS)
    # when all are sent at the same moment
    results = await all_at_once(gql, SEND_INVOICE, ids, tenant.admin)
    # then they hold the numbers 1..8, each once
    numbers = sorted(result["sendInvoice"]["number"] for result in results)
    assert numbers == expected("INV-", RACERS)
    # and sending them all again keeps every number and uses none
    again = await all_at_once(gql, SEND_INVOICE, ids, tenant.admin)
    assert [r["sendInvoice"]["number"] for r in again] == [
        r["sendInvoice"]["number"] for r in results
    ]
    more = await draft_invoices(gql, tenant.admin, client["id"], 1)
    sent = await all_at_once(gql, SEND_INVOICE, more, tenant.admin)
    assert sent[0]["sendInvoice"]["number"] == f"INV-{RACERS + 1:04d}"


async def test_concurrent_quote_sends_number_one_to_n(gql, tenant):
    client = await create_client(gql, tenant.admin)
    ids = await draft_quotes(gql, tenant.admin, client["id"], RACERS)
    results = await all_at_once(gql, SEND_QUOTE, ids, tenant.admin)
    numbers = sorted(result["sendQuote"]["number"] for result in results)
    assert numbers == expected("Q-", RACERS)


async def test_each_account_has_its_own_sequence_under_concurrency(gql, tenant, make_tenant):
    # given drafts in two accounts, sent all together
    other = await make_tenant("globex")
    ours = await draft_invoices(
        gql, tenant.admin, (await create_client(gql, tenant.admin))["id"], RACERS // 2
    )
    theirs = await draft_invoices(
        gql, other.admin, (await create_client(gql, other.admin))["id"], RACERS // 2
    )
    sends = [gql(SEND_INVOICE, {"id": id_}, token=tenant.admin) for id_ in ours] + [
        gql(SEND_INVOICE, {"id": id_}, token=other.admin) for id_ in theirs
    ]
    bodies = await asyncio.gather(*sends)
    numbers = [body["data"]["sendInvoice"]["number"] for body in bodies]
    # then each account numbers from 1 on its own
    assert sorted(numbers[: len(ours)]) == expected("INV-", len(ours))
    assert sorted(numbers[len(ours) :]) == expected("INV-", len(theirs))


async def test_invoices_from_approved_quotes_share_the_invoice_sequence(gql, runtime, tenant):
    # given sent quotes that a billing contact approves while staff send draft invoices
    client = await create_client(
        gql, tenant.admin, contacts=[{"email": "billing@acme.test", "role": "BILLING"}]
    )
    quote_ids = await draft_quotes(gql, tenant.admin, client["id"], RACERS // 2)
    await all_at_once(gql, SEND_QUOTE, quote_ids, tenant.admin)
    invoice_ids = await draft_invoices(gql, tenant.admin, client["id"], RACERS // 2)
    async with runtime.sessions() as session:
        contact = (
            await session.exec(select(Contact).where(Contact.email == "billing@acme.test"))
        ).one()
        contact_token = await start_contact_session(
            session=session, signer=runtime.signer, contact=contact, ttl=runtime.session_ttl
        )
        await session.commit()
    # when the approvals (each creating an invoice) and the sends all happen at once
    bodies = await asyncio.gather(
        *(gql(APPROVE_QUOTE, {"id": id_}, token=contact_token) for id_ in quote_ids),
        *(gql(SEND_INVOICE, {"id": id_}, token=tenant.admin) for id_ in invoice_ids),
    )
    for body in bodies:
        assert "errors" not in body, body["errors"]
    # then the invoices hold 1..8 between them, with no gap and no duplicate
    listed = (await gql.data(INVOICE_NUMBERS, token=tenant.admin))["invoices"]["edges"]
    assert sorted(edge["node"]["number"] for edge in listed) == expected("INV-", RACERS)
    approvals = [body["data"]["approveQuote"] for body in bodies[: len(quote_ids)]]
    assert all(approval["quote"]["status"] == "CONVERTED" for approval in approvals)


async def test_a_rolled_back_send_gives_its_number_back(gql, runtime, tenant):
    # given a number taken in a transaction that then fails
    async with runtime.sessions() as session:
        assert await next_number(session, tenant.account_id, "invoice") == "INV-0001"
        await session.rollback()
    async with runtime.sessions() as session:
        assert (await session.get(Account, tenant.account_id)).next_invoice_number == 1
    # when an invoice is sent
    client = await create_client(gql, tenant.admin)
    ids = await draft_invoices(gql, tenant.admin, client["id"], 1)
    sent = await all_at_once(gql, SEND_INVOICE, ids, tenant.admin)
    # then it gets the number the failed transaction had: no gap
    assert sent[0]["sendInvoice"]["number"] == "INV-0001"
