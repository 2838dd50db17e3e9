"""Money and one-use links under concurrency, on SQLite and on PostgreSQL.

Each case sends the same mutation many times at once, every request its own HTTP call
(its own session and connection), like a double-clicking user or a replaying attacker.
Read-check-write must be serialized: on PostgreSQL by row locks, on SQLite by every
mutation taking the write lock when its transaction begins (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import pytest
from sqlmodel import func, select

from models.accounts import Account
from models.auth import AuthSession
from models.clients import Contact
from models.enums import LinkPurpose
from services.errors import Unauthenticated
from services.portal.links import issue_link, mark_used, open_link
from services.unit_of_work import begin_write
from tests.portal.helpers import REDEEM, make_client

RACERS = 15

CREATE_CLIENT = "mutation($input: ClientInput!) { createClient(input: $input) { id } }"
CREATE_INVOICE = "mutation($input: InvoiceInput!) { createInvoice(input: $input) { id } }"
SEND_INVOICE = "mutation($id: ID!) { sendInvoice(id: $id) { id number status } }"
VOID_INVOICE = "mutation($id: ID!) { voidInvoice(id: $id) { id status } }"
INVOICE = """
query($id: ID!) { invoice(id: $id) { status total amountPaid creditsApplied balance } }
"""
CREATE_CREDIT = "mutation($input: CreditInput!) { createCredit(input: $input) { id } }"
APPLY_CREDIT = """
mutation($creditId: ID!, $invoiceId: ID!, $amount: Decimal) {
  applyCredit(creditId: $creditId, invoiceId: $invoiceId, amount: $amount) { id balance }
}
"""
CREDIT = """
query($id: ID!) {
  credit(id: $id) { amount balance status applications { amount invoice { id } } }
}
"""
RECORD_PAYMENT = "mutation($input: RecordPaymentInput!) { recordPayment(input: $input) { id } }"
APPLY_PAYMENT = """
mutation($id: ID!, $allocations: [AllocationInput!]!) {
  applyPayment(paymentId: $id, allocations: $allocations) { id unappliedAmount }
}
"""
REFUND_PAYMENT = """
mutation($id: ID!, $amount: Decimal!) { refundPayment(id: $id, amount: $amount) { id } }
"""
PAYMENT = """
query($id: ID!) {
  payment(id: $id) {
    amount refundedAmount unappliedAmount allocations { amount invoice { id } }
  }
}
"""


async def new_client(gql, token):
    data = await gql.data(CREATE_CLIENT, {"input": {"name": "Acme Corp"}}, token=token)
    return data["createClient"]["id"]


async def new_invoice(gql, token, client_id, *, send=True, unit_price="100.00"):
    lines = [{"description": "Consulting", "quantity": "1", "unitPrice": unit_price}]
    data = await gql.data(
        CREATE_INVOICE, {"input": {"clientId": client_id, "lines": lines}}, token=token
    )
    invoice_id = data["createInvoice"]["id"]
    if send:
        await gql.data(SEND_INVOICE, {"id": invoice_id}, token=token)
    return invoice_id


async def invoices(gql, token, client_id, count):
    return [await new_invoice(gql, token, client_id) for _ in range(count)]


async def read(gql, token, document, id_):
    data = await gql.data(document, {"id": id_}, token=token)
    return next(iter(data.values()))


def outcomes(bodies):
    """The bodies that succeeded, and the error codes of the others (every refusal must
    be a coded error, never a crash)."""
    won = [body for body in bodies if "errors" not in body]
    codes = [
        body["errors"][0].get("extensions", {}).get("code") for body in bodies if body not in won
    ]
    return won, codes


async def test_one_credit_applied_to_many_invoices_at_once_is_applied_once(gql, tenant):
    # given a 50.00 credit and fifteen open invoices of 100.00
    client_id = await new_client(gql, tenant.admin)
    ids = await invoices(gql, tenant.admin, client_id, RACERS)
    credit = await gql.data(
        CREATE_CREDIT, {"input": {"clientId": client_id, "amount": "50.00"}}, token=tenant.admin
    )
    credit_id = credit["createCredit"]["id"]
    # when the whole credit is applied to each of them at the same moment
    bodies = await asyncio.gather(
        *(
            gql(APPLY_CREDIT, {"creditId": credit_id, "invoiceId": id_}, token=tenant.admin)
            for id_ in ids
        )
    )
    # then one application wins and the others are refused with a code
    won, codes = outcomes(bodies)
    assert len(won) == 1
    assert codes == ["CONFLICT"] * (RACERS - 1)
    # and exactly 50.00 was applied: the credit is used up, no invoice holds more
    state = await read(gql, tenant.admin, CREDIT, credit_id)
    assert (state["balance"], state["status"]) == ("0.00", "APPLIED")
    assert sum(Decimal(a["amount"]) for a in state["applications"]) == Decimal("50.00")
    held = [await read(gql, tenant.admin, INVOICE, id_) for id_ in ids]
    assert sum(Decimal(i["creditsApplied"]) for i in held) == Decimal("50.00")
    assert all(Decimal(i["balance"]) >= 0 for i in held)


async def test_one_payment_applied_to_many_invoices_at_once_never_overdraws(gql, tenant):
    # given an unapplied 100.00 payment and fifteen open invoices
    client_id = await new_client(gql, tenant.admin)
    ids = await invoices(gql, tenant.admin, client_id, RACERS)
    variables = {"input": {"clientId": client_id, "amount": "100.00", "method": "CASH"}}
    payment_id = (await gql.data(RECORD_PAYMENT, variables, token=tenant.admin))["recordPayment"][
        "id"
    ]
    # when 40.00 of it is applied to each invoice at the same moment
    bodies = await asyncio.gather(
        *(
            gql(
                APPLY_PAYMENT,
                {"id": payment_id, "allocations": [{"invoiceId": id_, "amount": "40.00"}]},
                token=tenant.admin,
            )
            for id_ in ids
        )
    )
    # then two fit and the others are refused with a code
    won, codes = outcomes(bodies)
    assert len(won) == 2
    assert codes == ["BAD_USER_INPUT"] * (RACERS - 2)
    # and the allocations stay within the payment
    state = await read(gql, tenant.admin, PAYMENT, payment_id)
    allocated = sum(Decimal(a["amount"]) for a in state["allocations"])
    assert allocated == Decimal("80.00")
    assert Decimal(state["unappliedAmount"]) == Decimal("20.00")
    paid = [await read(gql, tenant.admin, INVOICE, id_) for id_ in ids]
    assert sum(Decimal(i["amountPaid"]) for i in paid) == allocated


async def test_a_full_refund_sent_many_times_at_once_refunds_once(gql, tenant):
    # given a 100.00 payment applied to an invoice
    client_id = await new_client(gql, tenant.admin)
    [invoice_id] = await invoices(gql, tenant.admin, client_id, 1)
    variables = {
        "input": {
            "clientId": client_id,
            "amount": "100.00",
            "method": "CASH",
            "allocations": [{"invoiceId": invoice_id, "amount": "100.00"}],
        }
    }
    payment_id = (await gql.data(RECORD_PAYMENT, variables, token=tenant.admin))["recordPayment"][
        "id"
    ]
    # when its full refund is sent fifteen times at once
    bodies = await asyncio.gather(
        *(
            gql(REFUND_PAYMENT, {"id": payment_id, "amount": "100.00"}, token=tenant.admin)
            for _ in range(RACERS)
        )
    )
    # then it is refunded once, and the repeats are refused with a code
    won, codes = outcomes(bodies)
    assert len(won) == 1
    assert codes == ["CONFLICT"] * (RACERS - 1)
    state = await read(gql, tenant.admin, PAYMENT, payment_id)
    assert (state["refundedAmount"], state["unappliedAmount"]) == ("100.00", "0.00")
    invoice = await read(gql, tenant.admin, INVOICE, invoice_id)
    assert (invoice["amountPaid"], invoice["balance"]) == ("0.00", "100.00")


async def test_voiding_while_a_credit_is_applied_never_leaves_a_void_invoice_with_credit(
    gql, tenant
):
    # given open invoices, and a credit for each
    client_id = await new_client(gql, tenant.admin)
    ids = await invoices(gql, tenant.admin, client_id, RACERS // 2)
    credits = []
    for _ in ids:
        variables = {"input": {"clientId": client_id, "amount": "30.00"}}
        credits.append(
            (await gql.data(CREATE_CREDIT, variables, token=tenant.admin))["createCredit"]["id"]
        )
    # when each invoice is voided while its credit is applied to it
    racing = []
    for invoice_id, credit_id in zip(ids, credits, strict=True):
        racing.append(gql(VOID_INVOICE, {"id": invoice_id}, token=tenant.admin))
        racing.append(
            gql(APPLY_CREDIT, {"creditId": credit_id, "invoiceId": invoice_id}, token=tenant.admin)
        )
    bodies = await asyncio.gather(*racing)
    # then each pair ends one way or the other: voided without credit, or credited and open
    for n, (invoice_id, credit_id) in enumerate(zip(ids, credits, strict=True)):
        voided, applied = bodies[2 * n], bodies[2 * n + 1]
        invoice = await read(gql, tenant.admin, INVOICE, invoice_id)
        credit = await read(gql, tenant.admin, CREDIT, credit_id)
        if invoice["status"] == "VOID":
            assert invoice["creditsApplied"] == "0.00", invoice
            assert "errors" not in voided
            assert "errors" in applied
            assert (credit["balance"], credit["applications"]) == ("30.00", [])
        else:
            assert invoice["creditsApplied"] == "30.00", invoice
            assert "errors" in voided
            assert "errors" not in applied
            assert voided["errors"][0]["extensions"]["code"] == "CONFLICT"
            assert credit["balance"] == "0.00"


async def test_sending_one_draft_many_times_at_once_takes_one_number(gql, tenant):
    # given a draft invoice
    client_id = await new_client(gql, tenant.admin)
    draft = await new_invoice(gql, tenant.admin, client_id, send=False)
    # when it is sent fifteen times at once
    bodies = await asyncio.gather(
        *(gql(SEND_INVOICE, {"id": draft}, token=tenant.admin) for _ in range(RACERS))
    )
    # then every send answers the one number it got (the repeats are reminders)
    won, codes = outcomes(bodies)
    assert codes == []
    assert {body["data"]["sendInvoice"]["number"] for body in won} == {"INV-0001"}
    # and the next invoice gets the next number: no gap
    following = await new_invoice(gql, tenant.admin, client_id, send=False)
    sent = await gql.data(SEND_INVOICE, {"id": following}, token=tenant.admin)
    assert sent["sendInvoice"]["number"] == "INV-0002"


async def magic_link(gql, runtime, tenant):
    """A new client's contact and a magic link issued to it."""
    client = await make_client(gql, tenant.admin)
    contact_id = uuid.UUID(client["contacts"][0]["id"])
    async with runtime.sessions() as session:
        await begin_write(session)
        contact = await session.get(Contact, contact_id)
        account = await session.get(Account, contact.account_id)
        issued = await issue_link(
            session,
            signer=runtime.signer,
            settings=runtime.settings,
            account=account,
            contact=contact,
            purpose=LinkPurpose.MAGIC_LINK,
        )
        await session.commit()
    return contact_id, issued


