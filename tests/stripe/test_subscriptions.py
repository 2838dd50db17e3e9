"""Subscriptions billed by Portico through a real localstripe (issue 12, item 7): staff
define plans and subscribe a client; each period is invoiced in Portico and charged
off-session with the saved card (the auto-bill path); plan changes are prorated and
charge exactly their preview; contacts cancel (or ask to, as the plan allows); a
declined card makes the subscription PAST_DUE, retried, then UNPAID or CANCELED as the
account says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import col, select

from models.enums import PaymentStatus
from models.payments import Payment
from server.scheduler import RecurringScheduler
from tests.schema.test_credits import APPLY_CREDIT, CREATE_CREDIT
from tests.schema.test_payments import billing_setup, record_payment
from tests.stripe.helpers import connect_stripe, methods_of, save_card

CREATE_PLAN = """
mutation($input: SubscriptionPlanInput!) {
  createSubscriptionPlan(input: $input) {
    id name amount currency interval intervalCount trialDays allowCancellation
    allowPlanChanges active
  }
}
"""
ARCHIVE_PLAN = "mutation($id: ID!) { archiveSubscriptionPlan(id: $id) { id active archivedAt } }"
UPDATE_PLAN = """
mutation($id: ID!, $input: SubscriptionPlanUpdateInput!) {
  updateSubscriptionPlan(id: $id, input: $input) { id name amount }
}
"""
PLANS = "query { subscriptionPlans { id name } }"
SUBSCRIPTION_FIELDS = """
  id status currentPeriodStart currentPeriodEnd cancelAtPeriodEnd canceledAt
  cancellationRequestedAt cancellationReason plan { id name }
  paymentMethod { id last4 }
  invoices { id status total balance }
