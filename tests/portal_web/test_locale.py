"""The portal writes money and dates as the account's locale does (issue 15, "the
account's locale and currency formats"): each currency at its own precision (JPY has no
minor unit), the symbol and separators where the locale puts them."""

from __future__ import annotations

from datetime import date
from typing import Any

from tests.portal.helpers import dashboard_url, make_client
from tests.portal_web.helpers import CREATE_INVOICE, SEND_INVOICE

UPDATE_ACCOUNT = """
mutation($input: AccountSettingsInput!) { updateAccountSettings(input: $input) { id } }
"""
ISSUED = "query($id: ID!) { invoice(id: $id) { issueDate } }"
NBSP = "\N{NO-BREAK SPACE}"


async def invoiced(gql, admin, currency: str, price: str) -> dict[str, Any]:
    client = (
        await gql.data(
            "query { clients(first: 1) { nodes { id } } }",
            token=admin,
        )
    )["clients"]["nodes"][0]
    lines = [{"description": "Design work", "quantity": "1", "unitPrice": price}]
    invoice = (
        await gql.data(
            CREATE_INVOICE,
            {"input": {"clientId": client["id"], "currency": currency, "lines": lines}},
            token=admin,
        )
    )["createInvoice"]
    sent: dict[str, Any] = (await gql.data(SEND_INVOICE, {"id": invoice["id"]}, token=admin))[
        "sendInvoice"
    ]
    return sent


async def open_portal(gql, tenant, client) -> None:
    smith = await make_client(
        gql,
        tenant.admin,
        contacts=[{"email": "jane@smith.test", "firstName": "Jane", "role": "BILLING"}],
    )
    link = await dashboard_url(gql, tenant.admin, smith["contacts"][0]["id"])
    path = link[link.index("/portal/") :]
    assert (await client.get(path)).status_code == 303


async def test_a_german_account_writes_euros_and_dates_the_german_way(gql, tenant, client):
    await gql.data(UPDATE_ACCOUNT, {"input": {"locale": "de-DE"}}, token=tenant.admin)
    account = await gql.data("{ account { locale } }", token=tenant.admin)
    assert account["account"]["locale"] == "de_DE"
    await open_portal(gql, tenant, client)
    euros = await invoiced(gql, tenant.admin, "EUR", "1234.50")
    yen = await invoiced(gql, tenant.admin, "JPY", "1500")
    page = await client.get("/portal/acme/invoices")
    assert page.status_code == 200, page.text
    assert f">1.234,50{NBSP}€<" in page.text
    assert f">1.500{NBSP}¥<" in page.text  # no minor unit
    detail = await client.get(f"/portal/acme/invoices/{euros['id']}")
    issued = date.fromisoformat(
        (await gql.data(ISSUED, {"id": euros["id"]}, token=tenant.admin))["invoice"]["issueDate"]
    )
    assert f"<dd>{issued:%d.%m.%Y}</dd>" in detail.text
    assert yen["number"] in page.text
    # and the dashboard's totals
    dashboard = await client.get("/portal/acme/dashboard")
    assert f"1.234,50{NBSP}€" in dashboard.text


async def test_an_american_account_writes_dollars_and_yen_the_american_way(gql, tenant, client):
    account = await gql.data("{ account { locale } }", token=tenant.admin)
    assert account["account"]["locale"] == "en_US"  # the default
    await open_portal(gql, tenant, client)
    dollars = await invoiced(gql, tenant.admin, "USD", "1234.50")
    await invoiced(gql, tenant.admin, "JPY", "1500")
    page = await client.get("/portal/acme/invoices")
    assert ">$1,234.50<" in page.text
    assert ">¥1,500<" in page.text
    detail = await client.get(f"/portal/acme/invoices/{dollars['id']}")
    issued = date.fromisoformat(
        (await gql.data(ISSUED, {"id": dollars["id"]}, token=tenant.admin))["invoice"]["issueDate"]
    )
    assert f"<dd>{issued:%b} {issued.day}, {issued.year}</dd>" in detail.text


async def test_an_unknown_locale_is_refused(gql, tenant):
    body = await gql(UPDATE_ACCOUNT, {"input": {"locale": "xx_QQ"}}, token=tenant.admin)
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == "locale"
    assert (await gql.data("{ account { locale } }", token=tenant.admin))["account"][
        "locale"
    ] == "en_US"
