"""SQL statements per request follow the query's depth, not the number of rows
(DataLoaders batch every relationship)."""

from sqlalchemy import event

CREATE_CLIENT = "mutation($i: ClientInput!) { createClient(input: $i) { id } }"
CREATE_INVOICE = "mutation($i: InvoiceInput!) { createInvoice(input: $i) { id } }"
SEND = "mutation($id: ID!) { sendInvoice(id: $id) { id } }"
DEEP = """
{ invoices(first: 50) { totalCount edges { node {
    number total client { name contacts { email } }
    lines { description total }
    payments { amount payment { method } }
} } } }
"""


def count_statements(engine):
    counter = {"n": 0}

    def before(*_args):
        counter["n"] += 1

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    return counter, lambda: event.remove(engine.sync_engine, "before_cursor_execute", before)


async def add_invoices(gql, token, count, start=0):
    for n in range(start, start + count):
        client = (
            await gql.data(
                CREATE_CLIENT,
                {"i": {"name": f"Client {n}", "contacts": [{"email": f"c{n}@x.test"}]}},
                token=token,
            )
        )["createClient"]
        invoice = (
            await gql.data(
                CREATE_INVOICE,
                {
                    "i": {
                        "clientId": client["id"],
                        "lines": [
                            {"description": "A", "quantity": "1", "unitPrice": "10"},
                            {"description": "B", "quantity": "2", "unitPrice": "5"},
                        ],
                    }
                },
                token=token,
            )
        )["createInvoice"]
        await gql.data(SEND, {"id": invoice["id"]}, token=token)


async def test_statements_do_not_grow_with_rows(gql, tenant, runtime):
    # given 2 invoices, measured
    await add_invoices(gql, tenant.admin, 2)
    await runtime.mailer.drain()  # sent invoices are mailed in the background: not counted
    counter, stop = count_statements(runtime.engine)
    small = await gql.data(DEEP, token=tenant.admin)
    few = counter["n"]
    stop()
    # when there are 8 invoices
    await add_invoices(gql, tenant.admin, 6, start=2)
    await runtime.mailer.drain()
    counter, stop = count_statements(runtime.engine)
    large = await gql.data(DEEP, token=tenant.admin)
    many = counter["n"]
    stop()
    # then the same query costs the same number of statements
    assert small["invoices"]["totalCount"] == 2
    assert large["invoices"]["totalCount"] == 8
    assert many == few
    assert few <= 12
