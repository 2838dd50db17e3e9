"""The portal's money screens (issue 15): saved payment methods (a SetupIntent for
Stripe.js, make default, remove), subscriptions (plan, cancel or ask to, change plan
after its prorated preview, change card), recurring invoices with the auto-bill
switch, credits and statements; each tab only where its module is on, every form
behind its CSRF token, errors shown from the API's codes."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from tests.portal_web.helpers import Billed, billed_client, csrf_of
from tests.schema.test_credits import create_credit
from tests.schema.test_recurring import contact_token, started
from tests.stripe.helpers import connect_stripe, methods_of, save_card
from tests.stripe.test_subscriptions import SUBSCRIBE, create_plan

UPDATE_ACCOUNT = """
mutation($input: AccountSettingsInput!) { updateAccountSettings(input: $input) { id } }
"""
BASE = "/portal/acme"


async def signed_in(client, billed: Billed) -> None:
    response = await client.get(billed.path)
    assert response.status_code == 303


async def with_cards(gql, runtime, tenant, client, localstripe, count: int = 1):
    """Stripe connected, a billed client signed in to the portal with ``count`` saved
    cards; answers the client and the contact's API token."""
    await connect_stripe(gql, tenant.admin)
    billed = await billed_client(gql, tenant.admin)
    token = await contact_token(runtime, billed.contact_id)
    for _ in range(count):
        await save_card(gql, client, localstripe, tenant.account_id, token)
    await signed_in(client, billed)
    return billed, token


def action_paths(html: str, suffix: str) -> list[str]:
    return re.findall(rf'action="({BASE}/[^"]+/{suffix})"', html)


async def test_payment_methods_list_make_default_and_remove(
    gql, runtime, tenant, client, localstripe
):
    _billed, token = await with_cards(gql, runtime, tenant, client, localstripe, count=2)
    page = await client.get(f"{BASE}/payment-methods")
    assert page.status_code == 200, page.text
    assert f'href="{BASE}/payment-methods"' in page.text  # the tab
    assert page.text.count('data-testid="payment-method"') == 2
    assert "ending 4242" in page.text
    assert page.text.count(">Default</span>") == 1
    # when the contact makes the other card the default
    (make_default,) = action_paths(page.text, "default")
    response = await client.post(make_default, data={"csrf": csrf_of(page.text)})
    assert response.status_code == 303
    assert response.headers["location"] == f"{BASE}/payment-methods?notice=default-set"
    chosen = make_default.split("/")[-2]
    assert [m["id"] for m in await methods_of(gql, token) if m["isDefault"]] == [chosen]
    # when they remove one, it is gone
    page = await client.get(f"{BASE}/payment-methods?notice=default-set")
    assert "Your default payment method is changed." in page.text
    removes = action_paths(page.text, "remove")
    other = next(path for path in removes if chosen not in path)
    # a POST without the page's CSRF token removes nothing
    assert (await client.post(other, data={})).status_code == 403
    response = await client.post(other, data={"csrf": csrf_of(page.text)})
    assert response.status_code == 303
    assert [m["id"] for m in await methods_of(gql, token)] == [chosen]


async def test_adding_a_card_renders_stripe_elements_for_a_setup_intent(
    gql, runtime, tenant, client, localstripe
):
    await with_cards(gql, runtime, tenant, client, localstripe, count=0)
    page = await client.get(f"{BASE}/payment-methods")
    assert "No saved payment methods." in page.text
    response = await client.post(f"{BASE}/payment-methods/add", data={"csrf": csrf_of(page.text)})
    assert response.status_code == 200, response.text
    assert 'data-client-secret="seti_' in response.text
    assert "notice%3Dcard-saving" in response.text or "notice=card-saving" in response.text
    assert '<script src="/portal/_static/card.js"></script>' in response.text
    assert "script-src 'self' https://js.stripe.com;" in response.headers["content-security-policy"]


