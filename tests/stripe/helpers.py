"""Steps the Stripe tests share: connecting the account, a payable invoice, a running app
for localstripe's webhooks."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn

from server.app import create_app
from services.runtime import Runtime
from tests.smtp_server import free_port
from tests.stripe.server import PUBLISHABLE_KEY, SECRET_KEY, WEBHOOK_SECRET, signed

CONNECT = """
mutation($input: StripeConnectionInput!) {
  connectStripe(input: $input) { id stripeConnected stripePublishableKey stripeWebhookUrl }
}
"""
PAY = """
mutation($invoiceIds: [ID!]!, $amount: Decimal, $paymentMethodId: ID, $save: Boolean! = false) {
  payInvoices(
    invoiceIds: $invoiceIds, amount: $amount, paymentMethodId: $paymentMethodId,
    savePaymentMethod: $save
  ) {
    payment { id status amount }
    clientSecret publishableKey intentStatus amount totalDue
  }
}
"""
INVOICE = "query($id: ID!) { invoice(id: $id) { id status balance amountPaid paidState } }"
PAYMENT = "query($id: ID!) { payment(id: $id) { id status amount } }"


async def connect_stripe(gql: Any, admin: str) -> dict[str, Any]:
    keys = {
        "secretKey": SECRET_KEY,
        "publishableKey": PUBLISHABLE_KEY,
        "webhookSecret": WEBHOOK_SECRET,
    }
    account: dict[str, Any] = (await gql.data(CONNECT, {"input": keys}, token=admin))[
        "connectStripe"
    ]
    return account


def intent_of(client_secret: str) -> str:
    """The PaymentIntent id a client secret belongs to (``pi_…_secret_…``)."""
    return client_secret.split("_secret_")[0]


@asynccontextmanager
async def serving(runtime: Runtime) -> AsyncIterator[str]:
    """The app under uvicorn on a free port, in this event loop (same database)."""
    port = free_port()
    config = uvicorn.Config(
        create_app(runtime=runtime),
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_level="warning",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def eventually(check: Any, seconds: float = 10) -> Any:
    """Poll ``check()`` (async) until it returns something truthy."""
    async with asyncio.timeout(seconds):
        while not (value := await check()):  # noqa: ASYNC110 - polling another process
            await asyncio.sleep(0.1)
    return value


SETUP_INTENT = """
mutation($clientId: ID) {
  createSetupIntent(clientId: $clientId) { clientSecret publishableKey }
}
"""
PAYMENT_METHODS = """
query {
  paymentMethods {
    totalCount
    edges { node { id kind brand last4 expMonth expYear isDefault stripePaymentMethodId } }
  }
}
"""
CONTACT_PAYMENT_METHODS = """
query { paymentMethods { totalCount edges { node { id brand last4 expMonth expYear isDefault } } } }
"""


def stripe_event(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    """An event as Stripe builds it (``data.object``: the object when it happened)."""
    return {
        "id": f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "livemode": False,
        "api_version": "2024-06-20",
        "data": {"object": obj},
    }


async def post_stripe_event(
    http: Any, account_id: uuid.UUID, kind: str, obj: dict[str, Any]
) -> httpx.Response:
    body, headers = signed(stripe_event(kind, obj))
    response: httpx.Response = await http.post(
        f"/webhooks/stripe/{account_id}", content=body, headers=headers
    )
    return response


async def save_card(
    gql: Any,
    http: Any,
    localstripe: Any,
    account_id: uuid.UUID,
    token: str,
    card: str = "ok",
    *,
    client_id: str | None = None,
) -> str:
    """A card saved as a portal does it: ``createSetupIntent``, Stripe.js confirms it, and
    Stripe's ``setup_intent.succeeded`` arrives (posted as Stripe signs it: localstripe
    sends none). Answers the card's Stripe PaymentMethod id."""
    started = (await gql.data(SETUP_INTENT, {"clientId": client_id}, token=token))[
        "createSetupIntent"
    ]
    seti = started["clientSecret"].split("_secret_")[0]
    confirmed, pm = localstripe.confirm_setup(seti, card)
    assert confirmed.status_code == 200, confirmed.text
    answer = await post_stripe_event(
        http, account_id, "setup_intent.succeeded", localstripe.get(f"/v1/setup_intents/{seti}")
    )
    assert answer.json()["outcome"] == "applied", answer.text
    return str(pm)


async def methods_of(gql: Any, token: str) -> list[dict[str, Any]]:
    """The saved methods a contact sees, newest first."""
    data = await gql.data(CONTACT_PAYMENT_METHODS, token=token)
    return [edge["node"] for edge in data["paymentMethods"]["edges"]]
