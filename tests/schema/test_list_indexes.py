"""Every paginated list reads its page through an index in its keyset order (issue 14:
the invoice list sorted through a temporary B-tree on every page, ~50 ms of 130 ms at
10,000 invoices, growing with the account).

Each list is asked for over GraphQL as a staff user would; the page statement the app
runs (the one with ``ORDER BY ... LIMIT``) is captured as sent and explained on the same
database: SQLite's ``EXPLAIN QUERY PLAN`` must show neither ``USE TEMP B-TREE FOR ORDER
BY`` nor a plain scan of the listed table; PostgreSQL's ``EXPLAIN`` (sequential scans
and sorts off, so a handful of rows does not make them the cheapest plan) must have no
``Sort`` and no ``Seq Scan``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import select

from auth.principals import StaffPrincipal
from models.accounts import Account, StaffUser
from models.enums import StaffRole
from models.webhooks import Webhook
from services import sessions
from services.api_tokens import create_api_token
from services.demo import seed_demo
from services.runtime import Runtime
from services.unit_of_work import UnitOfWork, begin_write
from tests.portal.helpers import contact_token

LISTS = {
    "activities": "activity",
    "clients": "client",
    "credits": "credit",
    "documents": "document",
    "invoices": "invoice",
    "paymentMethods": "payment_method",
    "payments": "payment",
    "projects": "project",
    "quotes": "quote",
    "recurringInvoices": "recurring_invoice",
    "subscriptions": "subscription",
    "supportTickets": "support_ticket",
    "tasks": "task",
    "timeLogs": "time_log",
}
"""Root list field -> the table it pages through."""


async def _owner_and_webhook(runtime: Runtime) -> tuple[str, str]:
    """The demo data set, its owner's token and a webhook endpoint (written directly:
    registering one resolves its URL)."""
    async with runtime.sessions() as session:
        await begin_write(session)
        await seed_demo(UnitOfWork(session=session, runtime=runtime))
        owner = (
            await session.exec(select(StaffUser).where(StaffUser.role == StaffRole.OWNER))
        ).one()
        token = await sessions.open_staff_session(
            session=session, signer=runtime.signer, user_id=owner.id, ttl=runtime.session_ttl
        )
        account = await session.get(Account, owner.account_id)
        assert account is not None
        actor = StaffPrincipal(
            account_id=account.id, user_id=owner.id, role=owner.role, session_id=owner.id
        )
        api_token, _secret = await create_api_token(
            session=session, actor=actor, name="hooks", scopes=["events:subscribe"]
        )
        webhook = Webhook(
            account_id=account.id,
            api_token_id=api_token.id,
            url="https://hooks.example.com/portico",
            query="subscription { invoiceEvents { type } }",
            secret="s" * 32,
        )
        session.add(webhook)
        await session.commit()
        return token, str(webhook.id)


def _page_statements(runtime: Runtime) -> tuple[list[tuple[str, Any]], Any]:
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "ORDER BY" in statement and "LIMIT" in statement:
            captured.append((statement, parameters))

    return captured, capture


async def _explain(runtime: Runtime, statement: str, parameters: Any) -> str:
    async with runtime.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            rows = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            return "\n".join(str(row[-1]) for row in rows)
        # A few rows make a scan and a sort the cheapest plan; with both priced out, a
        # Sort or Seq Scan remains only where no index gives the order.
        await connection.exec_driver_sql("SET enable_seqscan = off")
        await connection.exec_driver_sql("SET enable_sort = off")
        rows = await connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
        return "\n".join(str(row[0]) for row in rows)


def _problems(plan: str, table: str, dialect: str) -> list[str]:
    if dialect == "sqlite":
        found = ["sorted in a temporary B-tree"] if "USE TEMP B-TREE FOR ORDER BY" in plan else []
        if re.search(rf"\bSCAN {table}\b(?! USING)", plan):
            found.append(f"full scan of {table}")
        return found
    found = ["sorted"] if re.search(r"\bSort\b", plan) else []
    if re.search(rf"Seq Scan on {table}\b", plan):
        found.append(f"full scan of {table}")
    return found


CONTACT_LISTS = {
    field: LISTS[field]
    for field in (
        "credits",
        "documents",
        "invoices",
        "paymentMethods",
        "payments",
        "projects",
        "quotes",
        "recurringInvoices",
        "subscriptions",
        "supportTickets",
        "tasks",
    )
}
"""The lists a BILLING contact pages through: the same tables, narrowed to its client
(and to what its client may see)."""

CLIENT_ORDERED = frozenset({"invoice", "payment", "quote"})
"""The tables whose pages a contact reads through their client's own index
(models.base.client_order_index), not the account's with the other clients' rows
filtered out."""

CONTACTS = "{ clients(first: 50) { edges { node { name contacts { id role } } } } }"


@pytest.mark.parametrize("field", [*sorted(LISTS), "webhookDeliveries"])
async def test_each_list_pages_through_an_index_in_its_order(
    gql: Any, runtime: Runtime, field: str
) -> None:
    token, webhook_id = await _owner_and_webhook(runtime)
    arguments = (
        f'(first: 5, webhookId: "{webhook_id}")' if field == "webhookDeliveries" else "(first: 5)"
    )
    await _check_pages(gql, runtime, token, field, arguments, LISTS.get(field, "webhook_delivery"))


@pytest.mark.parametrize("field", sorted(CONTACT_LISTS))
async def test_a_contacts_lists_page_through_an_index_too(
    gql: Any, runtime: Runtime, field: str
) -> None:
    owner, _ = await _owner_and_webhook(runtime)
    token = await _billing_contact_with(gql, owner, field)
    table = CONTACT_LISTS[field]
    index = f"ix_{table}_client_order" if table in CLIENT_ORDERED else None
    await _check_pages(gql, runtime, token, field, "(first: 5)", table, index=index)


async def _billing_contact_with(gql: Any, owner: str, field: str) -> str:
    """A signed-in BILLING contact of the demo whose client has ``field`` (each demo client
    has other modules on)."""
    clients = (await gql.data(CONTACTS, token=owner))["clients"]["edges"]
    for edge in clients:
        for contact in edge["node"]["contacts"]:
            if contact["role"] != "BILLING":
                continue
            token = await contact_token(gql, owner, contact["id"])
            if "errors" not in await gql(f"{{ {field}(first: 1) {{ totalCount }} }}", token=token):
                return token
    raise AssertionError(f"no demo BILLING contact may list {field}")


async def _check_pages(
    gql: Any,
    runtime: Runtime,
    token: str,
    field: str,
    arguments: str,
    table: str,
    *,
    index: str | None = None,
) -> None:
    """Each page statement of ``field`` neither sorts nor scans ``table`` (and reads it
    through ``index``, when one is named)."""
    captured, capture = _page_statements(runtime)
    engine = runtime.engine.sync_engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        await gql.data(
            f"{{ {field}{arguments} {{ totalCount edges {{ node {{ id }} }} }} }}", token=token
        )
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    pages = [(sql, params) for sql, params in captured if re.search(rf"\bFROM {table}\b", sql)]
    assert pages, f"no page statement on {table} was run: {captured}"
    for statement, parameters in pages:
        plan = await _explain(runtime, statement, parameters)
        problems = _problems(plan, table, runtime.engine.dialect.name)
        if index is not None and index not in plan:
            problems.append(f"not read through {index}")
        assert not problems, f"{field}: {', '.join(problems)}\n{statement}\n{plan}"
