"""Pay Now with an amount of the contact's choosing, where the account allows it: partial
payments (and an invoice whose deposit is due first) offer an amount per invoice, the
balance by default; what the API refuses (more than the balance, less than is due where
partial payments are off) and what is not a number come back as a form error."""

from __future__ import annotations

import uuid
from decimal import Decimal

from models.invoices import Invoice
from tests.portal_web.helpers import CREATE_INVOICE, SEND_INVOICE, billed_client, csrf_of
from tests.schema.test_capabilities import set_account
from tests.schema.test_recurring import contact_token
from tests.stripe.helpers import connect_stripe, methods_of, save_card

BASE = "/portal/acme"
INVOICE = "query($id: ID!) { invoice(id: $id) { balance paidState } }"
PAYMENTS = "{ payments(first: 5) { nodes { status amount } } }"
UPDATE_ACCOUNT = """
mutation($input: AccountSettingsInput!) { updateAccountSettings(input: $input) { id } }
"""


async def with_saved_card(gql, runtime, tenant, client, localstripe):
    """A billed client (an invoice of $1,250.00) signed in, with a saved card; the
    invoice page, and the card's id."""
    await connect_stripe(gql, tenant.admin)
    billed = await billed_client(gql, tenant.admin)
    token = await contact_token(runtime, billed.contact_id)
    await save_card(gql, client, localstripe, tenant.account_id, token)
    (method,) = await methods_of(gql, token)
    assert (await client.get(billed.path)).status_code == 303
    return billed, method["id"]


async def test_a_partial_amount_is_paid_and_the_rest_stays_outstanding(
    gql, runtime, tenant, client, localstripe
):
    await set_account(runtime, tenant.account_id, minimum_payment_amount=Decimal("50.00"))
    billed, card = await with_saved_card(gql, runtime, tenant, client, localstripe)
    page = await client.get(f"{BASE}/invoices/{billed.invoice_id}")
    assert '<label for="pay-amount">Amount to pay (USD)</label>' in page.text
    assert 'name="amount" inputmode="decimal" required value="1250.00"' in page.text
    assert "Up to the balance of $1,250.00; at least $50.00." in page.text
    paid = await client.post(
        f"{BASE}/invoices/{billed.invoice_id}/pay",
        data={"csrf": csrf_of(page.text), "paymentMethod": card, "amount": "250,50"},
    )
    assert paid.status_code == 303, paid.text
    invoice = (await gql.data(INVOICE, {"id": billed.invoice_id}, token=tenant.admin))["invoice"]
    assert invoice == {"balance": "999.50", "paidState": "PARTIAL"}
    shown = await client.get(f"{BASE}/invoices/{billed.invoice_id}")
    assert '<dd data-testid="balance">$999.50</dd>' in shown.text
    assert 'required value="999.50"' in shown.text
    # and below the account's minimum is a form error
    low = await client.post(
        f"{BASE}/invoices/{billed.invoice_id}/pay",
        data={"csrf": csrf_of(shown.text), "paymentMethod": card, "amount": "49.99"},
    )
    assert low.status_code == 400
    assert "The smallest payment accepted is $50.00." in low.text


async def test_several_invoices_each_with_its_own_amount(gql, runtime, tenant, client, localstripe):
    billed, card = await with_saved_card(gql, runtime, tenant, client, localstripe)
    lines = [{"description": "Hosting", "quantity": "1", "unitPrice": "250.00"}]
    other = (
        await gql.data(
            CREATE_INVOICE,
            {"input": {"clientId": billed.client_id, "currency": "USD", "lines": lines}},
            token=tenant.admin,
        )
    )["createInvoice"]
    await gql.data(SEND_INVOICE, {"id": other["id"]}, token=tenant.admin)
    page = await client.get(f"{BASE}/invoices")
    assert page.text.count('inputmode="decimal" value="') == 2
    chosen = {
        "csrf": csrf_of(page.text),
        "paymentMethod": card,
        f"invoice-{billed.invoice_id}": "yes",
        f"amount-{billed.invoice_id}": "100",
        f"invoice-{other['id']}": "yes",
        f"amount-{other['id']}": "250.00",
    }
    paid = await client.post(f"{BASE}/invoices/pay", data=chosen)
    assert paid.status_code == 303, paid.text
    balances = [
        (await gql.data(INVOICE, {"id": invoice_id}, token=tenant.admin))["invoice"]
        for invoice_id in (billed.invoice_id, other["id"])
    ]
    assert balances == [
        {"balance": "1150.00", "paidState": "PARTIAL"},
        {"balance": "0.00", "paidState": "PAID"},
    ]


