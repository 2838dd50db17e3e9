"""Invoice lists read only the columns their items select (resolvers.selection's
``node_columns_for`` and resolvers.views' ``INVOICE_COLUMNS``), as read-only rows
(services.rows): every field of ``Invoice`` names the columns it reads, and each field
asked alone in a list — under ``nodes``, under ``edges { node }`` through a fragment, in
the dashboard's open invoices — answers exactly what the single invoice, read as a
whole ORM row, answers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from graphql import GraphQLObjectType, get_named_type, is_leaf_type

from models.types import utcnow
from resolvers.views import INVOICE_COLUMNS
from schema.builder import build_full_schema
from tests.schema.test_dashboard import make_overdue, pay, sent_invoice
from tests.schema.viewer_helpers import new_client

CREATE_INVOICE = "mutation($input: InvoiceInput!) { createInvoice(input: $input) { id } }"
SEND_INVOICE = "mutation($id: ID!) { sendInvoice(id: $id) { id } }"


def _invoice_type() -> GraphQLObjectType:
    graphql_type = build_full_schema()._schema.type_map["Invoice"]
    assert isinstance(graphql_type, GraphQLObjectType)
    return graphql_type


def test_every_invoice_field_names_the_columns_it_reads():
    assert set(_invoice_type().fields) == set(INVOICE_COLUMNS)


def _selection(name: str, field: Any) -> str:
    return name if is_leaf_type(get_named_type(field.type)) else f"{name} {{ __typename }}"


async def test_each_field_alone_answers_what_the_whole_row_answers(gql, tenant, runtime):
    # given invoices in different states: a draft with a deposit and notes, one partly
    # paid, one overdue, one sent with its deposit unpaid
    client = await new_client(gql, tenant)
    today = utcnow().date()
    draft = {
        "clientId": client["id"],
        "depositAmount": "30.00",
        "dueDate": (today + timedelta(days=7)).isoformat(),
        "poNumber": "PO-7",
        "publicNotes": "Thanks",
        "privateNotes": "Staff only",
        "terms": "Net 7",
        "lines": [{"description": "Work", "quantity": "2", "unitPrice": "50.00"}],
    }
    await gql.data(CREATE_INVOICE, {"input": draft}, token=tenant.admin)
    partly = await sent_invoice(gql, tenant, client["id"], "80.00")
    await pay(gql, tenant, client["id"], partly, "30.00")
    late = await sent_invoice(gql, tenant, client["id"], "12.34")
    await make_overdue(runtime, late)
    deposit = {**draft, "dueDate": (today + timedelta(days=30)).isoformat()}
    with_deposit = (await gql.data(CREATE_INVOICE, {"input": deposit}, token=tenant.admin))[
        "createInvoice"
    ]["id"]
    await gql.data(SEND_INVOICE, {"id": with_deposit}, token=tenant.admin)

    fields = _invoice_type().fields
    everything = " ".join(_selection(name, field) for name, field in fields.items())
    whole: dict[str, dict[str, Any]] = {}
    listed = await gql.data("{ invoices(first: 20) { nodes { id } } }", token=tenant.admin)
    for node in listed["invoices"]["nodes"]:
        query = f"query($id: ID!) {{ invoice(id: $id) {{ {everything} }} }}"
        whole[node["id"]] = (await gql.data(query, {"id": node["id"]}, token=tenant.admin))[
            "invoice"
        ]
    assert len(whole) == 4

    for name, field in fields.items():
        # when the field is the only one asked of each listed invoice
        selected = _selection(name, field)
        query = f"""
        {{ invoices(first: 20) {{ nodes {{ id {selected} }} edges {{ node {{ ...Alone }} }} }}
           dashboard {{ openInvoices(first: 20) {{ nodes {{ id {selected} }} }} }} }}
        fragment Alone on Invoice {{ id {selected} }}
        """
        data = await gql.data(query, token=tenant.admin)
        # then it answers what the whole row answers, wherever it is listed
        nodes = data["invoices"]["nodes"]
        edges = [edge["node"] for edge in data["invoices"]["edges"]]
        open_ones = data["dashboard"]["openInvoices"]["nodes"]
        assert len(open_ones) == 3
        for item in [*nodes, *edges, *open_ones]:
            assert _stable(name, item[name]) == _stable(name, whole[item["id"]][name]), name


def _stable(name: str, value: Any) -> Any:
    """A signed link without its timestamp and signature (they change every second)."""
    if name == "pdfUrl":
        return value.rsplit(".", 2)[0]
    return value


async def test_the_columns_of_a_selection_follow_each_document(gql, tenant):
    """The columns a selection reads are worked out once per document
    (resolvers.selection): the same document asked again, and another one that selects
    more of the same lines, each read what they select."""
    client = await new_client(gql, tenant)
    await sent_invoice(gql, tenant, client["id"], "12.50")
    await sent_invoice(gql, tenant, client["id"], "7", currency="JPY")
    few = "{ invoices(first: 5) { nodes { lines { description } } } }"
    more = "{ invoices(first: 5) { nodes { currency lines { description total unitPrice } } } }"

    for _ in range(2):
        listed = await gql.data(few, token=tenant.admin)
        assert [node["lines"] for node in listed["invoices"]["nodes"]] == [
            [{"description": "Work"}],
            [{"description": "Work"}],
        ]
    listed = await gql.data(more, token=tenant.admin)
    lines = {node["currency"]: node["lines"] for node in listed["invoices"]["nodes"]}
    assert lines == {
        "USD": [{"description": "Work", "total": "12.50", "unitPrice": "12.50"}],
        "JPY": [{"description": "Work", "total": "7", "unitPrice": "7"}],
    }
