"""Bad input to "Pay now" with Stripe connected (issue 12, "Bad input"): each refusal has
a clear ``extensions.code`` and charges nothing — no PaymentIntent reaches localstripe,
no payment is recorded. (The Billing rules themselves are covered field by field in
tests/schema/test_payments.py::test_portal_payment_rules.)"""

from __future__ import annotations

from decimal import Decimal

from tests.schema.test_payments import (
    VOID_INVOICE,
    create_client,
    create_invoice,
    create_invoice_with,
    pay,
    pay_refused,
    payment_count,
    record_payment,
    set_account,
)
from tests.stripe.test_card_payments import paying


async def test_refused_payments_charge_nothing(gql, tenant, runtime, make_tenant, localstripe):
    client, contact, invoice = await paying(gql, runtime, tenant)
    await set_account(
        runtime,
        tenant.account_id,
        allow_partial_payments=True,
        minimum_payment_amount=Decimal("25.00"),
    )
    yen = await create_invoice_with(gql, tenant.admin, client["id"], currency="JPY", price="1000")
    paid = await create_invoice(gql, tenant.admin, client["id"], "10.00")
    await record_payment(gql, tenant.admin, client["id"], "10.00", [(paid, "10.00")])
    void = await create_invoice(gql, tenant.admin, client["id"])
    await gql.data(VOID_INVOICE, {"id": void}, token=tenant.admin)
    other = await create_client(gql, tenant.admin, name="Globex")
    others = await create_invoice(gql, tenant.admin, other["id"])
    foreign = await make_tenant("initech")
    foreign_invoice = await create_invoice(
        gql, foreign.admin, (await create_client(gql, foreign.admin))["id"]
    )
    amount = {"code": "BAD_USER_INPUT", "field": "amount"}
    cases = [
        ("below the account's minimum", [invoice], "24.99", amount),
        ("finer than a cent", [invoice], "30.001", amount),
        ("finer than a yen", [yen], "500.5", amount),
        ("nothing", [invoice], "0.00", amount),
        (
            "two currencies",
            [invoice, yen],
            None,
            {"code": "BAD_USER_INPUT", "field": "invoiceIds.1"},
        ),
        ("already paid", [paid], None, {"code": "CONFLICT", "field": "invoiceIds.0"}),
        ("void", [void], None, {"code": "NOT_FOUND"}),
        ("another client's", [invoice, others], None, {"code": "NOT_FOUND"}),
        ("another account's", [foreign_invoice], None, {"code": "NOT_FOUND"}),
    ]
    for what, invoice_ids, paying_amount, expected in cases:
        assert await pay_refused(gql, contact, invoice_ids, paying_amount) == expected, what
    assert localstripe.intents_for(tenant.account_id) == []
    assert localstripe.intents_for(foreign.account_id) == []
    assert await payment_count(gql, tenant.admin) == 1  # the manual one
    # while a valid request does reach Stripe (so the check above can see one)
    assert (await pay(gql, contact, [invoice], "30.00"))["amount"] == "30.00"
    assert len(localstripe.intents_for(tenant.account_id)) == 1