async def test_without_stripe_adding_a_card_says_so(gql, tenant, client):
    billed = await billed_client(gql, tenant.admin)
    await signed_in(client, billed)
    page = await client.get(f"{BASE}/payment-methods")
    response = await client.post(f"{BASE}/payment-methods/add", data={"csrf": csrf_of(page.text)})
    assert response.status_code == 400
    assert "Card payments are not set up for this portal yet." in response.text


async def subscribe(gql, tenant, billed: Billed, **plan_options):
    plan = await create_plan(gql, tenant, **plan_options)
    data = await gql.data(
        SUBSCRIBE, {"clientId": billed.client_id, "planId": plan["id"]}, token=tenant.admin
    )
    return plan, data["subscribeClient"]


async def test_a_subscription_changes_plan_after_its_preview(
    gql, runtime, tenant, client, localstripe
):
    billed, _token = await with_cards(gql, runtime, tenant, client, localstripe)
    _care, sub = await subscribe(gql, tenant, billed, allowPlanChanges=True)
    bigger = await create_plan(gql, tenant, name="Care Plus", amount="60.00")
    listing = await client.get(f"{BASE}/subscriptions")
    assert listing.status_code == 200
    assert "Care" in listing.text
    assert "$30.00 every month" in listing.text
    page = await client.get(f"{BASE}/subscriptions/{sub['id']}")
    assert page.status_code == 200, page.text
    assert "Change plan" in page.text
    assert "Care Plus: $60.00 every month" in page.text
    assert "ending 4242" in page.text  # the card it is charged to
    # when the contact asks what Care Plus costs now
    preview = await client.get(f"{BASE}/subscriptions/{sub['id']}/change?plan={bigger['id']}")
    assert preview.status_code == 200, preview.text
    due = re.search(r'data-testid="amount-due">([^<]+)<', preview.text)
    assert due
    assert due.group(1).startswith("$")
    # and confirms it
    response = await client.post(
        f"{BASE}/subscriptions/{sub['id']}/change",
        data={"csrf": csrf_of(preview.text), "plan": bigger["id"]},
    )
    assert response.status_code == 303, response.text
    page = await client.get(response.headers["location"])
    assert "Your plan is changed." in page.text
    assert "<h1>Care Plus</h1>" in page.text


async def test_a_plan_that_allows_it_is_cancelled_at_period_end(
    gql, runtime, tenant, client, localstripe
):
    billed, _token = await with_cards(gql, runtime, tenant, client, localstripe)
    _plan, sub = await subscribe(gql, tenant, billed, allowCancellation=True)
    page = await client.get(f"{BASE}/subscriptions/{sub['id']}")
    assert "Cancel subscription" in page.text
    assert "Request cancellation" not in page.text
    response = await client.post(
        f"{BASE}/subscriptions/{sub['id']}/cancel",
        data={"csrf": csrf_of(page.text), "when": "period-end", "reason": "Moving on"},
    )
    assert response.status_code == 303, response.text
    page = await client.get(response.headers["location"])
    assert "The subscription is cancelled." in page.text
    assert "<dt>Ends</dt>" in page.text


async def test_a_plan_that_does_not_allow_it_asks_the_business_to_cancel(
    gql, runtime, tenant, client, localstripe
):
    billed, _token = await with_cards(gql, runtime, tenant, client, localstripe)
    _plan, sub = await subscribe(gql, tenant, billed, allowCancellation=False)
    page = await client.get(f"{BASE}/subscriptions/{sub['id']}")
    assert "Request cancellation" in page.text
    assert "Cancel subscription" not in page.text
    # a cancel posted anyway is refused, and the page says why
    refused = await client.post(
        f"{BASE}/subscriptions/{sub['id']}/cancel", data={"csrf": csrf_of(page.text)}
    )
    assert refused.status_code == 400
    assert 'class="error" role="alert"' in refused.text
    response = await client.post(
        f"{BASE}/subscriptions/{sub['id']}/request-cancellation",
        data={"csrf": csrf_of(page.text), "reason": "Too dear"},
    )
    assert response.status_code == 303
    page = await client.get(response.headers["location"])
    assert "Your cancellation request is sent." in page.text
    assert "Cancellation requested" in page.text
    assert "Request cancellation</button>" not in page.text


