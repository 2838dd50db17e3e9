"""Saved payment methods through a real localstripe (issue 12, item 5): a SetupIntent
confirmed with a test card and stored when Stripe says it succeeded (re-read from Stripe,
once), the default, removal detaching at Stripe and refused while the card backs an
auto-billed schedule or a subscription, cards detached at Stripe, and the card kept by a
payment with ``savePaymentMethod``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlmodel import col, select

from models.activity import Activity
from models.enums import SubscriptionStatus
from models.payment_methods import SavedPaymentMethod
from models.subscriptions import Subscription, SubscriptionPlan
from tests.schema.test_payments import billing_setup, create_invoice_with
from tests.stripe.helpers import (
    INVOICE,
    PAY,
    PAYMENT,
    PAYMENT_METHODS,
    SETUP_INTENT,
    connect_stripe,
    eventually,
    intent_of,
    methods_of,
    post_stripe_event,
    save_card,
    serving,
)

SET_DEFAULT = "mutation($id: ID!) { setDefaultPaymentMethod(id: $id) { id isDefault } }"
REMOVE = "mutation($id: ID!) { removePaymentMethod(id: $id) }"
CREATE_RECURRING = """
mutation($input: RecurringInvoiceInput!) { createRecurringInvoice(input: $input) { id } }
"""
START_RECURRING = "mutation($id: ID!) { startRecurringInvoice(id: $id) { id status } }"
UPDATE_RECURRING = """
mutation($id: ID!, $input: RecurringInvoiceInput!) {
  updateRecurringInvoice(id: $id, input: $input) { id chargesAutomatically }
}
"""


async def setup(gql, runtime, tenant):
    await connect_stripe(gql, tenant.admin)
    return await billing_setup(gql, runtime, tenant)


async def stored(runtime) -> list[SavedPaymentMethod]:
    async with runtime.sessions() as session:
        return list((await session.exec(select(SavedPaymentMethod))).all())


async def test_a_contact_saves_a_card_with_a_setup_intent(
    gql, tenant, runtime, client, localstripe
):
    # given a billing contact of a client, Stripe connected
    _client, contact = await setup(gql, runtime, tenant)
    # when it starts a SetupIntent
    started = (await gql.data(SETUP_INTENT, token=contact))["createSetupIntent"]
    # then Stripe.js gets what it needs (the SetupIntent id is for staff only)
    assert started["publishableKey"].startswith("pk_test_")
    seti = started["clientSecret"].split("_secret_")[0]
    intent = localstripe.get(f"/v1/setup_intents/{seti}")
    assert intent["usage"] == "off_session"
    assert intent["customer"].startswith("cus_")
    # and nothing is stored before Stripe confirms the card
    snapshot = dict(intent)  # the event's object: as it was before the card was confirmed
    confirmed, pm = localstripe.confirm_setup(seti, "ok")
    assert confirmed.status_code == 200
    assert await methods_of(gql, contact) == []
    # when Stripe's setup_intent.succeeded arrives (its object older than Stripe's state)
    answer = await post_stripe_event(client, tenant.account_id, "setup_intent.succeeded", snapshot)
    # then the card is stored as Stripe has it now: brand, last four, expiry, the default
    assert answer.json()["outcome"] == "applied"
    [card] = await methods_of(gql, contact)
    assert {k: card[k] for k in ("brand", "last4", "expMonth", "expYear", "isDefault")} == {
        "brand": "visa",
        "last4": "4242",
        "expMonth": 12,
        "expYear": 2034,
        "isDefault": True,
    }
    staff_view = (await gql.data(PAYMENT_METHODS, token=tenant.admin))["paymentMethods"]
    assert staff_view["edges"][0]["node"]["stripePaymentMethodId"] == pm
    # and a retried or second event for the same SetupIntent stores nothing more
    again = await post_stripe_event(
        client,
        tenant.account_id,
        "setup_intent.succeeded",
        localstripe.get(f"/v1/setup_intents/{seti}"),
    )
    assert again.json()["outcome"] == "ignored: already saved"
    assert len(await stored(runtime)) == 1
    async with runtime.sessions() as session:
        verbs = (
            await session.exec(
                select(Activity.verb).where(col(Activity.subject_type) == "payment_method")
            )
        ).all()
    assert verbs == ["payment_method.saved"]


async def test_a_setup_intent_waiting_for_3d_secure_or_declined_stores_nothing(
    gql, tenant, runtime, client, localstripe
):
    _client, contact = await setup(gql, runtime, tenant)
    started = (await gql.data(SETUP_INTENT, token=contact))["createSetupIntent"]
    seti = started["clientSecret"].split("_secret_")[0]
    confirmed, _pm = localstripe.confirm_setup(seti, "3ds")
    assert confirmed.json()["status"] == "requires_action"
    # a forged-looking "succeeded" copy of it (signed, so Stripe's word): re-read first
    snapshot = {**localstripe.get(f"/v1/setup_intents/{seti}"), "status": "succeeded"}
    answer = await post_stripe_event(client, tenant.account_id, "setup_intent.succeeded", snapshot)
    assert answer.json()["outcome"] == "ignored: the SetupIntent is requires_action"
    refused_start = (await gql.data(SETUP_INTENT, token=contact))["createSetupIntent"]
    refused, _ = localstripe.confirm_setup(
        refused_start["clientSecret"].split("_secret_")[0], "refused"
    )
    assert refused.status_code == 402
    assert await methods_of(gql, contact) == []


async def test_staff_save_a_card_for_a_named_client_and_contacts_only_for_their_own(
    gql, tenant, runtime, client, localstripe
):
    acme, contact = await setup(gql, runtime, tenant)
    other, _other_contact = await billing_setup(gql, runtime, tenant)
    # staff name the client
    body = await gql(SETUP_INTENT, token=tenant.admin)
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "clientId"}
    await save_card(gql, client, localstripe, tenant.account_id, tenant.admin, client_id=acme["id"])
    [card] = await methods_of(gql, contact)
    assert card["last4"] == "4242"
    # a contact cannot start one for another client (which it cannot see)
    body = await gql(SETUP_INTENT, {"clientId": other["id"]}, token=contact)
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    # a member (no money) has no such mutation at all
    member = tenant.tokens[next(r for r in tenant.tokens if r.value == "MEMBER")]
    body = await gql(SETUP_INTENT, {"clientId": acme["id"]}, token=member)
    assert body["errors"][0]["message"].startswith("Cannot query field 'createSetupIntent'")


async def test_without_stripe_setup_intents_are_not_configured(gql, tenant, runtime):
    _client, contact = await billing_setup(gql, runtime, tenant)
    body = await gql(SETUP_INTENT, token=contact)
    assert body["errors"][0]["extensions"]["code"] == "PAYMENTS_NOT_CONFIGURED"


async def test_the_default_moves_and_removing_detaches_at_stripe(
    gql, tenant, runtime, client, localstripe
):
    _client, contact = await setup(gql, runtime, tenant)
    first = await save_card(gql, client, localstripe, tenant.account_id, contact)
    second = await save_card(
        gql, client, localstripe, tenant.account_id, contact, "fails_to_charge"
    )
    newest, oldest = await methods_of(gql, contact)
    assert (newest["last4"], newest["isDefault"]) == ("0341", False)
    assert (oldest["last4"], oldest["isDefault"]) == ("4242", True)
    # when the contact makes the newer card the default
    changed = await gql.data(SET_DEFAULT, {"id": newest["id"]}, token=contact)
    assert changed["setDefaultPaymentMethod"] == {"id": newest["id"], "isDefault": True}
    assert [m["isDefault"] for m in await methods_of(gql, contact)] == [True, False]
    # and removes the older one
    removed = await gql.data(REMOVE, {"id": oldest["id"]}, token=contact)
    assert removed["removePaymentMethod"] == oldest["id"]
    # then it is gone here and detached at Stripe; the other stays attached
    assert [m["id"] for m in await methods_of(gql, contact)] == [newest["id"]]
    assert localstripe.get(f"/v1/payment_methods/{first}")["customer"] is None
    assert localstripe.get(f"/v1/payment_methods/{second}")["customer"].startswith("cus_")
    # and Stripe's payment_method.detached that follows changes nothing more
    answer = await post_stripe_event(
        client,
        tenant.account_id,
        "payment_method.detached",
        localstripe.get(f"/v1/payment_methods/{first}"),
    )
    assert answer.json()["outcome"] == "ignored: not saved"


async def test_removal_is_refused_while_the_card_backs_an_auto_billed_schedule(
    gql, tenant, runtime, client, localstripe
):
    # given a client whose only card is its default, and a schedule that auto-bills
    acme, contact = await setup(gql, runtime, tenant)
    await save_card(gql, client, localstripe, tenant.account_id, contact)
    [card] = await methods_of(gql, contact)
    lines = [{"description": "Retainer", "quantity": "1", "unitPrice": "500.00"}]
    recurring = (
        await gql.data(
            CREATE_RECURRING,
            {"input": {"clientId": acme["id"], "autoBill": "ALWAYS", "lines": lines}},
            token=tenant.admin,
        )
    )["createRecurringInvoice"]["id"]
    await gql.data(START_RECURRING, {"id": recurring}, token=tenant.admin)
    # when the contact removes the card, then it is refused with the reason
    body = await gql(REMOVE, {"id": card["id"]}, token=contact)
    assert body["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert "charged automatically for a recurring invoice" in body["errors"][0]["message"]
    assert len(await methods_of(gql, contact)) == 1
    # and it stays attached at Stripe
    [row] = await stored(runtime)
    assert localstripe.get(f"/v1/payment_methods/{row.stripe_payment_method_id}")["customer"]
    # once automatic billing is off, it can go
    await gql.data(
        UPDATE_RECURRING, {"id": recurring, "input": {"autoBill": "OFF"}}, token=tenant.admin
    )
    assert (await gql.data(REMOVE, {"id": card["id"]}, token=contact))["removePaymentMethod"]


async def test_removal_is_refused_while_the_card_pays_an_active_subscription(
    gql, tenant, runtime, client, localstripe
):
    acme, contact = await setup(gql, runtime, tenant)
    await save_card(gql, client, localstripe, tenant.account_id, contact)
    await save_card(gql, client, localstripe, tenant.account_id, contact)
    named, default = await methods_of(gql, contact)
    assert default["isDefault"]
    async with runtime.sessions() as session:  # subscriptions have no API to create yet
        plan = SubscriptionPlan(account_id=tenant.account_id, name="Pro", currency="USD")
        session.add(plan)
        await session.flush()
        session.add(
            Subscription(
                account_id=tenant.account_id,
                client_id=uuid.UUID(acme["id"]),
                plan_id=plan.id,
                status=SubscriptionStatus.ACTIVE,
                started_at=datetime.now(UTC),
                payment_method_id=uuid.UUID(named["id"]),
            )
        )
        await session.commit()
    body = await gql(REMOVE, {"id": named["id"]}, token=contact)
    assert body["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert "active subscription" in body["errors"][0]["message"]
    # the default pays no subscription (this one names its card) and may go
    assert (await gql.data(REMOVE, {"id": default["id"]}, token=contact))["removePaymentMethod"]


async def test_a_card_detached_at_stripe_is_forgotten_and_a_late_event_does_not_bring_it_back(
    gql, tenant, runtime, client, localstripe
):
    _client, contact = await setup(gql, runtime, tenant)
    started = (await gql.data(SETUP_INTENT, token=contact))["createSetupIntent"]
    seti = started["clientSecret"].split("_secret_")[0]
    localstripe.confirm_setup(seti, "ok")
    succeeded = localstripe.get(f"/v1/setup_intents/{seti}")
    assert (
        await post_stripe_event(client, tenant.account_id, "setup_intent.succeeded", succeeded)
    ).json()["outcome"] == "applied"
    pm = succeeded["payment_method"]
    # when the card is detached in Stripe's dashboard and Stripe says so
    localstripe.detach(pm)
    detached = localstripe.get(f"/v1/payment_methods/{pm}")
    answer = await post_stripe_event(client, tenant.account_id, "payment_method.detached", detached)
    # then it is forgotten
    assert answer.json()["outcome"] == "applied"
    assert await methods_of(gql, contact) == []
    # and a late copy of the SetupIntent's success (delivered out of order) stores nothing
    late = await post_stripe_event(client, tenant.account_id, "setup_intent.succeeded", succeeded)
    assert late.json()["outcome"] == "ignored: the payment method is not attached to the client"
    assert await methods_of(gql, contact) == []


async def test_a_setup_intent_of_another_account_is_refused(
    gql, tenant, runtime, client, make_tenant, localstripe
):
    _client, contact = await setup(gql, runtime, tenant)
    started = (await gql.data(SETUP_INTENT, token=contact))["createSetupIntent"]
    seti = started["clientSecret"].split("_secret_")[0]
    localstripe.confirm_setup(seti, "ok")
    other = await make_tenant("globex")
    await connect_stripe(gql, other.admin)
    answer = await post_stripe_event(
        client,
        other.account_id,
        "setup_intent.succeeded",
        localstripe.get(f"/v1/setup_intents/{seti}"),
    )
    assert answer.json()["outcome"] == "refused: not this account's client"
    assert await stored(runtime) == []


async def test_paying_with_save_payment_method_keeps_the_card_then_pays_with_it_off_session(
    gql, tenant, runtime, localstripe
):
    acme, contact = await setup(gql, runtime, tenant)
    first = await create_invoice_with(gql, tenant.admin, acme["id"])
    started = (await gql.data(PAY, {"invoiceIds": [first], "save": True}, token=contact))[
        "payInvoices"
    ]
    intent = intent_of(started["clientSecret"])
    async with serving(runtime) as base:
        localstripe.send_webhooks_to(f"{base}/webhooks/stripe/{tenant.account_id}")
        assert localstripe.confirm(intent, "ok").status_code == 200

        async def saved():
            return await methods_of(gql, contact)

        [card] = await eventually(saved)
    assert (card["last4"], card["isDefault"]) == ("4242", True)
    paid = await gql.data(PAYMENT, {"id": started["payment"]["id"]}, token=tenant.admin)
    assert paid["payment"]["status"] == "COMPLETED"
    # when the next invoice is paid with the saved card, it is charged off-session at once
    second = await create_invoice_with(gql, tenant.admin, acme["id"], price="40.00")
    again = (
        await gql.data(PAY, {"invoiceIds": [second], "paymentMethodId": card["id"]}, token=contact)
    )["payInvoices"]
    assert (again["payment"]["status"], again["clientSecret"]) == ("COMPLETED", None)
    invoice = (await gql.data(INVOICE, {"id": second}, token=tenant.admin))["invoice"]
    assert (invoice["status"], invoice["balance"]) == ("PAID", "0.00")
