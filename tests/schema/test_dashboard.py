"""``dashboard``: the landing screen in one query (seeds 000, 002) — a contact's client's
figures and lists, the account's for staff, each part present only where the profile
may read it, exact per currency, and a constant number of SQL statements."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import select

from models.accounts import Account
from models.clients import Client
from models.enums import AutoBill, Frequency, RecurringStatus, StaffRole, SubscriptionStatus
from models.invoices import Invoice
from models.payment_methods import SavedPaymentMethod
from models.recurring import RecurringInvoice
from models.subscriptions import Subscription, SubscriptionPlan
from models.types import utcnow
from tests.schema.viewer_helpers import new_client, sign_in_contact

CREATE_INVOICE = "mutation($input: InvoiceInput!) { createInvoice(input: $input) { id } }"
SEND_INVOICE = "mutation($id: ID!) { sendInvoice(id: $id) { id } }"
CREATE_QUOTE = "mutation($input: QuoteInput!) { createQuote(input: $input) { id } }"
SEND_QUOTE = "mutation($id: ID!) { sendQuote(id: $id) { id } }"
RECORD_PAYMENT = "mutation($input: RecordPaymentInput!) { recordPayment(input: $input) { id } }"

CONTACT_DASHBOARD = """
{ dashboard {
    today
    client { name company avatarUrl }
    outstanding { currency amount count }
    overdue { currency amount count }
    receivedThisMonth { currency amount count }
    openInvoices { totalCount nodes { id balance currency } }
    recentPayments { totalCount nodes { id amount } }
    openQuotes { totalCount nodes { id kind } }
    activeSubscriptions { totalCount nodes { status plan { name amount } } }
    upcomingPayments(count: 4) { date amount currency chargedAutomatically recurringInvoice { id } }
    paymentMethods { totalCount nodes { brand last4 } }
} }
"""
STAFF_DASHBOARD = """
query($clientId: ID) { dashboard(clientId: $clientId) {
    client { name }
    outstanding { currency amount count }
    overdue { currency amount count }
    receivedThisMonth { currency amount count }
} }
"""


def line(unit_price: str) -> list[dict[str, str]]:
    return [{"description": "Work", "quantity": "1", "unitPrice": unit_price}]


async def sent_invoice(gql, tenant, client_id: str, unit_price: str, currency="USD") -> str:
    variables = {"input": {"clientId": client_id, "currency": currency, "lines": line(unit_price)}}
    invoice_id = (await gql.data(CREATE_INVOICE, variables, token=tenant.admin))["createInvoice"]
    await gql.data(SEND_INVOICE, {"id": invoice_id["id"]}, token=tenant.admin)
    return str(invoice_id["id"])


async def pay(gql, tenant, client_id, invoice_id, amount, currency="USD", **fields) -> str:
    variables = {
        "input": {
            "clientId": client_id,
            "amount": amount,
            "currency": currency,
            "method": "BANK_TRANSFER",
            "allocations": [{"invoiceId": invoice_id, "amount": amount}],
            **fields,
        }
    }
    return str(
        (await gql.data(RECORD_PAYMENT, variables, token=tenant.admin))["recordPayment"]["id"]
    )


async def make_overdue(runtime, invoice_id: str, days: int = 10) -> None:
    async with runtime.sessions() as session:
        invoice = (
            await session.exec(select(Invoice).where(Invoice.id == uuid.UUID(invoice_id)))
        ).one()
        invoice.issue_date = utcnow().date() - timedelta(days=days + 60)
        invoice.due_date = utcnow().date() - timedelta(days=days)
        session.add(invoice)
        await session.commit()


async def billing_extras(runtime, tenant, client_id: str) -> dict[str, uuid.UUID]:
    """A plan with an active and a canceled subscription, two recurring invoices (one
    charged automatically) and a saved card — as the Stripe sync and scheduler leave them."""
    client = uuid.UUID(client_id)
    today = utcnow().date()
    async with runtime.sessions() as session:
        plan = SubscriptionPlan(
            account_id=tenant.account_id, name="Care plan", amount=Decimal("49.90"), currency="USD"
        )
        session.add(plan)
        await session.flush()
        for status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.CANCELED):
            session.add(
                Subscription(
                    account_id=tenant.account_id, client_id=client, plan_id=plan.id, status=status
                )
            )
        weekly = RecurringInvoice(
            account_id=tenant.account_id,
            client_id=client,
            status=RecurringStatus.ACTIVE,
            currency="USD",
            frequency=Frequency.WEEKLY,
            start_date=today + timedelta(days=2),
            next_send_date=today + timedelta(days=2),
            remaining_cycles=2,
            total=Decimal("10.00"),
        )
        monthly = RecurringInvoice(
            account_id=tenant.account_id,
            client_id=client,
            status=RecurringStatus.ACTIVE,
            currency="EUR",
            frequency=Frequency.MONTHLY,
            start_date=today + timedelta(days=3),
            next_send_date=today + timedelta(days=3),
            auto_bill=AutoBill.ALWAYS,
            total=Decimal("120.50"),
        )
        paused = RecurringInvoice(
            account_id=tenant.account_id,
            client_id=client,
            status=RecurringStatus.PAUSED,
            currency="USD",
            start_date=today,
            total=Decimal("1.00"),
        )
        session.add_all([weekly, monthly, paused])
        session.add(
            SavedPaymentMethod(
                account_id=tenant.account_id,
                client_id=client,
                brand="visa",
                last4="4242",
                is_default=True,
            )
        )
        row = (await session.exec(select(Client).where(Client.id == client))).one()
        row.company = "Initech LLC"
        row.avatar_url = "https://cdn.example/initech.png"
        session.add(row)
        await session.commit()
        return {"weekly": weekly.id, "monthly": monthly.id}


async def test_a_billing_contact_sees_its_clients_landing_screen(gql, tenant, runtime, backend):
    # given a client with invoices in two currencies (one partly paid, one overdue, one
    # paid), an estimate and a proposal out, subscriptions, recurring invoices and a card
    client = await new_client(gql, tenant)
    other = await new_client(gql, tenant, "Globex")
    usd_a = await sent_invoice(gql, tenant, client["id"], "100.10")
    usd_b = await sent_invoice(gql, tenant, client["id"], "0.20")
    eur = await sent_invoice(gql, tenant, client["id"], "1000.00", currency="EUR")
    paid = await sent_invoice(gql, tenant, client["id"], "5.00")
    await sent_invoice(gql, tenant, other["id"], "999.99")  # another client's
    await pay(gql, tenant, client["id"], usd_a, "0.05")
    await pay(gql, tenant, client["id"], paid, "5.00")
    last_month = utcnow().date().replace(day=1) - timedelta(days=1)
    await pay(
        gql, tenant, client["id"], eur, "1.00", currency="EUR", receivedOn=last_month.isoformat()
    )
    await make_overdue(runtime, usd_b)
    quotes = {}
    for kind in ("ESTIMATE", "PROPOSAL"):
        variables = {"input": {"clientId": client["id"], "kind": kind, "lines": line("50.00")}}
        quote = (await gql.data(CREATE_QUOTE, variables, token=tenant.admin))["createQuote"]
        await gql.data(SEND_QUOTE, {"id": quote["id"]}, token=tenant.admin)
        quotes[kind] = quote["id"]
    await gql.data(
        CREATE_QUOTE,
        {"input": {"clientId": client["id"], "lines": line("1.00")}},
        token=tenant.admin,
    )
    schedules = await billing_extras(runtime, tenant, client["id"])
    token = await sign_in_contact(runtime, client["contacts"][0]["id"])

    # when its billing contact asks for the dashboard
    board = (await gql.data(CONTACT_DASHBOARD, token=token))["dashboard"]

    # then it shows the client, exactly what is owed per currency, and only its own rows
    today = utcnow().date()
    assert board["client"] == {
        "name": "Initech",
        "company": "Initech LLC",
        "avatarUrl": "https://cdn.example/initech.png",
    }
    assert abs(date.fromisoformat(board["today"]) - today) <= timedelta(days=1)
    assert board["outstanding"] == [
        {"currency": "EUR", "amount": "999.00", "count": 1},
        {"currency": "USD", "amount": "100.25", "count": 2},
    ]
    assert board["overdue"] == [{"currency": "USD", "amount": "0.20", "count": 1}]
    assert board["receivedThisMonth"] == [{"currency": "USD", "amount": "5.05", "count": 2}]
    open_invoices = board["openInvoices"]
    assert open_invoices["totalCount"] == 3
    assert {n["id"] for n in open_invoices["nodes"]} == {usd_a, usd_b, eur}
    assert board["recentPayments"]["totalCount"] == 3
    assert {n["id"]: n["kind"] for n in board["openQuotes"]["nodes"]} == {
        quotes["ESTIMATE"]: "ESTIMATE",
        quotes["PROPOSAL"]: "PROPOSAL",
    }
    assert board["activeSubscriptions"] == {
        "totalCount": 1,
        "nodes": [{"status": "ACTIVE", "plan": {"name": "Care plan", "amount": "49.90"}}],
    }
    # and the next invoices of the active schedules, soonest first (the weekly one ends
    # after two cycles)
    weekly, monthly = str(schedules["weekly"]), str(schedules["monthly"])
    assert [(u["date"], u["recurringInvoice"]["id"]) for u in board["upcomingPayments"]] == [
        ((today + timedelta(days=2)).isoformat(), weekly),
        ((today + timedelta(days=3)).isoformat(), monthly),
        ((today + timedelta(days=9)).isoformat(), weekly),
        (board["upcomingPayments"][3]["date"], monthly),
    ]
    assert board["upcomingPayments"][1] == {
        "date": (today + timedelta(days=3)).isoformat(),
        "amount": "120.50",
        "currency": "EUR",
        "chargedAutomatically": True,
        "recurringInvoice": {"id": monthly},
    }
    assert board["paymentMethods"] == {
        "totalCount": 1,
        "nodes": [{"brand": "visa", "last4": "4242"}],
    }


async def test_staff_see_the_accounts_figures_or_one_clients(gql, tenant, runtime, make_tenant):
    # given two clients owing in USD and JPY, one overdue, payments this month and before,
    # and another account's invoice
    first = await new_client(gql, tenant)
    second = await new_client(gql, tenant, "Globex")
    a = await sent_invoice(gql, tenant, first["id"], "10.01")
    b = await sent_invoice(gql, tenant, second["id"], "20.02")
    yen = await sent_invoice(gql, tenant, second["id"], "1500", currency="JPY")
    await make_overdue(runtime, b)
    await make_overdue(runtime, yen)
    await pay(gql, tenant, first["id"], a, "0.01")
    await pay(gql, tenant, second["id"], yen, "500", currency="JPY")
    earlier = (utcnow().date().replace(day=1) - timedelta(days=3)).isoformat()
    await pay(gql, tenant, second["id"], b, "0.02", receivedOn=earlier)
    elsewhere = await make_tenant("umbrella")
    outsider = await new_client(gql, elsewhere, "Hooli")
    await sent_invoice(gql, elsewhere, outsider["id"], "777.00")

    # when a manager asks for the dashboard
    board = (await gql.data(STAFF_DASHBOARD, token=tenant.tokens[StaffRole.MANAGER]))["dashboard"]

    # then it is the account's: outstanding, overdue and received this month per currency
    assert board == {
        "client": None,
        "outstanding": [
            {"currency": "JPY", "amount": "1000", "count": 1},
            {"currency": "USD", "amount": "30.00", "count": 2},
        ],
        "overdue": [
            {"currency": "JPY", "amount": "1000", "count": 1},
            {"currency": "USD", "amount": "20.00", "count": 1},
        ],
        "receivedThisMonth": [
            {"currency": "JPY", "amount": "500", "count": 1},
            {"currency": "USD", "amount": "0.01", "count": 1},
        ],
    }
    # and narrowed to one client with clientId
    one = await gql.data(STAFF_DASHBOARD, {"clientId": first["id"]}, token=tenant.admin)
    assert one["dashboard"] == {
        "client": {"name": "Initech"},
        "outstanding": [{"currency": "USD", "amount": "10.00", "count": 1}],
        "overdue": [],
        "receivedThisMonth": [{"currency": "USD", "amount": "0.01", "count": 1}],
    }
    # and another account's client is not found, like an id that does not exist
    body = await gql(STAFF_DASHBOARD, {"clientId": outsider["id"]}, token=tenant.admin)
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_a_contact_cannot_read_another_clients_dashboard(gql, tenant, runtime):
    # given two clients
    mine = await new_client(gql, tenant)
    theirs = await new_client(gql, tenant, "Globex")
    await sent_invoice(gql, tenant, theirs["id"], "50.00")
    token = await sign_in_contact(runtime, mine["contacts"][0]["id"])
    # when a contact names the other client
    body = await gql(STAFF_DASHBOARD, {"clientId": theirs["id"]}, token=token)
    # then it is not found; without an id it reads its own client's
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    own = await gql.data(STAFF_DASHBOARD, token=token)
    assert own["dashboard"]["client"] == {"name": "Initech"}
    assert own["dashboard"]["outstanding"] == []


def unknown(body: dict[str, Any], field_name: str) -> bool:
    return any(
        f"Cannot query field '{field_name}' on type 'Dashboard'." in error["message"]
        for error in body.get("errors", [])
    )


MONEY_PARTS = (
    "outstanding { amount }",
    "overdue { amount }",
    "receivedThisMonth { amount }",
    "openInvoices { totalCount }",
    "recentPayments { totalCount }",
    "openQuotes { totalCount }",
    "activeSubscriptions { totalCount }",
    "upcomingPayments { date }",
    "paymentMethods { totalCount }",
)


@pytest.mark.parametrize(
    ("role", "modules", "present"),
    [
        ("BILLING", None, {*MONEY_PARTS, "client { name }"}),
        ("VIEWER", None, {*MONEY_PARTS, "client { name }"}),
        ("COLLABORATOR", None, {"client { name }"}),
        (
            "BILLING",
            ["INVOICES", "PAYMENTS", "CLIENT_PORTAL"],
            {
                "client { name }",
                "outstanding { amount }",
                "overdue { amount }",
                "receivedThisMonth { amount }",
                "openInvoices { totalCount }",
                "recentPayments { totalCount }",
            },
        ),
    ],
)
async def test_each_part_exists_only_where_the_profile_may_read_it(
    gql, tenant, runtime, role, modules, present
):
    # given a contact of this role, its client narrowed to some modules
    fields = {} if modules is None else {"modules": modules}
    client = await new_client(gql, tenant, roles=(role,), **fields)
    token = await sign_in_contact(runtime, client["contacts"][0]["id"])
    # when it asks for each part of the dashboard
    for part in (*MONEY_PARTS, "client { name }"):
        body = await gql("{ dashboard { today " + part + " } }", token=token)
        # then the parts it may read answer, the others do not exist for it
        name = part.split()[0]
        if part in present:
            assert "errors" not in body, (part, body)
        else:
            assert unknown(body, name), (part, body)


async def test_with_the_client_dashboard_off_only_recurring_payments_remain(gql, tenant, runtime):
    # given an account without the client dashboard, and a client paying a recurring
    # invoice automatically (seed 000)
    client = await new_client(gql, tenant)
    schedules = await billing_extras(runtime, tenant, client["id"])
    async with runtime.sessions() as session:
        account = await session.get(Account, tenant.account_id)
        assert account is not None
        account.enabled_modules = [m for m in account.enabled_modules if m != "CLIENT_PORTAL"]
        session.add(account)
        await session.commit()
    token = await sign_in_contact(runtime, client["contacts"][0]["id"])
    # when its contact opens the dashboard
    data = await gql.data(
        "{ dashboard { upcomingPayments(count: 1) { date recurringInvoice { id } } } }", token=token
    )
    # then it sees the upcoming payments, and nothing else exists for it
    assert data["dashboard"]["upcomingPayments"][0]["recurringInvoice"] == {
        "id": str(schedules["weekly"])
    }
    for part in ("client { name }", "outstanding { amount }", "openInvoices { totalCount }"):
        assert unknown(await gql("{ dashboard { " + part + " } }", token=token), part.split()[0])


async def test_a_staff_member_without_money_permissions_sees_no_figures(gql, tenant):
    token = tenant.tokens[StaffRole.MEMBER]
    assert (await gql.data("{ dashboard { today client { name } } }", token=token))["dashboard"][
        "client"
    ] is None
    for part in MONEY_PARTS:
        assert unknown(await gql("{ dashboard { " + part + " } }", token=token), part.split()[0])


async def statements_for(runtime, gql, token: str, query: str) -> tuple[dict[str, Any], int]:
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    engine = runtime.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        data = await gql.data(query, token=token)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return data, len(statements)


FULL_DASHBOARD = """
{ dashboard {
    client { name company avatarUrl }
    outstanding { currency amount count }
    overdue { currency amount count }
    receivedThisMonth { currency amount count }
    openInvoices(first: 50) {
      totalCount nodes { number balance client { name } lines { description } }
    }
    recentPayments(first: 50) { nodes { amount allocations { amount invoice { number } } } }
    openQuotes { nodes { kind } }
    activeSubscriptions { nodes { plan { name } } }
    upcomingPayments { date recurringInvoice { id } }
    paymentMethods { nodes { last4 } }
} }
"""


async def test_the_statements_per_request_do_not_grow_with_the_rows(gql, tenant, runtime):
    # given a client with one invoice and one payment, and another with twenty of each
    small = await new_client(gql, tenant)
    large = await new_client(gql, tenant, "Globex")
    for client, how_many in ((small, 1), (large, 20)):
        for n in range(how_many):
            invoice = await sent_invoice(gql, tenant, client["id"], f"{n + 1}.00")
            await pay(gql, tenant, client["id"], invoice, "0.50")
        await billing_extras(runtime, tenant, client["id"])
    small_token = await sign_in_contact(runtime, small["contacts"][0]["id"])
    large_token = await sign_in_contact(runtime, large["contacts"][0]["id"])
    for token in (small_token, large_token):  # warm: the profile's schema is built, and
        await gql.data(FULL_DASHBOARD, token=token)  # each session's first use recorded
    await runtime.background.drain()  # no mail delivery runs while statements are counted
    await runtime.mailer.drain()

    # when each contact asks for the whole dashboard
    one, one_count = await statements_for(runtime, gql, small_token, FULL_DASHBOARD)
    twenty, twenty_count = await statements_for(runtime, gql, large_token, FULL_DASHBOARD)

    # then both answers cost the same number of SQL statements
    assert one["dashboard"]["openInvoices"]["totalCount"] == 1
    assert twenty["dashboard"]["openInvoices"]["totalCount"] == 20
    assert len(twenty["dashboard"]["recentPayments"]["nodes"]) == 20
    assert one_count == twenty_count, (one_count, twenty_count)
    assert twenty_count <= 25


async def test_the_accounts_dashboard_costs_the_same_for_1_or_20_invoices(
    gql, tenant, runtime, make_tenant
):
    # given an account with one invoice and payment, and another with twenty over two clients
    other = await make_tenant("umbrella")
    for account, how_many in ((tenant, 1), (other, 20)):
        clients = [await new_client(gql, account), await new_client(gql, account, "Globex")]
        for n in range(how_many):
            client = clients[n % 2]
            invoice = await sent_invoice(gql, account, client["id"], f"{n + 1}.00")
            await pay(gql, account, client["id"], invoice, "0.50")
    for account in (tenant, other):
        await gql.data(FULL_DASHBOARD, token=account.admin)
    await runtime.background.drain()
    await runtime.mailer.drain()
    # when each account's admin asks for the whole dashboard
    one, one_count = await statements_for(runtime, gql, tenant.admin, FULL_DASHBOARD)
    twenty, twenty_count = await statements_for(runtime, gql, other.admin, FULL_DASHBOARD)
    # then the answers differ and their cost in statements does not
    assert one["dashboard"]["openInvoices"]["totalCount"] == 1
    assert twenty["dashboard"]["openInvoices"]["totalCount"] == 20
    assert twenty["dashboard"]["outstanding"] == [
        {"currency": "USD", "amount": "200.00", "count": 20}  # 1 + ... + 20 - 20 x 0.50
    ]
    assert one_count == twenty_count, (one_count, twenty_count)