async def test_a_subscription_moves_to_another_card(gql, runtime, tenant, client, localstripe):
    billed, token = await with_cards(gql, runtime, tenant, client, localstripe, count=2)
    _plan, sub = await subscribe(gql, tenant, billed)
    page = await client.get(f"{BASE}/subscriptions/{sub['id']}")
    methods = await methods_of(gql, token)
    other = next(
        m for m in methods if not sub["paymentMethod"] or m["id"] != sub["paymentMethod"]["id"]
    )
    response = await client.post(
        f"{BASE}/subscriptions/{sub['id']}/card",
        data={"csrf": csrf_of(page.text), "payment_method": other["id"]},
    )
    assert response.status_code == 303, response.text
    page = await client.get(response.headers["location"])
    assert "now charged to the card you chose" in page.text
    assert f'value="{other["id"]}" selected' in page.text


async def test_recurring_invoices_show_their_schedule_and_switch_auto_bill(gql, tenant, client):
    billed = await billed_client(gql, tenant.admin)
    await started(gql, tenant, billed.client_id, autoBill="OPT_IN", frequency="MONTHLY")
    await signed_in(client, billed)
    page = await client.get(f"{BASE}/recurring")
    assert page.status_code == 200, page.text
    assert page.text.count('data-testid="recurring"') == 1
    assert '<td data-label="Every">Month' in page.text
    assert "$500.00" in page.text
    assert "No end" in page.text
    assert "Turn on</button>" in page.text
    (path,) = action_paths(page.text, "auto-bill")
    response = await client.post(path, data={"csrf": csrf_of(page.text), "enabled": "yes"})
    assert response.status_code == 303, response.text
    page = await client.get(response.headers["location"])
    assert "Automatic payment is on." in page.text
    assert "Turn off</button>" in page.text


async def test_credits_show_what_is_available(gql, tenant, client):
    billed = await billed_client(gql, tenant.admin)
    await create_credit(gql, tenant.admin, billed.client_id, amount="75.50", reason="Goodwill")
    await signed_in(client, billed)
    page = await client.get(f"{BASE}/credits")
    assert page.status_code == 200, page.text
    assert 'data-testid="available-credit">$75.50<' in page.text
    assert "Goodwill" in page.text


async def test_a_statement_for_a_period_filtered_by_status(gql, tenant, client):
    billed = await billed_client(gql, tenant.admin)
    await signed_in(client, billed)
    page = await client.get(f"{BASE}/statements")
    assert page.status_code == 200, page.text
    assert billed.invoice_number in page.text
    assert 'data-testid="closing-balance">$1,250.00<' in page.text
    # the PDF link downloads the statement
    pdf = re.search(
        r'<a href="([^"]+)" class="button secondary" download>Download PDF</a>', page.text
    )
    assert pdf
    parts = urlsplit(pdf.group(1).replace("&amp;", "&"))
    download = await client.get(f"{parts.path}?{parts.query}")
    assert download.status_code == 200, download.text[:200]
    assert download.content.startswith(b"%PDF")
    paid = await client.get(f"{BASE}/statements?status=PAID")
    assert billed.invoice_number not in paid.text.split("<h2>Ageing</h2>")[0].split("</form>")[1]
    bad = await client.get(f"{BASE}/statements?from=2026-05-01&to=2026-01-01")
    assert bad.status_code == 400
    assert "The first day must not be after the last." in bad.text