"""
SUBSCRIBE = f"""
mutation($clientId: ID!, $planId: ID!, $paymentMethodId: ID) {{
  subscribeClient(clientId: $clientId, planId: $planId, paymentMethodId: $paymentMethodId) {{
    {SUBSCRIPTION_FIELDS}
  }}
}}
"""
SUBSCRIPTION = f"query($id: ID!) {{ subscription(id: $id) {{ {SUBSCRIPTION_FIELDS} }} }}"
PREVIEW = """
query($id: ID!, $planId: ID!) {
  previewSubscriptionPlanChange(id: $id, planId: $planId) {
    currency credit charge amountDue creditIssued remainingDays periodDays periodEnd
  }
}
"""
CHANGE = """
mutation($id: ID!, $planId: ID!) {
  changeSubscriptionPlan(id: $id, planId: $planId) {
    subscription { id status plan { name } currentPeriodEnd }
    proration { credit charge amountDue creditIssued remainingDays }
    invoice { id status total balance }
    credit { id amount balance }
  }
}
"""
CANCEL = """
mutation($id: ID!, $atPeriodEnd: Boolean!, $reason: String) {
  cancelSubscription(id: $id, atPeriodEnd: $atPeriodEnd, reason: $reason) {
    id status cancelAtPeriodEnd canceledAt cancellationReason
  }
}
"""
REQUEST_CANCEL = """
mutation($id: ID!, $reason: String) {
  requestSubscriptionCancellation(id: $id, reason: $reason) {
    id status cancellationRequestedAt cancellationReason
  }
}
"""
UPDATE_METHOD = """
mutation($id: ID!, $pm: ID!) {
  updateSubscriptionPaymentMethod(id: $id, paymentMethodId: $pm) { id paymentMethod { id } }
}
"""
REMOVE_METHOD = "mutation($id: ID!) { removePaymentMethod(id: $id) }"
SETTINGS = """
mutation($input: AccountSettingsInput!) {
  updateAccountSettings(input: $input) { id subscriptionUnpaidAction }
}
"""


def plan_input(name: str, amount: str, **options: Any) -> dict[str, Any]:
    return {"input": {"name": name, "amount": amount, "currency": "USD", **options}}


async def create_plan(gql, tenant, name="Care", amount="30.00", **options) -> dict[str, Any]:
    data = await gql.data(CREATE_PLAN, plan_input(name, amount, **options), token=tenant.admin)
    plan: dict[str, Any] = data["createSubscriptionPlan"]
    return plan


async def subscribed(gql, runtime, tenant, client, localstripe, card="ok", **plan_options):
    """Stripe connected, a client with a billing contact and a saved card, a plan, and
    the client subscribed to it."""
    await connect_stripe(gql, tenant.admin)
    acme, contact = await billing_setup(gql, runtime, tenant)
    await save_card(gql, client, localstripe, tenant.account_id, contact, card)
    plan = await create_plan(gql, tenant, **plan_options)
    data = await gql.data(
        SUBSCRIBE, {"clientId": acme["id"], "planId": plan["id"]}, token=tenant.admin
    )
    return acme, contact, plan, data["subscribeClient"]


async def subscription(gql, token, subscription_id) -> dict[str, Any]:
    found: dict[str, Any] = (await gql.data(SUBSCRIPTION, {"id": subscription_id}, token=token))[
        "subscription"
    ]
    return found


async def card_payments(runtime) -> list[Payment]:
    async with runtime.sessions() as session:
        rows = await session.exec(
            select(Payment)
            .where(col(Payment.provider) == "stripe")
            .order_by(col(Payment.created_at))
        )
        return list(rows.all())


def after(moment: str, *, days: float = 0, minutes: float = 1) -> datetime:
    return datetime.fromisoformat(moment) + timedelta(days=days, minutes=minutes)


def code_of(body: dict[str, Any]) -> str:
    code: str = body["errors"][0]["extensions"]["code"]
    return code


async def test_staff_manage_plans_and_clients_see_the_active_ones(gql, runtime, tenant):
    # given two plans, one then archived and one renamed
    care = await create_plan(gql, tenant, trialDays=14, allowCancellation=False)
    old = await create_plan(gql, tenant, name="Legacy", amount="10.00")
    assert (care["interval"], care["intervalCount"], care["trialDays"]) == ("MONTH", 1, 14)
    assert (care["allowCancellation"], care["allowPlanChanges"], care["active"]) == (
        False,
        True,
        True,
    )
    archived = (await gql.data(ARCHIVE_PLAN, {"id": old["id"]}, token=tenant.admin))[
        "archiveSubscriptionPlan"
    ]
    assert archived["active"] is False
    assert archived["archivedAt"]
    renamed = await gql.data(
        UPDATE_PLAN,
        {"id": care["id"], "input": {"name": "Care Plus", "amount": "35.00"}},
        token=tenant.admin,
    )
    assert renamed["updateSubscriptionPlan"] == {
        "id": care["id"],
        "name": "Care Plus",
        "amount": "35.00",
    }
    # then a billing contact sees only the active plan, and cannot create one
    _acme, contact = await billing_setup(gql, runtime, tenant)
    assert (await gql.data(PLANS, token=contact))["subscriptionPlans"] == [
        {"id": care["id"], "name": "Care Plus"}
    ]
    denied = await gql(CREATE_PLAN, plan_input("Mine", "1.00"), token=contact)
    assert code_of(denied) == "GRAPHQL_VALIDATION_FAILED"
    # and a price finer than the currency's minor unit is refused, not rounded
    refused = await gql(
        'mutation($id: ID!) { updateSubscriptionPlan(id: $id, input: {amount: "1.001"}) { id } }',
        {"id": care["id"]},
        token=tenant.admin,
    )
    assert code_of(refused) == "BAD_USER_INPUT"


async def test_a_subscription_is_invoiced_and_charged_off_session_each_period(
    gql, tenant, runtime, client, localstripe
):
    # when staff subscribe a client with a saved card to a monthly plan of 30.00
    _acme, contact, _plan, started = await subscribed(gql, runtime, tenant, client, localstripe)
    # then the first period is invoiced in Portico and charged at once, off-session
    assert started["status"] == "ACTIVE"
    [invoice] = started["invoices"]
    assert (invoice["status"], invoice["total"], invoice["balance"]) == ("PAID", "30.00", "0.00")
    [payment] = await card_payments(runtime)
    assert (payment.status, payment.amount) == (PaymentStatus.COMPLETED, Decimal("30.00"))
    intent = localstripe.intent(payment.provider_payment_id)
    assert (intent["status"], intent["amount"], intent["metadata"]["portico_payment_id"]) == (
        "succeeded",
        3000,
        str(payment.id),
    )
    [card] = await methods_of(gql, contact)
    assert payment.payment_method_id is not None
    assert str(payment.payment_method_id) == card["id"]
    # and the client sees its subscription with the period paid
    seen = await subscription(gql, contact, started["id"])
    assert seen["plan"]["name"] == "Care"
    assert seen["invoices"][0]["status"] == "PAID"
    # when the period ends, the scheduler invoices and charges the next one, once
    scheduler = RecurringScheduler(runtime)
    renewal = after(started["currentPeriodEnd"])
    run = await scheduler.run_once(now=renewal)
    assert run.subscription_invoices == 1
    await scheduler.run_once(now=renewal + timedelta(hours=1))
    renewed = await subscription(gql, tenant.admin, started["id"])
    assert renewed["currentPeriodStart"] == started["currentPeriodEnd"]
    assert [i["status"] for i in renewed["invoices"]] == ["PAID", "PAID"]
    assert [p.status for p in await card_payments(runtime)] == [PaymentStatus.COMPLETED] * 2
    # and the card still backs the subscription, so it cannot be removed
    refused = await gql(REMOVE_METHOD, {"id": card["id"]}, token=contact)
    assert code_of(refused) == "CONFLICT"
    assert "subscription" in refused["errors"][0]["message"]


async def test_a_plan_change_charges_exactly_its_preview_and_back_again_credits_it(
    gql, tenant, runtime, client, localstripe
):
    # given a client on Care (30.00 a month) and a Pro plan (90.00 a month)
    _acme, contact, care, started = await subscribed(gql, runtime, tenant, client, localstripe)
    pro = await create_plan(gql, tenant, name="Pro", amount="90.00")
    # when the billing contact previews the move to Pro, then makes it
    preview = (await gql.data(PREVIEW, {"id": started["id"], "planId": pro["id"]}, token=contact))[
        "previewSubscriptionPlanChange"
    ]
    changed = (await gql.data(CHANGE, {"id": started["id"], "planId": pro["id"]}, token=contact))[
        "changeSubscriptionPlan"
    ]
    # then the unused days of Care are credited and the same days of Pro charged
    days, left = preview["periodDays"], preview["remainingDays"]
    assert 28 <= days <= 31
    assert left in (days - 1, days)
    cents = lambda amount: Decimal(amount) * 100  # noqa: E731
    assert abs(cents(preview["credit"]) - Decimal(3000) * left / days) <= Decimal("0.5")
    assert abs(cents(preview["charge"]) - Decimal(9000) * left / days) <= Decimal("0.5")
    assert Decimal(preview["amountDue"]) == Decimal(preview["charge"]) - Decimal(preview["credit"])
    # and what was charged is exactly the preview: invoiced and paid off-session at once
    assert {k: changed["proration"][k] for k in ("credit", "charge", "amountDue")} == {
        k: preview[k] for k in ("credit", "charge", "amountDue")
    }
    assert changed["subscription"]["plan"]["name"] == "Pro"
    assert changed["subscription"]["currentPeriodEnd"] == started["currentPeriodEnd"]
    assert (changed["invoice"]["total"], changed["invoice"]["status"]) == (
        preview["amountDue"],
        "PAID",
    )
    assert changed["credit"] is None
    _first, difference = await card_payments(runtime)
    assert difference.amount == Decimal(preview["amountDue"])
    assert localstripe.intent(difference.provider_payment_id)["amount"] == int(
        cents(preview["amountDue"])
    )
    # when it moves back to Care at once, the same amount comes back as a credit note
    back = (await gql.data(CHANGE, {"id": started["id"], "planId": care["id"]}, token=contact))[
        "changeSubscriptionPlan"
    ]
    assert back["invoice"] is None
    assert back["proration"]["creditIssued"] == preview["amountDue"]
    assert back["credit"]["amount"] == preview["amountDue"]
    # and the renewal bills the plan it is on
    await RecurringScheduler(runtime).run_once(now=after(started["currentPeriodEnd"]))
    renewed = await subscription(gql, tenant.admin, started["id"])
    assert renewed["invoices"][0]["total"] == "30.00"


async def test_plan_changes_follow_the_plan_and_the_currency(
    gql, tenant, runtime, client, localstripe
):
    _acme, contact, _care, started = await subscribed(
        gql, runtime, tenant, client, localstripe, allowPlanChanges=False
    )
    pro = await create_plan(gql, tenant, name="Pro", amount="90.00")
    euro = await create_plan(gql, tenant, name="Euro", amount="20.00", currency="EUR")
    yearly = await create_plan(gql, tenant, name="Yearly", amount="300.00", interval="YEAR")
    # a contact may not change a plan that does not allow it; staff may
    denied = await gql(CHANGE, {"id": started["id"], "planId": pro["id"]}, token=contact)
    assert code_of(denied) == "FORBIDDEN"
    for other in (euro, yearly):
        refused = await gql(
            PREVIEW, {"id": started["id"], "planId": other["id"]}, token=tenant.admin
        )
        assert code_of(refused) == "BAD_USER_INPUT"
    done = await gql.data(CHANGE, {"id": started["id"], "planId": pro["id"]}, token=tenant.admin)
    assert done["changeSubscriptionPlan"]["subscription"]["plan"]["name"] == "Pro"


async def test_a_contact_cancels_at_the_period_end(gql, tenant, runtime, client, localstripe):
    _acme, contact, _plan, started = await subscribed(gql, runtime, tenant, client, localstripe)
    # when the billing contact cancels at the end of the period
    canceled = (
        await gql.data(
            CANCEL,
            {"id": started["id"], "atPeriodEnd": True, "reason": "Too pricey"},
            token=contact,
        )
    )["cancelSubscription"]
    # then it runs until then
    assert (canceled["status"], canceled["cancelAtPeriodEnd"], canceled["canceledAt"]) == (
        "ACTIVE",
        True,
        None,
    )
    assert canceled["cancellationReason"] == "Too pricey"
    # and ends there, without another invoice
    run = await RecurringScheduler(runtime).run_once(now=after(started["currentPeriodEnd"]))
    assert run.subscription_invoices == 0
    ended = await subscription(gql, contact, started["id"])
    assert ended["status"] == "CANCELED"
    assert ended["canceledAt"] == started["currentPeriodEnd"]
    assert len(ended["invoices"]) == 1
    assert len(await card_payments(runtime)) == 1
    # and the card is free to remove now
    [card] = await methods_of(gql, contact)
    assert (await gql.data(REMOVE_METHOD, {"id": card["id"]}, token=contact))["removePaymentMethod"]


async def test_where_the_plan_forbids_canceling_the_contact_asks_for_it(
    gql, tenant, runtime, client, localstripe
):
    _acme, contact, _plan, started = await subscribed(
        gql, runtime, tenant, client, localstripe, allowCancellation=False
    )
    # a billing contact may not cancel it
    denied = await gql(CANCEL, {"id": started["id"], "atPeriodEnd": True}, token=contact)
    assert code_of(denied) == "FORBIDDEN"
    assert "requestSubscriptionCancellation" in denied["errors"][0]["message"]
    # but may ask for it, which staff see
    asked = (
        await gql.data(REQUEST_CANCEL, {"id": started["id"], "reason": "Moving"}, token=contact)
    )["requestSubscriptionCancellation"]
    assert asked["status"] == "ACTIVE"
    assert asked["cancellationRequestedAt"]
    seen = await subscription(gql, tenant.admin, started["id"])
    assert (seen["cancellationReason"], seen["status"]) == ("Moving", "ACTIVE")
    # and staff cancel it at once
    done = (
        await gql.data(CANCEL, {"id": started["id"], "atPeriodEnd": False}, token=tenant.admin)
    )["cancelSubscription"]
    assert done["status"] == "CANCELED"
    assert done["canceledAt"]


async def test_a_declined_card_makes_it_past_due_then_unpaid(
    gql, tenant, runtime, client, localstripe
):
    # given a card that attaches but whose charges fail (4000000000000341)
    _acme, contact, _plan, started = await subscribed(
        gql, runtime, tenant, client, localstripe, card="fails_to_charge"
    )
    # then the first charge failed: PAST_DUE, with a retry planned
    assert started["status"] == "PAST_DUE"
    assert started["invoices"][0]["status"] == "SENT"
    scheduler = RecurringScheduler(runtime)
    # when every retry (1, 3 and 5 days later) fails too
    elapsed = 0.0
    for wait in (1, 3, 5):
        elapsed += wait
        await scheduler.run_once(now=datetime.now(UTC) + timedelta(days=elapsed, minutes=5))
        if elapsed < 9:
            assert (await subscription(gql, contact, started["id"]))["status"] == "PAST_DUE"
    # then it is UNPAID (the account's default) and no longer renewed
    unpaid = await subscription(gql, contact, started["id"])
    assert unpaid["status"] == "UNPAID"
    assert [p.status for p in await card_payments(runtime)] == [PaymentStatus.FAILED] * 4
    run = await scheduler.run_once(now=after(started["currentPeriodEnd"], days=1))
    assert run.subscription_invoices == 0


async def test_where_the_account_says_so_an_unpaid_subscription_is_canceled(
    gql, tenant, runtime, client, localstripe
):
    await gql.data(
        SETTINGS, {"input": {"subscriptionUnpaidAction": "CANCELED"}}, token=tenant.admin
    )
    _acme, contact, _plan, started = await subscribed(
        gql, runtime, tenant, client, localstripe, card="fails_to_charge"
    )
    scheduler = RecurringScheduler(runtime)
    for elapsed in (1, 4, 9):
        await scheduler.run_once(now=datetime.now(UTC) + timedelta(days=elapsed, minutes=5))
    ended = await subscription(gql, contact, started["id"])
    assert ended["status"] == "CANCELED"
    assert ended["canceledAt"]


async def test_a_new_card_for_the_subscription_pays_on_the_next_retry(
    gql, tenant, runtime, client, localstripe
):
    _acme, contact, _plan, started = await subscribed(
        gql, runtime, tenant, client, localstripe, card="fails_to_charge"
    )
    assert started["status"] == "PAST_DUE"
    # when the contact saves a working card and puts the subscription on it
    await save_card(gql, client, localstripe, tenant.account_id, contact, "ok")
    newest = (await methods_of(gql, contact))[0]
    moved = await gql.data(UPDATE_METHOD, {"id": started["id"], "pm": newest["id"]}, token=contact)
    assert moved["updateSubscriptionPaymentMethod"]["paymentMethod"]["id"] == newest["id"]
    # then the next retry charges it and the subscription is ACTIVE again
    await RecurringScheduler(runtime).run_once(now=datetime.now(UTC) + timedelta(days=1, minutes=5))
    paid = await subscription(gql, contact, started["id"])
    assert paid["status"] == "ACTIVE"
    assert paid["invoices"][0]["status"] == "PAID"
    assert [p.status for p in await card_payments(runtime)] == [
        PaymentStatus.FAILED,
        PaymentStatus.COMPLETED,
    ]


async def test_an_unpaid_subscription_is_active_again_once_its_invoice_is_paid(
    gql, tenant, runtime, client, localstripe
):
    # given a subscription left UNPAID after its last retry failed
    acme, contact, _plan, started = await subscribed(
        gql, runtime, tenant, client, localstripe, card="fails_to_charge"
    )
    scheduler = RecurringScheduler(runtime)
    for elapsed in (1, 4, 9):
        await scheduler.run_once(now=datetime.now(UTC) + timedelta(days=elapsed, minutes=5))
    assert (await subscription(gql, contact, started["id"]))["status"] == "UNPAID"
    [invoice] = started["invoices"]
    # when the client pays the invoice by bank transfer and staff record it
    await record_payment(
        gql, tenant.admin, acme["id"], invoice["total"], [(invoice["id"], invoice["total"])]
    )
    # then the subscription is ACTIVE again and renews at its period's end
    recovered = await subscription(gql, contact, started["id"])
    assert recovered["status"] == "ACTIVE"
    assert recovered["invoices"][0]["status"] == "PAID"
    await save_card(gql, client, localstripe, tenant.account_id, contact, "ok")
    newest = (await methods_of(gql, contact))[0]
    await gql.data(UPDATE_METHOD, {"id": started["id"], "pm": newest["id"]}, token=contact)
    run = await scheduler.run_once(now=after(started["currentPeriodEnd"], minutes=5))
    assert run.subscription_invoices == 1
    assert (await subscription(gql, contact, started["id"]))["status"] == "ACTIVE"


async def test_a_past_due_invoice_paid_with_a_credit_is_not_charged_again(
    gql, tenant, runtime, client, localstripe
):
    # given a PAST_DUE subscription with a retry planned
    acme, contact, _plan, started = await subscribed(
        gql, runtime, tenant, client, localstripe, card="fails_to_charge"
    )
    assert started["status"] == "PAST_DUE"
    [invoice] = started["invoices"]
    # when staff pay its invoice with a credit note
    credit = (
        await gql.data(
            CREATE_CREDIT,
            {"input": {"clientId": acme["id"], "amount": invoice["total"], "currency": "USD"}},
            token=tenant.admin,
        )
    )["createCredit"]
    await gql.data(
        APPLY_CREDIT, {"creditId": credit["id"], "invoiceId": invoice["id"]}, token=tenant.admin
    )
    # then the subscription is ACTIVE at once, and the planned retry charges nothing
    assert (await subscription(gql, contact, started["id"]))["status"] == "ACTIVE"
    await RecurringScheduler(runtime).run_once(now=datetime.now(UTC) + timedelta(days=1, minutes=5))
    assert [p.status for p in await card_payments(runtime)] == [PaymentStatus.FAILED]
    assert (await subscription(gql, contact, started["id"]))["status"] == "ACTIVE"


async def test_a_trial_is_billed_when_it_ends(gql, tenant, runtime, client, localstripe):
    _acme, _contact, _plan, started = await subscribed(
        gql, runtime, tenant, client, localstripe, trialDays=7
    )
    assert (started["status"], started["invoices"]) == ("TRIALING", [])
    await RecurringScheduler(runtime).run_once(now=after(started["currentPeriodEnd"]))
    billed = await subscription(gql, tenant.admin, started["id"])
    assert billed["status"] == "ACTIVE"
    assert [(i["status"], i["total"]) for i in billed["invoices"]] == [("PAID", "30.00")]
