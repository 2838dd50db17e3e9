"""The hot-path bench's bulk-inserted account reads back through the API as the services
would have left it: totals are the sums of the lines, balances and statuses follow the
payments allocated, the dashboard's figures are the list's — and the bench's floor
answers its three requests with the same JSON as Portico."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.hot_path import in_process, portico_in_process, tokens
from bench.hot_path_seed import SeedSize, seed_account
from services.db import create_engine

SIZE = SeedSize(clients=4, invoices_per_client=10, lines=3, quotes_per_client=5)
STAFF_LIST = """
{ invoices(first: 100) { totalCount nodes {
    id status total balance amountPaid paidState client { id }
    lines { total } payments { amount }
} } }
"""
CONTACT_DASHBOARD = """
{ dashboard {
    outstanding { currency amount count }
    openInvoices(first: 100) { totalCount nodes { id balance } }
    recentPayments(first: 100) { totalCount }
    openQuotes { totalCount nodes { kind } }
} }
"""
OPEN = {"SENT", "VIEWED", "PARTIAL"}


async def test_seeded_account_reads_consistently(tmp_path: Path, sqlite_template: Path) -> None:
    path = tmp_path / "bench.sqlite3"
    shutil.copy(sqlite_template, path)
    url = f"sqlite+aiosqlite:///{path}"
    engine = create_engine(url)
    try:
        seeded = await seed_account(engine, SIZE)
    finally:
        await engine.dispose()
    keys = tokens(seeded)
    async with portico_in_process(url) as (http, _):

        async def data(query: str, token: str) -> Any:
            response = await http.post(
                "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"}
            )
            body = response.json()
            assert "errors" not in body, body
            return body["data"]

        invoices = (await data(STAFF_LIST, keys["staff"]))["invoices"]
        board = (await data(CONTACT_DASHBOARD, keys["contact"]))["dashboard"]

    assert invoices["totalCount"] == SIZE.clients * SIZE.invoices_per_client == seeded.invoices
    statuses = {node["status"] for node in invoices["nodes"]}
    assert {"PAID", "PARTIAL", "SENT", "VIEWED", "VOID"} <= statuses
    for node in invoices["nodes"]:
        total, balance = Decimal(node["total"]), Decimal(node["balance"])
        assert len(node["lines"]) == SIZE.lines
        assert total == sum(Decimal(line["total"]) for line in node["lines"]) > 0
        paid = sum((Decimal(p["amount"]) for p in node["payments"]), Decimal(0))
        assert Decimal(node["amountPaid"]) == paid
        expected = {
            "PAID": (Decimal(0), "PAID"),
            "VOID": (Decimal(0), "VOID"),
            "PARTIAL": (total - paid, "PARTIAL"),
        }.get(node["status"], (total, "UNPAID"))
        assert (balance, node["paidState"]) == expected, node
        if node["status"] == "PARTIAL":
            assert 0 < paid < total

    own = [
        node
        for node in invoices["nodes"]
        if node["client"]["id"] == seeded.contact_client_id and node["status"] in OPEN
    ]
    assert own
    assert board["openInvoices"]["totalCount"] == len(own)
    assert {node["id"] for node in board["openInvoices"]["nodes"]} == {node["id"] for node in own}
    assert board["outstanding"] == [
        {
            "currency": "USD",
            "amount": str(sum(Decimal(node["balance"]) for node in own)),
            "count": len(own),
        }
    ]
    paid_own = [
        node
        for node in invoices["nodes"]
        if node["client"]["id"] == seeded.contact_client_id and node["payments"]
    ]
    assert board["recentPayments"]["totalCount"] == len(paid_own)
    assert board["openQuotes"]["totalCount"] == 2  # one sent and one viewed quote each
    # the floor reads the same rows and answers the same JSON (asserted inside)
    checked = await in_process(url, seeded, timed=1, profiled=1)
    assert {name: row["same_json"] for name, row in checked.items()} == {
        "invoices": True,
        "dashboard": True,
        "viewer": True,
    }