async def test_tabs_and_pages_exist_only_for_modules_that_are_on(gql, tenant, client):
    modules = ["CLIENT_PORTAL", "INVOICES", "PAYMENTS"]
    await gql.data(UPDATE_ACCOUNT, {"input": {"enabledModules": modules}}, token=tenant.admin)
    billed = await billed_client(gql, tenant.admin)
    await signed_in(client, billed)
    dashboard = await client.get(f"{BASE}/dashboard")
    for path in ("payment-methods", "subscriptions", "recurring", "credits", "statements"):
        assert f'href="{BASE}/{path}"' not in dashboard.text, path
        assert (await client.get(f"{BASE}/{path}")).status_code == 404, path


PREPAYMENT_SETTINGS = {
    "input": {"clientPrepaymentsEnabled": True, "clientPrepaymentMinimum": "20.00"}
}


async def test_paying_ahead_where_the_account_allows_it(gql, runtime, tenant, client, localstripe):
    await with_cards(gql, runtime, tenant, client, localstripe, count=0)
    # while the account does not let clients pay ahead, there is no such page
    dashboard = await client.get(f"{BASE}/dashboard")
    assert f'href="{BASE}/prepayment"' not in dashboard.text
    assert (await client.get(f"{BASE}/prepayment")).status_code == 404
    await gql.data(UPDATE_ACCOUNT, PREPAYMENT_SETTINGS, token=tenant.admin)
    page = await client.get(f"{BASE}/prepayment")
    assert page.status_code == 200, page.text
    assert f'href="{BASE}/prepayment"' in page.text
    assert "Amount (USD), at least $20.00" in page.text
    csrf = csrf_of(page.text)
    # an amount that is not a number, or under the minimum, is refused with the reason
    bad = await client.post(f"{BASE}/prepayment", data={"csrf": csrf, "amount": "lots"})
    assert bad.status_code == 400
    assert "Enter the amount as a number" in bad.text
    low = await client.post(f"{BASE}/prepayment", data={"csrf": csrf, "amount": "5.00"})
    assert low.status_code == 400
    assert 'class="error" role="alert"' in low.text
    assert 'value="5.00"' in low.text
    # a valid amount starts a payment for Stripe.js to confirm
    paying = await client.post(f"{BASE}/prepayment", data={"csrf": csrf, "amount": "250.00"})
    assert paying.status_code == 200, paying.text
    assert "Pay $250.00 ahead" in paying.text
    assert 'data-client-secret="pi_' in paying.text
    assert "script-src 'self' https://js.stripe.com;" in paying.headers["content-security-policy"]


VIEW_AS = "mutation($id: ID!) { viewAsContact(contactId: $id) { token } }"


async def test_viewing_as_the_client_shows_the_money_screens_without_their_forms(
    gql, runtime, tenant, client, localstripe
):
    billed, _token = await with_cards(gql, runtime, tenant, client, localstripe)
    await started(gql, tenant, billed.client_id, autoBill="OPT_IN")
    await subscribe(gql, tenant, billed, allowCancellation=True, allowPlanChanges=True)
    client.cookies.clear()
    view = await gql.data(VIEW_AS, {"id": billed.contact_id}, token=tenant.admin)
    token = view["viewAsContact"]["token"]
    assert (await client.get(f"{BASE}/view-as", params={"token": token})).status_code == 303
    methods = await client.get(f"{BASE}/payment-methods")
    assert methods.status_code == 200, methods.text
    assert "ending 4242" in methods.text
    assert "Add a card" not in methods.text
    assert "Make default" not in methods.text
    recurring = await client.get(f"{BASE}/recurring")
    assert recurring.status_code == 200
    assert "Turn on</button>" not in recurring.text
    listing = await client.get(f"{BASE}/subscriptions")
    (detail,) = re.findall(rf'href="({BASE}/subscriptions/[^"]+)"', listing.text)
    page = await client.get(detail)
    assert page.status_code == 200
    assert "Cancel subscription" not in page.text
    assert "Change plan" not in page.text
