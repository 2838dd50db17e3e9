"""Invoice lines are read with only the columns their selection needs
(resolvers.selection): every field of ``LineItem`` is mapped to its columns, and a
selection through fragments, aliases or ``__typename`` still answers every value."""

from __future__ import annotations

from decimal import Decimal

from resolvers.views import LINE_COLUMNS
from schema.builder import build_full_schema
from tests.schema.test_invoices import create_client, create_invoice, line


def test_every_line_field_names_the_columns_it_reads():
    schema = build_full_schema()
    fields = set(schema._schema.type_map["LineItem"].fields)  # type: ignore[attr-defined]
    assert fields == set(LINE_COLUMNS)


LINES = """
query($id: ID!) { invoice(id: $id) {
  lines { __typename description ...Money }
  again: lines { id position quantity unitPrice total taxName taxRate discountPercent }
} }
fragment Money on LineItem { ... on LineItem { subtotal discount tax total } }
"""


async def test_lines_answer_through_fragments_and_aliases(gql, tenant):
    client = await create_client(gql, tenant.admin)
    lines = [
        line("Design", "2", "150.00", taxRate="10", taxName="VAT", discountPercent="5"),
        line("Hosting", "1", "20.00"),
    ]
    invoice = await create_invoice(gql, tenant.admin, client["id"], lines=lines)
    data = (await gql.data(LINES, {"id": invoice["id"]}, token=tenant.admin))["invoice"]
    assert data["lines"][0] == {
        "__typename": "LineItem",
        "description": "Design",
        "subtotal": "300.00",
        "discount": "15.00",
        "tax": "28.50",
        "total": "313.50",
    }
    assert [row["description"] for row in data["lines"]] == ["Design", "Hosting"]
    again = data["again"]
    assert [row["position"] for row in again] == [0, 1]
    assert again[0]["taxName"] == "VAT"
    assert Decimal(again[0]["taxRate"]) == Decimal(10)
    assert Decimal(again[0]["discountPercent"]) == Decimal(5)
    assert Decimal(again[0]["quantity"]) == Decimal(2)
    assert again[0]["unitPrice"] == "150.00"
    assert again[1]["total"] == "20.00"
