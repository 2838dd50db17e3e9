"""Statements memoised per caller (services.prepared) keep each caller's scope: two
contacts of different clients, and staff narrowing to one client then another, asking
in turn, each get their own rows, request after request."""

from __future__ import annotations

from tests.schema.test_dashboard import sent_invoice
from tests.schema.viewer_helpers import new_client, sign_in_contact

OPEN = "{ dashboard { client { name } openInvoices(first: 5) { totalCount nodes { total } } } }"
LIST = "query($c: ID) { invoices(first: 5, clientId: $c) { totalCount nodes { total } } }"


async def test_callers_asking_in_turn_each_get_their_own_rows(gql, tenant, runtime):
    # given two clients with one open invoice each, and a contact of each
    initech = await new_client(gql, tenant)
    globex = await new_client(gql, tenant, "Globex")
    await sent_invoice(gql, tenant, initech["id"], "10.00")
    await sent_invoice(gql, tenant, globex["id"], "20.00")
    mine = await sign_in_contact(runtime, initech["contacts"][0]["id"])
    theirs = await sign_in_contact(runtime, globex["contacts"][0]["id"])
    for _ in range(2):
        # when each asks its dashboard in turn, then each sees its own client's invoice
        for token, name, total in ((mine, "Initech", "10.00"), (theirs, "Globex", "20.00")):
            board = (await gql.data(OPEN, token=token))["dashboard"]
            assert board["client"] == {"name": name}
            assert board["openInvoices"] == {"totalCount": 1, "nodes": [{"total": total}]}
        # and staff narrowing the list to each client in turn see that client's
        for client, total in ((initech, "10.00"), (globex, "20.00")):
            page = (await gql.data(LIST, {"c": client["id"]}, token=tenant.admin))["invoices"]
            assert page == {"totalCount": 1, "nodes": [{"total": total}]}
        everything = (await gql.data(LIST, token=tenant.admin))["invoices"]
        assert everything["totalCount"] == 2
