"""Steps the Stripe tests share: connecting the account, a payable invoice, a running app
for localstripe's webhooks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn

from server.app import create_app
from services.runtime import Runtime
from tests.smtp_server import free_port
from tests.stripe.server import PUBLISHABLE_KEY, SECRET_KEY, WEBHOOK_SECRET

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