async def test_partial_payments_refused_where_the_account_does_not_allow_them(
    gql, runtime, tenant, client, localstripe
):
    await set_account(runtime, tenant.account_id, allow_partial_payments=False)
    billed, card = await with_saved_card(gql, runtime, tenant, client, localstripe)
    page = await client.get(f"{BASE}/invoices/{billed.invoice_id}")
    # no amount to choose: the full amount due
    assert 'name="amount"' not in page.text
    assert "Pay $1,250.00 now</button>" in page.text
    # and a form that sends one anyway is refused by the API
    refused = await client.post(
        f"{BASE}/invoices/{billed.invoice_id}/pay",
        data={"csrf": csrf_of(page.text), "paymentMethod": card, "amount": "100.00"},
    )
    assert refused.status_code == 400
    assert f"Pay the full amount due of $1,250.00 on invoice {billed.invoice_number}." in (
        refused.text
    )
    assert (await gql.data(PAYMENTS, token=tenant.admin))["payments"]["nodes"] == []
    invoice = (await gql.data(INVOICE, {"id": billed.invoice_id}, token=tenant.admin))["invoice"]
    assert invoice["balance"] == "1250.00"


async def test_an_unpaid_deposit_lets_the_contact_pay_it_or_more(
    gql, runtime, tenant, client, localstripe
):
    await set_account(runtime, tenant.account_id, allow_partial_payments=False)
    billed, card = await with_saved_card(gql, runtime, tenant, client, localstripe)
    async with runtime.sessions() as session:
        invoice = await session.get(Invoice, uuid.UUID(billed.invoice_id))
        assert invoice is not None
        invoice.deposit_amount = Decimal("300.00")
        await session.commit()
    page = await client.get(f"{BASE}/invoices/{billed.invoice_id}")
    assert "At least the deposit of $300.00, up to the balance of $1,250.00." in page.text
    short = await client.post(
        f"{BASE}/invoices/{billed.invoice_id}/pay",
        data={"csrf": csrf_of(page.text), "paymentMethod": card, "amount": "200"},
    )
    assert short.status_code == 400
    assert "Pay the full amount due of $300.00" in short.text
    paid = await client.post(
        f"{BASE}/invoices/{billed.invoice_id}/pay",
        data={"csrf": csrf_of(page.text), "paymentMethod": card, "amount": "500"},
    )
    assert paid.status_code == 303, paid.text
    invoice_now = await gql.data(INVOICE, {"id": billed.invoice_id}, token=tenant.admin)
    assert invoice_now["invoice"]["balance"] == "750.00"


async def test_bad_amounts_are_form_errors_and_pay_nothing(
    gql, runtime, tenant, client, localstripe
):
    billed, card = await with_saved_card(gql, runtime, tenant, client, localstripe)
    page = await client.get(f"{BASE}/invoices/{billed.invoice_id}")
    csrf = csrf_of(page.text)
    expected = {
        "-5": "Enter an amount above zero.",
        "0": "Amount must be positive.",
        "12\x0034": "Enter the amount as a number, like 1250.00.",
        "twelve": "Enter the amount as a number, like 1250.00.",
        "1e3": "Enter the amount as a number, like 1250.00.",
        "NaN": "Enter the amount as a number, like 1250.00.",
        "1,250": "Write the amount without thousands separators, like 1250.00.",
        "1250.01": f"Pay at most the balance of $1,250.00 on invoice {billed.invoice_number}.",
        "99999999999999999": "Enter the amount as a number, like 1250.00.",
    }
    for typed, message in expected.items():
        response = await client.post(
            f"{BASE}/invoices/{billed.invoice_id}/pay",
            data={"csrf": csrf, "paymentMethod": card, "amount": typed},
        )
        assert response.status_code == 400, (typed, response.text[:300])
        assert f'<p class="error" role="alert">{message}</p>' in response.text, typed
        # the invoice page again, its amount field back at the balance
        assert 'required value="1250.00"' in response.text, typed
    # the list's form too
    several = await client.post(
        f"{BASE}/invoices/pay",
        data={
            "csrf": csrf,
            f"invoice-{billed.invoice_id}": "yes",
            f"amount-{billed.invoice_id}": "x",
        },
    )
    assert several.status_code == 400
    assert "Enter the amount as a number, like 1250.00." in several.text
    assert (await gql.data(PAYMENTS, token=tenant.admin))["payments"]["nodes"] == []


async def test_without_payments_for_the_contact_there_is_no_amount_field(
    gql, runtime, tenant, client
):
    modules = ["CLIENT_PORTAL", "INVOICES"]
    await gql.data(UPDATE_ACCOUNT, {"input": {"enabledModules": modules}}, token=tenant.admin)
    billed = await billed_client(gql, tenant.admin)
    assert (await client.get(billed.path)).status_code == 303
    page = await client.get(f"{BASE}/invoices/{billed.invoice_id}")
    assert page.status_code == 200
    assert '<dd data-testid="balance">$1,250.00</dd>' in page.text
    assert 'name="amount"' not in page.text
    assert "Amount to pay" not in page.text
