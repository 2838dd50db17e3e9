"""The portal's dashboard (issue 15, seeds 000 and 002): besides what is owed, the
subscriptions in force with their plans and the coming dates of recurring invoices,
each part only where the contact's modules have it."""

from __future__ import annotations

from datetime import date

from tests.portal_web.helpers import billed_client
from tests.portal_web.test_money_screens import (
    BASE,
    UPDATE_ACCOUNT,
    signed_in,
    subscribe,
    with_cards,
)
from tests.schema.test_recurring import started

UPCOMING = "{ dashboard { upcomingPayments(count: 5) { date } } }"


def us_day(iso: str) -> str:
    day = date.fromisoformat(iso)
    return f"{day:%b} {day.day}, {day.year}"


async def test_the_dashboard_shows_subscriptions_and_coming_recurring_invoices(
    gql, runtime, tenant, client, localstripe
):
    billed, token = await with_cards(gql, runtime, tenant, client, localstripe)
    await subscribe(gql, tenant, billed, name="Care", amount="30.00")
    await started(gql, tenant, billed.client_id, autoBill="OPT_IN", frequency="MONTHLY")
    page = await client.get(f"{BASE}/dashboard")
    assert page.status_code == 200, page.text
    assert '<h2 id="subscriptions-h">Subscriptions</h2>' in page.text
    assert page.text.count('data-testid="subscription"') == 1
    assert "Care</a>: $30.00 every month, renews " in page.text
    assert '<h2 id="upcoming-h">Coming up</h2>' in page.text
    dates = [
        row["date"]
        for row in (await gql.data(UPCOMING, token=token))["dashboard"]["upcomingPayments"]
    ]
    assert len(dates) == 5
    assert page.text.count('data-testid="upcoming"') == 5
    assert f'<li data-testid="upcoming">{us_day(dates[0])}: $500.00, every month</li>' in page.text
    for iso in dates:
        assert us_day(iso) in page.text


async def test_without_either_module_the_dashboard_has_neither_part(gql, tenant, client):
    modules = ["CLIENT_PORTAL", "INVOICES", "PAYMENTS", "QUOTES"]
    await gql.data(UPDATE_ACCOUNT, {"input": {"enabledModules": modules}}, token=tenant.admin)
    billed = await billed_client(gql, tenant.admin)
    await signed_in(client, billed)
    page = await client.get(f"{BASE}/dashboard")
    assert page.status_code == 200, page.text
    assert billed.invoice_number in page.text  # the parts still on are drawn
    assert "subscriptions-h" not in page.text
    assert "upcoming-h" not in page.text


async def test_with_nothing_coming_the_parts_say_so(gql, tenant, client):
    billed = await billed_client(gql, tenant.admin)
    await signed_in(client, billed)
    page = await client.get(f"{BASE}/dashboard")
    assert "No subscriptions in force." in page.text
    assert "No recurring invoices coming up." in page.text
