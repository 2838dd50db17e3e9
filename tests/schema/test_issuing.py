"""One way to SENT: every source of a sent invoice (sendInvoice, markInvoiceSent, an
approved quote, the recurring scheduler) records the same event sequence, numbered once;
and a document's mail goes only to the contacts whose own schema shows that document."""

import uuid
from datetime import date

from sqlmodel import col, select

from models.accounts import Account
from models.activity import Activity
from models.events import OutboxEvent
from models.invoices import Invoice
from models.mail import MailMessage
from services.recurring.scheduler import generate_due_invoices
from tests.schema.test_quotes import contact_token

CREATE_CLIENT = """
mutation($input: ClientInput!) { createClient(input: $input) { id contacts { id role email } } }
"""
CREATE_INVOICE = "mutation($input: InvoiceInput!) { createInvoice(input: $input) { id } }"
SEND_INVOICE = "mutation($id: ID!) { sendInvoice(id: $id) { id number status } }"
MARK_SENT = "mutation($id: ID!) { markInvoiceSent(id: $id) { id number status } }"
CREATE_QUOTE = "mutation($input: QuoteInput!) { createQuote(input: $input) { id } }"
SEND_QUOTE = "mutation($id: ID!) { sendQuote(id: $id) { id number } }"
APPROVE = """
mutation($id: ID!) { approveQuote(id: $id, input: {acceptTerms: true}) {
  invoice { id number status } } }
"""
CREATE_RECURRING = """
mutation($input: RecurringInvoiceInput!) { createRecurringInvoice(input: $input) { id } }
"""
START_RECURRING = "mutation($id: ID!) { startRecurringInvoice(id: $id) { id nextSendDate } }"
LINES = [{"description": "Work", "quantity": "1", "unitPrice": "250.00"}]


async def client_with_contacts(gql, tenant, name, *, roles=("BILLING",), modules=None):
    slug = name.split()[0].lower()
    contacts = [{"email": f"{role.lower()}@{slug}.test", "role": role} for role in roles]
    fields = {"name": name, "contacts": contacts}
    if modules is not None:
        fields["modules"] = modules
    return (await gql.data(CREATE_CLIENT, {"input": fields}, token=tenant.admin))["createClient"]


async def draft(gql, tenant, client_id):
    data = await gql.data(
        CREATE_INVOICE, {"input": {"clientId": client_id, "lines": LINES}}, token=tenant.admin
    )
    return data["createInvoice"]["id"]


async def by_sending(gql, runtime, tenant, client):
    invoice_id = await draft(gql, tenant, client["id"])
    await gql.data(SEND_INVOICE, {"id": invoice_id}, token=tenant.admin)
    return uuid.UUID(invoice_id)


async def by_marking_sent(gql, runtime, tenant, client):
    invoice_id = await draft(gql, tenant, client["id"])
    await gql.data(MARK_SENT, {"id": invoice_id}, token=tenant.admin)
    return uuid.UUID(invoice_id)


async def by_approving_a_quote(gql, runtime, tenant, client):
    async with runtime.sessions() as session:
        account = await session.get(Account, tenant.account_id)
        account.convert_quote_on_approval = True
        await session.commit()
    quote = await gql.data(
        CREATE_QUOTE, {"input": {"clientId": client["id"], "lines": LINES}}, token=tenant.admin
    )
    quote_id = quote["createQuote"]["id"]
    await gql.data(SEND_QUOTE, {"id": quote_id}, token=tenant.admin)
    billing = next(c for c in client["contacts"] if c["role"] == "BILLING")
    token = await contact_token(runtime, billing["id"])
    approval = await gql.data(APPROVE, {"id": quote_id}, token=token)
    return uuid.UUID(approval["approveQuote"]["invoice"]["id"])


async def by_the_scheduler(gql, runtime, tenant, client):
    recurring = await gql.data(
        CREATE_RECURRING,
        {"input": {"clientId": client["id"], "lines": LINES, "remainingCycles": 1}},
        token=tenant.admin,
    )
    recurring_id = recurring["createRecurringInvoice"]["id"]
    started = await gql.data(START_RECURRING, {"id": recurring_id}, token=tenant.admin)
    first_date = date.fromisoformat(started["startRecurringInvoice"]["nextSendDate"])
    run = await generate_due_invoices(runtime, today=first_date)
    (issued,) = run.issued
    return issued.invoice_id


SOURCES = {
    "send": by_sending,
    "mark_sent": by_marking_sent,
    "quote": by_approving_a_quote,
    "schedule": by_the_scheduler,
}


