"""Input rules every argument follows, whatever field it goes to: no control characters
in text, dates and datetimes only in the range the database stores and the code computes
with (datetimes with their offset), decimals only in plain ASCII notation. Each refusal is
``BAD_USER_INPUT`` before any resolver runs, with nothing written."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

CLIENTS = "{ clients { totalCount edges { node { name address contacts { email } } } } }"
CREATE_CLIENT = """
mutation($input: ClientInput!) { createClient(input: $input) { id name address } }
"""
PORTAL_LITERAL = 'query { portal(account: "de\\u0000mo") { name } }'
PORTAL = "query($account: String!) { portal(account: $account) { name } }"
CREATE_API_TOKEN = """
mutation($expiresAt: DateTime) {
  createApiToken(name: "Books", scopes: ["invoices:read"], expiresAt: $expiresAt) {
    token apiClient { expiresAt }
  }
}
"""
API_TOKENS = "{ apiTokens { id } }"
STATEMENT = """
query($clientId: ID, $from: Date!, $to: Date!) {
  statement(clientId: $clientId, from: $from, to: $to) { closingBalance }
}
"""
CREATE_INVOICE = """
mutation($input: InvoiceInput!) { createInvoice(input: $input) { id total } }
"""
INVOICES = "{ invoices { totalCount } }"
SEND_INVOICE = "mutation($id: ID!) { sendInvoice(id: $id) { id } }"
RECORD_PAYMENT = """
mutation($input: RecordPaymentInput!) { recordPayment(input: $input) { id } }
"""
REFUND_PAYMENT = """
mutation($id: ID!, $amount: Decimal!, $allocations: [AllocationInput!]) {
  refundPayment(id: $id, amount: $amount, allocations: $allocations) { id refundedAmount }
}
"""


def refusal(body):
    """The first error of a refused request: every error BAD_USER_INPUT, no data."""
    assert body.get("data") is None, body
    assert body["errors"], body
    for error in body["errors"]:
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    return body["errors"][0]


async def client_count(gql, tenant):
    return (await gql.data(CLIENTS, token=tenant.admin))["clients"]["totalCount"]


async def new_client(gql, tenant, name="Acme Corp"):
    data = await gql.data(CREATE_CLIENT, {"input": {"name": name}}, token=tenant.admin)
    return data["createClient"]["id"]


# --- control characters ------------------------------------------------------------------


async def test_a_nul_byte_in_a_literal_is_refused_for_anonymous_callers(gql, tenant):
    error = refusal(await gql(PORTAL_LITERAL))
    assert "U+0000" in error["message"]
    assert error["extensions"]["field"] == "account"


async def test_a_nul_byte_in_a_variable_is_refused_for_anonymous_callers(gql, tenant):
    error = refusal(await gql(PORTAL, {"account": "de\x00mo"}))
    assert "U+0000" in error["message"]
    assert error["extensions"]["field"] == "$account"
    # and the same slug without it is an ordinary answer
    assert (await gql.data(PORTAL, {"account": tenant.slug}))["portal"]["name"] == "Acme"


async def test_a_nul_byte_deep_in_a_staff_mutation_writes_nothing(gql, tenant):
    before = await client_count(gql, tenant)
    contacts = [{"email": "ok@acme.test"}, {"email": "b@acme.test", "firstName": "B\x00b"}]
    variables = {"input": {"name": "Acme Corp", "contacts": contacts}}
    error = refusal(await gql(CREATE_CLIENT, variables, token=tenant.admin))
    assert error["extensions"]["field"] == "$input.contacts.1.firstName"
    literal = (
        'mutation { createClient(input: {name: "Acme", contacts: [{email: "a@acme.test",'
        ' lastName: "x\\u0000"}]}) { id } }'
    )
    error = refusal(await gql(literal, token=tenant.admin))
    assert error["extensions"]["field"] == "input.contacts.0.lastName"
    assert await client_count(gql, tenant) == before


@pytest.mark.parametrize(
    ("character", "shown"),
    [("\x07", "U+0007"), ("\x1b", "U+001B"), ("\x7f", "U+007F"), ("\x85", "U+0085")],
)
async def test_other_control_characters_are_refused(gql, tenant, character, shown):
    variables = {"input": {"name": f"Acme{character}Corp"}}
    error = refusal(await gql(CREATE_CLIENT, variables, token=tenant.admin))
    assert shown in error["message"]
    assert await client_count(gql, tenant) == 0


async def test_an_unpaired_surrogate_is_refused(gql, tenant):
    # JSON may carry a lone surrogate ("\ud800"); no database can store it as text
    raw = '{"query": "mutation($input: ClientInput!) { createClient(input: $input) { id } }",'
    raw += ' "variables": {"input": {"name": "Acme \\ud800"}}}'
    response = await gql.http.post(
        "/graphql",
        content=raw,
        headers={"Authorization": f"Bearer {tenant.admin}", "Content-Type": "application/json"},
    )
    # (a strict JSON reader may already refuse the body; either way it is no 500)
    assert response.status_code in (200, 400), response.text
    if response.status_code == 200:
        error = refusal(response.json())
        assert "U+D800" in error["message"]
    else:
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert await client_count(gql, tenant) == 0


async def test_multi_line_text_keeps_its_newlines_and_tabs(gql, tenant):
    address = "1 Main Street\r\nSpringfield\n\tUSA"
    data = await gql.data(
        CREATE_CLIENT, {"input": {"name": "Acme Corp", "address": address}}, token=tenant.admin
    )
    assert data["createClient"]["address"] == address
    block = (
        'mutation { createClient(input: {name: "Beta", address: """Line 1\nLine 2\n\tLine 3"""})'
        " { address } }"
    )
    assert (await gql.data(block, token=tenant.admin))["createClient"]["address"] == (
        "Line 1\nLine 2\n\tLine 3"
    )
    lines = [{"description": "Design\nand build", "quantity": "1", "unitPrice": "10.00"}]
    client_id = await new_client(gql, tenant, "Gamma")
    await gql.data(
        CREATE_INVOICE,
        {"input": {"clientId": client_id, "lines": lines, "terms": "Net 30\nThanks"}},
        token=tenant.admin,
    )


# --- dates and datetimes -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("date_from", "date_to"),
    [("9995-01-02", "9999-12-31"), ("0001-01-01", "0001-01-02"), ("2999-06-01", "3000-01-01")],
)
async def test_a_statement_far_in_time_is_refused(gql, tenant, date_from, date_to):
    client_id = await new_client(gql, tenant)
    variables = {"clientId": client_id, "from": date_from, "to": date_to}
    error = refusal(await gql(STATEMENT, variables, token=tenant.admin))
    assert "1900-01-01" in error["message"]
    assert "2999-12-31" in error["message"]
    literal = (
        f'{{ statement(clientId: "{client_id}", from: "{date_from}", to: "{date_to}")'
        " { closingBalance } }"
    )
    error = refusal(await gql(literal, token=tenant.admin))
    assert "2999-12-31" in error["message"]


async def test_a_statement_at_the_ends_of_the_range_is_computed(gql, tenant):
    client_id = await new_client(gql, tenant)
    for date_from, date_to in [("2995-01-02", "2999-12-31"), ("1900-01-01", "1900-12-31")]:
        variables = {"clientId": client_id, "from": date_from, "to": date_to}
        data = await gql.data(STATEMENT, variables, token=tenant.admin)
        assert data["statement"]["closingBalance"] == "0.00"


@pytest.mark.parametrize(
    "text",
    [
        "2024-1-5",
        "20240105",
        "2024-W01-1",
        "\u0662\u0660\u0662\u0664-\u0660\u0661-\u0660\u0665",
        "2024-02-30",
    ],
)
async def test_a_date_is_written_as_yyyy_mm_dd(gql, tenant, text):
    client_id = await new_client(gql, tenant)
    variables = {"clientId": client_id, "from": "2024-01-01", "to": text}
    error = refusal(await gql(STATEMENT, variables, token=tenant.admin))
    assert "YYYY-MM-DD" in error["message"]


async def test_an_invoice_far_in_time_is_refused_and_not_written(gql, tenant):
    client_id = await new_client(gql, tenant)
    lines = [{"description": "Work", "quantity": "1", "unitPrice": "10.00"}]
    for field in ("issueDate", "dueDate"):
        variables = {"input": {"clientId": client_id, "lines": lines, field: "9999-12-31"}}
        refusal(await gql(CREATE_INVOICE, variables, token=tenant.admin))
    assert (await gql.data(INVOICES, token=tenant.admin))["invoices"]["totalCount"] == 0


@pytest.mark.parametrize(
    ("expires_at", "words"),
    [
        ("2030-01-01T00:00:00", "offset"),
        ("2030-01-01", "offset"),
        ("9999-12-31T23:59:59Z", "2999-12-31"),
        ("9999-12-31T23:59:59+00:00", "2999-12-31"),
        ("0001-01-01T00:00:00Z", "1900-01-01"),
        ("2030-13-01T00:00:00Z", "ISO 8601"),
        ("next tuesday", "ISO 8601"),
    ],
)
async def test_an_api_token_expiry_must_be_an_aware_datetime_in_range(
    gql, tenant, expires_at, words
):
    error = refusal(await gql(CREATE_API_TOKEN, {"expiresAt": expires_at}, token=tenant.admin))
    assert words in error["message"]
    literal = CREATE_API_TOKEN.replace("$expiresAt: DateTime", "").replace("($expiresAt)", "")
    literal = literal.replace("$expiresAt", json.dumps(expires_at))
    literal = literal.replace("mutation()", "mutation")
    refusal(await gql(literal, token=tenant.admin))
    assert (await gql.data(API_TOKENS, token=tenant.admin))["apiTokens"] == []


async def test_an_api_token_expiry_with_an_offset_is_kept_in_utc(gql, tenant):
    local = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    text = (local + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S") + "+01:00"
    data = await gql.data(CREATE_API_TOKEN, {"expiresAt": text}, token=tenant.admin)
    stored = datetime.fromisoformat(data["createApiToken"]["apiClient"]["expiresAt"])
    assert stored == local
    assert stored.utcoffset() == timedelta(0)
    zulu = (local + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"
    await gql.data(CREATE_API_TOKEN, {"expiresAt": zulu}, token=tenant.admin)


# --- decimals ------------------------------------------------------------------------------


def line_input(client_id, quantity, unit_price="10.00"):
    lines = [{"description": "Work", "quantity": quantity, "unitPrice": unit_price}]
    return {"input": {"clientId": client_id, "lines": lines}}


@pytest.mark.parametrize(
    "quantity",
    [
        "1_000",
        "\u0661\u0662\u0663",
        "1e3",
        "1E3",
        "NaN",
        "Infinity",
        "-Infinity",
        "sNaN",
        " 1",
        "1.",
        ".5",
        "+1",
        "0x10",
        "1,5",
        "",
        "1.00000000000000000000000000001",
    ],
)
async def test_a_decimal_is_plain_ascii_notation(gql, tenant, quantity):
    client_id = await new_client(gql, tenant)
    error = refusal(await gql(CREATE_INVOICE, line_input(client_id, quantity), token=tenant.admin))
    assert "Decimal" in error["message"]
    assert (await gql.data(INVOICES, token=tenant.admin))["invoices"]["totalCount"] == 0


@pytest.mark.parametrize("quantity", ["1e3", "1_000", "NaN"])
async def test_a_decimal_literal_in_plain_notation_only(gql, tenant, quantity):
    client_id = await new_client(gql, tenant)
    document = (
        f'mutation {{ createInvoice(input: {{clientId: "{client_id}", lines: [{{description: "W",'
        f' quantity: {json.dumps(quantity)}, unitPrice: "1.00"}}]}}) {{ id }} }}'
    )
    refusal(await gql(document, token=tenant.admin))
    exponent = document.replace('quantity: "1e3"', "quantity: 1e3")
    refusal(await gql(exponent, token=tenant.admin))
    assert (await gql.data(INVOICES, token=tenant.admin))["invoices"]["totalCount"] == 0


@pytest.mark.parametrize("quantity", [1.5, 0.1, 1e3, True])
async def test_a_json_float_or_boolean_is_no_decimal(gql, tenant, quantity):
    client_id = await new_client(gql, tenant)
    error = refusal(await gql(CREATE_INVOICE, line_input(client_id, quantity), token=tenant.admin))
    assert "string" in error["message"]
    assert (await gql.data(INVOICES, token=tenant.admin))["invoices"]["totalCount"] == 0


async def test_plain_decimals_json_integers_and_number_literals_are_accepted(gql, tenant):
    client_id = await new_client(gql, tenant)
    for quantity, unit_price, total in [
        ("2.5", "10.00", "25.00"),
        (3, "-0", "0.00"),
        ("0003", 2, "6.00"),
    ]:
        data = await gql.data(
            CREATE_INVOICE, line_input(client_id, quantity, unit_price), token=tenant.admin
        )
        assert data["createInvoice"]["total"] == total
    document = (
        f'mutation {{ createInvoice(input: {{clientId: "{client_id}", lines: [{{description: "W",'
        " quantity: 1.5, unitPrice: 4}]}) { total } }"
    )
    assert (await gql.data(document, token=tenant.admin))["createInvoice"]["total"] == "6.00"


# --- amounts in messages -----------------------------------------------------------------


async def test_refusal_messages_show_amounts_at_the_currency_precision(gql, tenant):
    # given a payment of 100.00: 60.00 on an invoice, 40.00 unapplied
    client_id = await new_client(gql, tenant)
    lines = [{"description": "Work", "quantity": "1", "unitPrice": "60.00"}]
    invoice = await gql.data(
        CREATE_INVOICE, {"input": {"clientId": client_id, "lines": lines}}, token=tenant.admin
    )
    invoice_id = invoice["createInvoice"]["id"]
    await gql.data(SEND_INVOICE, {"id": invoice_id}, token=tenant.admin)
    payment_input = {
        "clientId": client_id,
        "amount": "100.00",
        "method": "BANK_TRANSFER",
        "allocations": [{"invoiceId": invoice_id, "amount": "60.00"}],
    }
    payment = await gql.data(RECORD_PAYMENT, {"input": payment_input}, token=tenant.admin)
    payment_id = payment["recordPayment"]["id"]
    # when more than the payment is refunded
    error = refusal(
        await gql(REFUND_PAYMENT, {"id": payment_id, "amount": "100.01"}, token=tenant.admin)
    )
    # then the message shows 100.00, not the stored 100.0000
    assert error["message"] == "At most $100.00 can still be refunded."
    # and once the invoice's share is refunded, nothing more can be taken from it
    share = [{"invoiceId": invoice_id, "amount": "60.00"}]
    variables = {"id": payment_id, "amount": "60.00", "allocations": share}
    await gql.data(REFUND_PAYMENT, variables, token=tenant.admin)
    share = [{"invoiceId": invoice_id, "amount": "10.00"}]
    variables = {"id": payment_id, "amount": "10.00", "allocations": share}
    error = refusal(await gql(REFUND_PAYMENT, variables, token=tenant.admin))
    assert error["message"] == "This payment holds only $0.00 on that invoice."


# --- the same rules in the services (for callers that are not the GraphQL schema) -------


def test_services_refuse_far_dates_and_naive_datetimes_themselves():
    from datetime import date

    from services.errors import BadInput
    from services.statements import check_period
    from services.validation import check_datetime

    with pytest.raises(BadInput) as refused:
        check_period(date(9995, 1, 2), date(9999, 12, 31))
    assert refused.value.field == "from"
    with pytest.raises(BadInput):
        check_period(date(2999, 1, 1), date(3000, 1, 1))
    with pytest.raises(BadInput, match="offset"):
        check_datetime(datetime(2030, 1, 1), field="expiresAt")  # noqa: DTZ001 - naive on purpose
    with pytest.raises(BadInput):
        check_datetime(datetime(9999, 12, 31, tzinfo=UTC), field="expiresAt")
    eastern = datetime.fromisoformat("2030-01-01T00:00:00-05:00")
    assert check_datetime(eastern, field="expiresAt") == datetime(2030, 1, 1, 5, tzinfo=UTC)


async def test_a_nul_byte_over_a_websocket_is_refused_too(runtime, tenant):
    from tests.portal.test_revocation import open_socket

    async with open_socket(runtime, tenant.admin) as ws:
        payload = {"query": PORTAL, "variables": {"account": "de\x00mo"}}
        await ws.send_json({"id": "1", "type": "subscribe", "payload": payload})
        answer = await ws.receive_json()
        error = refusal(answer["payload"])
        assert error["extensions"]["field"] == "$account"


CLIENTS_AFTER = "query($after: String) { clients(first: 1, after: $after) { totalCount } }"


@pytest.mark.parametrize(
    "moment",
    ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "2024-01-01T00:00:00"],
)
async def test_a_crafted_cursor_far_in_time_is_an_invalid_cursor(gql, tenant, moment):
    # given a cursor made by hand, not by the server
    await new_client(gql, tenant)
    raw = f"{moment}|{'0' * 32}".encode()
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    # when it is used to page
    body = await gql(CLIENTS_AFTER, {"after": cursor}, token=tenant.admin)
    # then it is refused as a bad cursor, not a 500
    error = refusal(body)
    assert error["message"] == "Invalid cursor."
    assert error["extensions"]["field"] == "after"
