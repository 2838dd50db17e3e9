"""What the query limits cost per request, and how fast they refuse what they refuse.

- ``analysis_us``: every check of :class:`schema.limits.QueryLimiter` (directives,
  repeated fields, aliases, depth, cost) on a parsed dashboard-sized query, per request;
- ``validation_us``: graphql-core's validation of the same document, for scale;
- ``refusal_ms``: a whole ``execute`` (parse, limits) of documents that are refused:
  the exponential payment query, 100,000 aliases, 50,000 bogus arguments, 30,000
  directives.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from typing import Any

from graphql import get_operation_ast, parse, validate

from auth.profiles import STANDARD_PROFILES
from schema.cost import (
    count_directives,
    most_repeated_field,
    operation_aliases,
    operation_cost,
    operation_depth,
)
from schema.registry import build_profile_schema

DASHBOARD = """
query Dashboard {
  viewer { __typename ... on Contact { email client { name company avatarUrl } } }
  invoices(first: 10, status: [SENT, VIEWED, PARTIAL]) {
    totalCount
    edges { node { id number status total balance amountDue dueDate isOverdue pdfUrl } }
  }
  payments(first: 5) { nodes { id amount currency receivedOn allocations { amount } } }
  quotes(first: 5) { nodes { id number kind status total validUntil } }
  subscriptions(first: 5) { nodes { id status } }
  recurringInvoices(first: 5) { nodes { id frequency upcomingDates(count: 3) } }
}
"""


def _exponential(levels: int) -> str:
    inner = "id"
    for _ in range(levels):
        inner = f"allocations {{ payment {{ {inner} }} }}"
    return 'query { payment(id: "x") { ' + inner + " } }"


def _per_call_us(function: Callable[[], Any], iterations: int) -> float:
    function()
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(iterations):
            function()
        samples.append((time.perf_counter() - start) / iterations)
    return round(statistics.median(samples) * 1e6, 1)


def query_cost_overhead(iterations: int = 2000) -> dict[str, Any]:
    schema = build_profile_schema(STANDARD_PROFILES["contact-billing"])
    graphql_schema = schema._schema
    document = parse(DASHBOARD)
    operation = get_operation_ast(document)
    assert operation is not None
    errors = validate(graphql_schema, document)
    assert not errors, errors

    def analysis() -> int:
        count_directives(document)
        most_repeated_field(document)
        operation_aliases(document, operation)
        operation_depth(document, operation)
        return operation_cost(graphql_schema, document, operation).cost

    floods = {
        "exponential_depth_25": _exponential(12),
        "aliases_100k": "{ " + " ".join(f"a{n}: __typename" for n in range(100_000)) + " }",
        "arguments_50k": "{ __typename(" + ", ".join(f"a{n}: 1" for n in range(50_000)) + ") }",
        "directives_30k": "{ " + "__typename @skip(if: false) " * 30_000 + "}",
    }
    refusals = {}
    for name, query in floods.items():
        start = time.perf_counter()
        result = asyncio.run(schema.execute(query))
        elapsed = time.perf_counter() - start
        assert result.errors, result
        assert result.errors[0].extensions, result
        refusals[name] = {
            "ms": round(elapsed * 1000, 1),
            "code": result.errors[0].extensions.get("code"),
        }
    return {
        "profile": "contact-billing",
        "dashboard_cost": analysis(),
        "analysis_us": _per_call_us(analysis, iterations),
        "validation_us": _per_call_us(lambda: validate(graphql_schema, document), iterations // 10),
        "refusal_ms": refusals,
    }