async def test_a_magic_link_redeemed_many_times_at_once_opens_one_session(gql, runtime, tenant):
    # given a magic link of a contact
    contact_id, issued = await magic_link(gql, runtime, tenant)
    # when it is redeemed ten times at once
    bodies = await asyncio.gather(*(gql(REDEEM, {"token": issued.token}) for _ in range(10)))
    # then one redemption signs the contact in and the others are refused
    won, codes = outcomes(bodies)
    assert len(won) == 1
    assert codes == ["UNAUTHENTICATED"] * 9
    # and exactly one session was opened
    async with runtime.sessions() as session:
        opened = (
            await session.exec(
                select(func.count())
                .select_from(AuthSession)
                .where(AuthSession.contact_id == contact_id)
            )
        ).one()
    assert opened == 1


async def test_a_link_spent_meanwhile_cannot_be_spent_again(gql, runtime, tenant):
    # given a magic link that one redemption has opened (it read the link as unused)
    _, issued = await magic_link(gql, runtime, tenant)
    purposes = frozenset({LinkPurpose.MAGIC_LINK})
    async with runtime.sessions() as late:
        opened = await open_link(late, signer=runtime.signer, token=issued.token, purposes=purposes)
        await late.commit()
        # when another redemption spends it first
        async with runtime.sessions() as first:
            await begin_write(first)
            mark_used(
                (
                    await open_link(
                        first, signer=runtime.signer, token=issued.token, purposes=purposes
                    )
                ).link
            )
            await first.commit()
        # then the late one's spend is refused when it is written
        await begin_write(late)
        mark_used(opened.link)
        with pytest.raises(Unauthenticated):
            await late.flush()
        await late.rollback()
