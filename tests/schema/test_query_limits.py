"""Query limits: cost, depth, aliases, tokens, directives and operations are checked on
the document before any resolver runs, and refusals carry stable codes."""

from __future__ import annotations

import dataclasses
import gc
import time
import tracemalloc
from typing import Any

import httpx
import pytest
from graphql import get_introspection_query
from sqlalchemy import event

from server.app import create_app
from services.config import Settings
from tests.conftest import GraphQLClient

CREATE_CLIENT = "mutation($input: ClientInput!) { createClient(input: $input) { id } }"
CREATE_INVOICE = "mutation($input: InvoiceInput!) { createInvoice(input: $input) { id } }"
SEND_INVOICE = "mutation($id: ID!) { sendInvoice(id: $id) { id } }"
RECORD_PAYMENT = "mutation($input: RecordPaymentInput!) { recordPayment(input: $input) { id } }"
SIGN_IN = 'mutation { signIn(email: "admin@acme.test", password: "wrong") { token } }'
README_INVOICES = (
    "{ invoices(first: 10) { totalCount edges { node { number status total balance "
    "isOverdue client { name } } } } }"
)
GRAPHIQL_INTROSPECTION = get_introspection_query(
    descriptions=True, schema_description=True, input_value_deprecation=True
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Bodies up to 4 MB: the floods below must reach the GraphQL layer, whose limits
    these tests are about (the body limit has its own tests)."""
    return settings.model_copy(update={"max_body_bytes": 4_000_000})


def exponential(levels: int) -> str:
    """``payment { allocations { payment { allocations ... } } } }``: its result grows
    tenfold at each level; its depth is ``2 * levels + 1``."""
    inner = "id amount"
    for _ in range(levels):
        inner = f"allocations {{ amount payment {{ {inner} }} }}"
    return "query($id: ID!) { payment(id: $id) { " + inner + " } }"


def refusal(body: dict[str, Any], code: str) -> dict[str, Any]:
    """The one error of a refused document: ``code``, no data."""
    assert body.get("data") is None, body
    assert len(body["errors"]) == 1, body["errors"]
    error: dict[str, Any] = body["errors"][0]
    assert error["extensions"]["code"] == code, error
    return error


async def a_payment(gql: GraphQLClient, token: str) -> str:
    """A payment applied to one sent invoice."""
    client = (await gql.data(CREATE_CLIENT, {"input": {"name": "Acme Corp"}}, token=token))[
        "createClient"
    ]
    lines = [{"description": "Consulting", "quantity": "1", "unitPrice": "100.00"}]
    invoice = (
        await gql.data(
            CREATE_INVOICE, {"input": {"clientId": client["id"], "lines": lines}}, token=token
        )
    )["createInvoice"]
    await gql.data(SEND_INVOICE, {"id": invoice["id"]}, token=token)
    allocation = {"invoiceId": invoice["id"], "amount": "100.00"}
    payment = {
        "clientId": client["id"],
        "amount": "100.00",
        "method": "BANK_TRANSFER",
        "allocations": [allocation],
    }
    data = await gql.data(RECORD_PAYMENT, {"input": payment}, token=token)
    payment_id: str = data["recordPayment"]["id"]
    return payment_id


class Statements:
    """Counts the SQL statements run while it is open."""

    def __init__(self, engine) -> None:
        self.engine = engine.sync_engine
        self.count = 0

    def _before(self, *_args) -> None:
        self.count += 1

    def __enter__(self) -> Statements:
        event.listen(self.engine, "before_cursor_execute", self._before)
        return self

    def __exit__(self, *_exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)


@pytest.mark.serial  # timed: run alone, not beside another worker
async def test_the_exponential_payment_query_is_refused_before_any_resolver(gql, tenant, runtime):
    # given a payment with an allocation, and what a request costs before GraphQL runs
    payment_id = await a_payment(gql, tenant.admin)
    with Statements(runtime.engine) as baseline:
        await gql.data("{ __typename }", token=tenant.admin)
    query = exponential(12)  # depth 25: tenfold per level, it would never finish
    # when it is asked for
    with Statements(runtime.engine) as statements:
        tracemalloc.start()
        started = time.perf_counter()
        body = await gql(query, {"id": payment_id}, token=tenant.admin)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    # then it is refused for its depth at once, with memory flat and no resolver run
    error = refusal(body, "QUERY_TOO_DEEP")
    assert error["message"] == "The operation has depth 25; the limit is 12."
    assert error["extensions"]["limit"] == 12
    assert error["extensions"]["found"] == 25
    assert elapsed < 1
    assert peak < 5_000_000
    assert statements.count == baseline.count  # authentication only


async def test_an_exponential_query_within_the_depth_limit_is_refused_for_its_cost(
    gql, tenant, runtime
):
    payment_id = await a_payment(gql, tenant.admin)
    with Statements(runtime.engine) as baseline:
        await gql.data("{ __typename }", token=tenant.admin)
    # cost(levels) = 1 + 10 * (1 + cost(levels - 1)), cost(0) = 1: 22221 at 4 levels
    with Statements(runtime.engine) as statements:
        body = await gql(exponential(4), {"id": payment_id}, token=tenant.admin)
    error = refusal(body, "QUERY_TOO_COMPLEX")
    assert error["message"] == "The operation costs 22221; the limit is 5000."
    assert body["extensions"]["cost"] == {"requested": 22221, "limit": 5000}
    assert statements.count == baseline.count


async def test_three_levels_of_the_same_cycle_run_and_report_their_cost(gql, tenant):
    payment_id = await a_payment(gql, tenant.admin)
    body = await gql(exponential(3), {"id": payment_id}, token=tenant.admin)
    assert "errors" not in body, body
    payment = body["data"]["payment"]
    for _ in range(3):
        payment = payment["allocations"][0]["payment"]
    assert payment["id"] == payment_id
    assert body["extensions"]["cost"] == {"requested": 2221, "limit": 5000}


@pytest.mark.parametrize(
    ("query", "variables", "expected"),
    [
        # invoices 1 + 10 nodes x (node 1 + client 1); edges themselves cost nothing
        (README_INVOICES, {}, 1 + 10 * (1 + 1)),
        # the page asked for through a variable
        (
            "query($n: Int) { invoices(first: $n) { nodes { number client { name } } } }",
            {"n": 4},
            1 + 4 * (1 + 1),
        ),
        # no first: the default page of 20; pageInfo is one object; totalCount is free
        ("{ clients { totalCount pageInfo { hasNextPage } } }", {}, 1 + 1),
        # a list that is not a connection is assumed 10 long: clients 1 + 3 x (1 + 10 x 1)
        ("{ clients(first: 3) { nodes { contacts { email } } } }", {}, 1 + 3 * (1 + 10)),
        # invoice lines are assumed 25 long
        ("{ invoices(first: 2) { nodes { lines { description } } } }", {}, 1 + 2 * (1 + 25)),
        # a mutation field costs 10
        (SIGN_IN, {}, 10),
        ("{ __typename }", {}, 0),
    ],
)
async def test_the_cost_is_returned_with_the_answer(gql, tenant, query, variables, expected):
    body = await gql(query, variables, token=tenant.admin)
    assert body["extensions"]["cost"] == {"requested": expected, "limit": 5000}


async def test_the_readme_queries_and_an_ordinary_one_pass(gql, tenant):
    token = (
        await gql.data(
            'mutation { signIn(email: "admin@acme.test", password: "correct-Horse-9") { token } }'
        )
    )["signIn"]["token"]
    data = await gql.data(README_INVOICES, token=token)
    assert data["invoices"]["totalCount"] == 0
    ordinary = """
    query Landing {
      viewer { __typename ... on StaffUser { name email role } }
      clients(first: 20) { totalCount edges { cursor node { name contacts { email role } } } }
      invoices(first: 20) { edges { node { number status total client { name } } } }
      payments(first: 10) { nodes { amount allocations { amount invoice { number } } } }
    }
    """
    await gql.data(ordinary, token=tenant.admin)


@pytest.mark.parametrize("profile", ["admin", "anonymous"])
async def test_graphiqls_introspection_query_passes(gql, tenant, profile):
    token = tenant.admin if profile == "admin" else None
    body = await gql(GRAPHIQL_INTROSPECTION, token=token)
    assert "errors" not in body, body["errors"]
    assert body["data"]["__schema"]["types"]
    assert 0 < body["extensions"]["cost"]["requested"] <= 5000


def type_chain(levels: int) -> str:
    """``__type { fields { type { ofType { fields ... } } } }``: types of fields of types."""
    inner = "name"
    for _ in range(levels):
        inner = f"fields {{ name type {{ name ofType {{ name {inner} }} }} }}"
    return '{ __type(name: "Query") { ' + inner + " } }"


async def test_nested_introspection_is_refused_by_cost_and_depth(gql, tenant):
    # 5 levels: depth 11 (ofType continues a type and adds no depth), cost 11716
    error = refusal(await gql(type_chain(5), token=tenant.admin), "QUERY_TOO_COMPLEX")
    assert "the limit is 5000" in error["message"]
    assert error["extensions"]["found"] > 5000
    chained = '{ __type(name: "Query") { ' + "fields { type { " * 7 + "name" + " } }" * 7 + " } }"
    error = refusal(await gql(chained, token=tenant.admin), "QUERY_TOO_DEEP")
    assert error["message"] == "The operation has depth 15; the limit is 12."


def aliases(count: int) -> str:
    return "{ " + " ".join(f"a{n}: __typename" for n in range(count)) + " }"


def directives(count: int) -> str:
    return "{ " + "__typename @skip(if: false) " * count + "}"


def nested(depth: int) -> str:
    """``{ __schema { types { ... } } }`` nested ``depth`` selection sets deep (valid or
    not, it is refused on its depth first)."""
    return "{ __schema { " + "types { " * (depth - 1) + "name" + " }" * depth + " }"


@pytest.mark.parametrize(
    ("query", "code", "message"),
    [
        (aliases(31), "TOO_MANY_ALIASES", "The operation has 31 aliases; at most 30 are allowed."),
        (
            directives(51),
            "TOO_MANY_DIRECTIVES",
            "The document has 51 directives; at most 50 are allowed.",
        ),
        (
            " ".join(f"query Q{n} {{ __typename }}" for n in range(11)),
            "TOO_MANY_OPERATIONS",
            "The document has 11 operations; at most 10 are allowed.",
        ),
        (
            " ".join("{ __typename }" for _ in range(11)),
            "TOO_MANY_OPERATIONS",
            "The document has 11 operations; at most 10 are allowed.",
        ),
        (nested(13), "QUERY_TOO_DEEP", "The operation has depth 13; the limit is 12."),
        (
            "{ __typename }" + " #\n" * 9_998,
            "TOO_MANY_TOKENS",
            "The document has more than 10000 tokens, the limit.",
        ),
        (
            "{ " + "clients { totalCount } " * 51 + "}",
            "QUERY_TOO_COMPLEX",
            "The field 'clients' is selected 51 times in one selection set; "
            "at most 50 are allowed.",
        ),
        (
            "{ invoices(first: 100) { nodes { lines { description } payments { amount } "
            "activity { verb } } } }",
            "QUERY_TOO_COMPLEX",
            # invoices 1 + 100 x (1 + lines 25 + payments 10 + activity 25)
            "The operation costs 6101; the limit is 5000.",
        ),
    ],
)
async def test_each_limit_is_refused_with_its_code(gql, tenant, query, code, message):
    error = refusal(await gql(query, token=tenant.admin), code)
    assert error["message"] == message


async def test_what_is_at_the_limits_passes(gql, tenant):
    at_limits = [
        aliases(30),
        directives(50),
        " ".join(f"query Q{n} {{ __typename }}" for n in range(10)),
        "{ __typename }" + " #\n" * 9_997,  # comments count as tokens
    ]
    for query in at_limits:
        payload = {"query": query, "operationName": "Q0" if "Q0" in query else None}
        headers = {"Authorization": f"Bearer {tenant.admin}"}
        body = (await gql.http.post("/graphql", json=payload, headers=headers)).json()
        assert "errors" not in body, (query[:80], body["errors"])
    body = await gql(nested(12), token=tenant.admin)
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"  # not its depth


@pytest.mark.serial  # timed: run alone, not beside another worker
@pytest.mark.parametrize(
    "query",
    [
        aliases(100_000),
        "{ __typename(" + ", ".join(f"a{n}: 1" for n in range(50_000)) + ") }",
        directives(30_000),
    ],
    ids=["100k-aliases", "50k-arguments", "30k-directives"],
)
async def test_floods_are_refused_quickly_by_the_token_limit(gql, tenant, query):
    started = time.perf_counter()
    response = await gql.post(query, token=tenant.admin)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    error = refusal(response.json(), "TOO_MANY_TOKENS")
    assert "10000 tokens" in error["message"]
    assert elapsed < 2


@pytest.mark.serial  # timed: run alone, not beside another worker
async def test_a_field_repeated_thousands_of_times_is_refused_before_validation(gql, tenant):
    # graphql-core compares same-named fields pairwise: this took 1.6 s to validate
    query = "{ " + "clients { totalCount } " * 2_400 + "}"
    await gql.data("{ clients { totalCount } }", token=tenant.admin)  # the profile's schema built
    gc.collect()  # a full collection of the suite's heap is not what is measured
    started = time.perf_counter()
    error = refusal(await gql(query, token=tenant.admin), "QUERY_TOO_COMPLEX")
    assert error["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "limit": 50,
        "found": 2_400,
        "field": "clients",
    }
    assert time.perf_counter() - started < 1


@pytest.mark.serial  # timed: run alone, not beside another worker
async def test_bogus_arguments_within_the_token_limit_are_refused_without_validating_each(
    gql, tenant
):
    query = "{ __typename(" + ", ".join(f"a{n}: 1" for n in range(3_000)) + ") }"
    started = time.perf_counter()
    body = await gql(query, token=tenant.admin)
    elapsed = time.perf_counter() - started
    error = refusal(body, "GRAPHQL_VALIDATION_FAILED")
    assert error["message"] == "Field 'Query.__typename' takes 0 arguments at most."
    assert elapsed < 2


@pytest.mark.serial  # timed: run alone, not beside another worker
async def test_fragments_spread_many_times_are_measured_once(gql, tenant):
    # 2^40 spreads of the last fragment once expanded: measured in linear time
    fragments = " ".join(
        f"fragment F{n} on Query {{ a{n}: __typename ...F{n + 1} ...F{n + 1} }}" for n in range(40)
    )
    query = "{ ...F0 } " + fragments + " fragment F40 on Query { __typename }"
    started = time.perf_counter()
    error = refusal(await gql(query, token=tenant.admin), "TOO_MANY_ALIASES")
    assert error["extensions"]["found"] == 2**40 - 1
    assert time.perf_counter() - started < 1


async def test_a_chain_of_fragments_too_long_to_measure_is_refused(gql, tenant):
    chain = " ".join(f"fragment F{n} on Query {{ ...F{n + 1} }}" for n in range(1_100))
    query = "{ ...F0 } " + chain + " fragment F1100 on Query { __typename }"
    error = refusal(await gql(query, token=tenant.admin), "QUERY_TOO_DEEP")
    assert "limit is 12" in error["message"]


async def test_the_limits_come_from_the_settings(runtime, tenant):
    settings = runtime.settings.model_copy(
        update={"query_max_depth": 2, "query_max_cost": 20, "query_max_aliases": 1}
    )
    app = create_app(runtime=dataclasses.replace(runtime, settings=settings))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as http:
        gql = GraphQLClient(http)
        deep = refusal(
            await gql("{ clients { nodes { contacts { email } } } }", token=tenant.admin),
            "QUERY_TOO_DEEP",
        )
        assert deep["message"] == "The operation has depth 3; the limit is 2."
        shallow = "{ invoices(first: 20) { nodes { number } } }"  # 1 + 20 x 1
        costly = refusal(await gql(shallow, token=tenant.admin), "QUERY_TOO_COMPLEX")
        assert costly["message"] == "The operation costs 21; the limit is 20."
        many = refusal(await gql("{ a: __typename b: __typename }"), "TOO_MANY_ALIASES")
        assert many["extensions"] == {"code": "TOO_MANY_ALIASES", "limit": 1, "found": 2}


async def test_a_document_measured_once_is_measured_again_for_other_variables(gql, tenant):
    """Costs are kept per document and variables (schema.limits.PASSED): the same
    document with a bigger page costs more, and past the limit it is refused."""
    page = "invoices(first: $n) { nodes { number lines { description } } }"
    query = f"query($n: Int) {{ a: {page} b: {page} }}"

    def cost(n: int) -> int:
        return 2 * (1 + n * (1 + 25))

    for _ in range(2):
        body = await gql(query, {"n": 2}, token=tenant.admin)
        assert body["extensions"]["cost"] == {"requested": cost(2), "limit": 5000}
    body = await gql(query, {"n": 90}, token=tenant.admin)
    assert body["extensions"]["cost"] == {"requested": cost(90), "limit": 5000}
    refused = await gql(query, {"n": 100}, token=tenant.admin)
    assert refused["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert refused["errors"][0]["extensions"]["found"] == cost(100)
    again = await gql(query, {"n": 2}, token=tenant.admin)
    assert again["extensions"]["cost"]["requested"] == cost(2)