async def recorded(runtime, invoice_id):
    async with runtime.sessions() as session:
        entries = (
            await session.exec(
                select(Activity)
                .where(Activity.subject_id == invoice_id)
                .order_by(col(Activity.created_at), col(Activity.id))
            )
        ).all()
        events = (
            await session.exec(
                select(OutboxEvent)
                .where(OutboxEvent.subject_id == invoice_id)
                .order_by(col(OutboxEvent.position))
            )
        ).all()
        invoice = await session.get(Invoice, invoice_id)
    return entries, events, invoice


async def test_every_source_of_a_sent_invoice_records_the_same_events(gql, runtime, tenant):
    # given one client per way an invoice becomes SENT
    results = {}
    for name, issue in SOURCES.items():
        client = await client_with_contacts(gql, tenant, f"{name.replace('_', '')} Ltd")
        invoice_id = await issue(gql, runtime, tenant, client)
        results[name] = await recorded(runtime, invoice_id)
    # then each invoice is SENT, numbered once, and its events are the same sequence
    kinds = {name: [e.kind for e in events] for name, (_, events, _) in results.items()}
    verbs = {name: [e.verb for e in entries] for name, (entries, _, _) in results.items()}
    assert kinds == {name: ["invoice.created", "invoice.sent"] for name in SOURCES}
    assert verbs == kinds
    numbers = sorted(invoice.number for _, _, invoice in results.values())
    assert numbers == ["INV-0001", "INV-0002", "INV-0003", "INV-0004"]
    assert {invoice.status.value for _, _, invoice in results.values()} == {"SENT"}
    # and the source is a detail of the sent event, shown to the client
    for name, (entries, events, invoice) in results.items():
        sent_entry, sent_event = entries[-1], events[-1]
        assert sent_entry.details == {"number": invoice.number, "source": name}
        assert sent_event.payload == sent_entry.details
        assert sent_entry.visible_to_client
    # and a created-and-sent invoice shows its creation; a staff draft's stays internal
    created = {name: entries[0] for name, (entries, _, _) in results.items()}
    assert {name: entry.visible_to_client for name, entry in created.items()} == {
        "send": False,
        "mark_sent": False,
        "quote": True,
        "schedule": True,
    }
    assert created["quote"].details["source"] == "quote"
    assert created["schedule"].details["period"]


async def mails_to(runtime, address, template):
    async with runtime.sessions() as session:
        rows = (
            await session.exec(
                select(MailMessage).where(
                    MailMessage.to_address == address, MailMessage.template == template
                )
            )
        ).all()
    return len(rows)


async def test_a_document_mail_goes_only_where_the_contacts_schema_shows_it(gql, runtime, tenant):
    # given a client whose portal has quotes but not invoices, and one with every module
    quotes_only = await client_with_contacts(
        gql, tenant, "Quotes Only", modules=["CLIENT_PORTAL", "QUOTES"]
    )
    everything = await client_with_contacts(gql, tenant, "Everything Inc")
    # when staff send each an invoice and a quote
    for client in (quotes_only, everything):
        await by_sending(gql, runtime, tenant, client)
        quote = await gql.data(
            CREATE_QUOTE, {"input": {"clientId": client["id"], "lines": LINES}}, token=tenant.admin
        )
        await gql.data(SEND_QUOTE, {"id": quote["createQuote"]["id"]}, token=tenant.admin)
    # then the billing contact without the invoices module gets the quote mail only
    assert await mails_to(runtime, "billing@quotes.test", "invoice_sent") == 0
    assert await mails_to(runtime, "billing@quotes.test", "quote_sent") == 1
    # and the other client's billing contact gets both
    assert await mails_to(runtime, "billing@everything.test", "invoice_sent") == 1
    assert await mails_to(runtime, "billing@everything.test", "quote_sent") == 1


async def test_a_collaborator_gets_no_invoice_mail(gql, runtime, tenant):
    # given a client with a billing contact and a collaborator
    client = await client_with_contacts(
        gql, tenant, "Roles Corp", roles=("BILLING", "COLLABORATOR")
    )
    # when an invoice is sent
    await by_sending(gql, runtime, tenant, client)
    # then only the contact who may read invoices is mailed
    assert await mails_to(runtime, "billing@roles.test", "invoice_sent") == 1
    assert await mails_to(runtime, "collaborator@roles.test", "invoice_sent") == 0


async def test_an_invoice_marked_sent_or_converted_is_not_mailed(gql, runtime, tenant):
    client = await client_with_contacts(gql, tenant, "Quiet Co")
    await by_marking_sent(gql, runtime, tenant, client)
    await by_approving_a_quote(gql, runtime, tenant, client)
    assert await mails_to(runtime, "billing@quiet.test", "invoice_sent") == 0
    # while the scheduler's invoice is mailed like a sent one
    await by_the_scheduler(gql, runtime, tenant, client)
    assert await mails_to(runtime, "billing@quiet.test", "invoice_sent") == 1
