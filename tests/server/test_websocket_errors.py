"""Every error sent over a WebSocket carries an ``extensions.code`` (issue 9), on
graphql-transport-ws and on the legacy graphql-ws protocol. There is no Subscription
root yet: queries and mutations run over ``subscribe`` messages."""

from __future__ import annotations

import pytest

from server.encoding import with_codes
from tests.conftest import PASSWORD
from tests.server.limit_helpers import websocket
from tests.server.ws_paths import ws_path  # noqa: F401 (the fixture)

pytestmark = pytest.mark.usefixtures("ws_path")

SIGN_IN = """
mutation($email: String!, $password: String!) {
  signIn(email: $email, password: $password) { token }
}
"""


def codes_of(errors):
    return [error["extensions"]["code"] for error in errors]


async def acknowledged(ws):
    assert (await ws.receive_json())["type"] == "connection_ack"


async def test_a_validation_error_has_its_code(runtime):
    async with websocket(runtime) as ws:
        await acknowledged(ws)
        await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": "{ nope }"}})
        answer = await ws.receive_json()
        assert answer["type"] == "error"
        assert codes_of(answer["payload"]) == ["GRAPHQL_VALIDATION_FAILED"]
        # the connection lives on
        await ws.send_json({"id": "2", "type": "subscribe", "payload": {"query": "{ __typename }"}})
        answer = await ws.receive_json()
        assert (answer["id"], answer["type"]) == ("2", "next")
        assert answer["payload"]["data"] == {"__typename": "Query"}
        assert "errors" not in answer["payload"]


async def test_a_resolver_error_in_a_result_has_its_code(runtime, tenant):
    async with websocket(runtime) as ws:
        await acknowledged(ws)
        variables = {"email": "admin@acme.test", "password": "wrong-Password-1"}
        await ws.send_json(
            {"id": "1", "type": "subscribe", "payload": {"query": SIGN_IN, "variables": variables}}
        )
        answer = await ws.receive_json()
        assert answer["type"] == "next"
        assert codes_of(answer["payload"]["errors"]) == ["UNAUTHENTICATED"]
        variables["password"] = PASSWORD
        await ws.receive_json()  # complete
        await ws.send_json(
            {"id": "2", "type": "subscribe", "payload": {"query": SIGN_IN, "variables": variables}}
        )
        answer = await ws.receive_json()
        assert answer["payload"]["data"]["signIn"]["token"]


async def test_a_bad_variable_has_its_code(runtime):
    query = "query($show: Boolean!) { __typename @include(if: $show) }"
    async with websocket(runtime) as ws:
        await acknowledged(ws)
        payload = {"query": query, "variables": {"show": "many"}}
        await ws.send_json({"id": "1", "type": "subscribe", "payload": payload})
        answer = await ws.receive_json()
        assert answer["type"] == "next"
        assert answer["payload"]["data"] is None
        assert codes_of(answer["payload"]["errors"]) == ["BAD_USER_INPUT"]


async def test_legacy_protocol_errors_have_codes(runtime):
    async with websocket(runtime, protocol="graphql-ws") as ws:
        await acknowledged(ws)
        # graphql-ws runs subscriptions only: a query is refused, with a code
        await ws.send_json({"id": "1", "type": "start", "payload": {"query": "{ __typename }"}})
        answer = await ws.receive_json()
        assert answer["type"] == "error"
        assert answer["id"] == "1"
        assert answer["payload"]["extensions"]["code"] == "BAD_REQUEST"
        await ws.send_json(
            {"id": "2", "type": "start", "payload": {"query": "subscription { nope }"}}
        )
        answer = await ws.receive_json()
        assert answer["type"] == "error"
        assert answer["payload"]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED", answer


async def test_legacy_connection_errors_have_codes(runtime):
    async with websocket(
        runtime, protocol="graphql-ws", payload={"Authorization": "Bearer forged"}
    ) as ws:
        answer = await ws.receive_json()
        assert answer["type"] == "connection_error"
        assert answer["payload"]["code"] == "UNAUTHENTICATED"
        assert answer["payload"]["extensions"] == {"code": "UNAUTHENTICATED"}
    async with websocket(runtime, protocol="graphql-ws", payload="not an object") as ws:
        answer = await ws.receive_json()
        assert answer["type"] == "connection_error"
        assert answer["payload"]["extensions"] == {"code": "BAD_REQUEST"}


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        # built by Strawberry's protocol handlers, without a code
        (
            {"id": "1", "type": "error", "payload": [{"message": "Subscription limit reached"}]},
            [
                {
                    "message": "Subscription limit reached",
                    "extensions": {"code": "TOO_MANY_SUBSCRIPTIONS"},
                }
            ],
        ),
        (
            {"id": "1", "type": "error", "payload": {"message": "Subscription limit reached"}},
            {
                "message": "Subscription limit reached",
                "extensions": {"code": "TOO_MANY_SUBSCRIPTIONS"},
            },
        ),
        # a code already given is kept
        (
            {
                "id": "1",
                "type": "next",
                "payload": {
                    "data": None,
                    "errors": [{"message": "x", "extensions": {"code": "FORBIDDEN"}}],
                },
            },
            {"data": None, "errors": [{"message": "x", "extensions": {"code": "FORBIDDEN"}}]},
        ),
    ],
)
def test_protocol_errors_get_a_code(message, expected):
    assert with_codes(message)["payload"] == expected
