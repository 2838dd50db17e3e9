"""Webhook deliveries to a real receiving server: signed bodies shaped by the endpoint's
query, retries with backoff, no retry on a final 4xx, redelivery, restarts."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from models.types import utcnow
from server.webhooks import webhook_dispatcher
from services.config import Settings
from tests.portal.helpers import make_client
from tests.schema.test_invoices import create_invoice, send_invoice
from tests.server.webhook_helpers import (
    DELIVERIES,
    REDELIVER,
    Receiver,
    create_webhook,
    deliveries,
    partner_token,
    verify,
    webhook_settings,
)

RETRY_SECONDS = 0.05


@pytest.fixture
def settings(backend) -> Settings:
    return webhook_settings(
        backend.url, webhook_retry_seconds=RETRY_SECONDS, webhook_retry_max_seconds=1
    )


@pytest.fixture
def receiver():
    receiving = Receiver()
    yield receiving
    receiving.close()


async def relay(runtime) -> None:
    """Number the committed events, as the broker does after each commit."""
    await runtime.events.relay_once()


async def registered(gql, tenant, receiver, **fields):
    token = await partner_token(gql, tenant.admin)
    body = await create_webhook(gql, tenant.admin, token["id"], receiver.url, **fields)
    assert "errors" not in body, body
    return body["data"]["createWebhook"], token


async def sent_invoice(gql, tenant):
    client = await make_client(gql, tenant.admin)
    invoice = await create_invoice(gql, tenant.admin, client["id"])
    await send_invoice(gql, tenant.admin, invoice["id"])
    return client, invoice


async def until(predicate, dispatcher, seconds: float = 5) -> None:
    """Run passes until ``predicate()`` holds."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "gave up waiting"
        await dispatcher.run_once()
        await asyncio.sleep(RETRY_SECONDS)


async def test_a_sent_invoice_is_delivered_signed_and_shaped_by_the_query(
    runtime, tenant, gql, receiver
):
    # given an endpoint registered for a partner token
    created, _token = await registered(gql, tenant, receiver)
    secret = created["secret"]
    # when an invoice is created (a draft: partners never see it) and sent
    client, invoice = await sent_invoice(gql, tenant)
    await relay(runtime)
    dispatcher = webhook_dispatcher(runtime)
    await dispatcher.run_once()
    # then one signed delivery arrived: the sent event, shaped by the query
    (request,) = receiver.requests
    assert verify(secret, request.headers["Portico-Signature"], request.body)
    assert not verify(
        "whsec_wrong-secret-0123456789", request.headers["Portico-Signature"], request.body
    )
    body = request.json
    assert request.headers["Portico-Event-Id"] == body["id"]
    assert body["type"] == "invoice.sent"
    assert isinstance(body["created"], int)
    event = body["data"]["invoiceChanged"]
    assert event["kind"] == "SENT"
    assert event["invoice"]["id"] == invoice["id"]
    assert event["invoice"]["status"] == "SENT"
    assert event["invoice"]["client"] == {"id": client["id"], "name": "Smith & Co"}
    assert set(event) == {"cursor", "kind", "occurredAt", "invoice"}
    assert body["id"] == f"{tenant.account_id}:{event['cursor']}"
    # and the attempt is recorded
    data = await gql.data(DELIVERIES, {"id": created["webhook"]["id"]}, token=tenant.admin)
    (delivery,) = data["webhookDeliveries"]["nodes"]
    assert delivery["status"] == "SUCCEEDED"
    assert delivery["eventId"] == body["id"]
    assert json.loads(delivery["body"]) == body
    (attempt,) = delivery["attempts"]
    assert (attempt["succeeded"], attempt["statusCode"], attempt["nextRetryAt"]) == (
        True,
        200,
        None,
    )
    # and a second pass sends nothing more
    await dispatcher.run_once()
    assert len(receiver.requests) == 1


async def test_a_failing_endpoint_is_retried_with_backoff_until_it_accepts(
    runtime, tenant, gql, receiver
):
    # given an endpoint that fails with 500, then 429, then accepts
    receiver.statuses.extend([500, 429])
    created, _ = await registered(gql, tenant, receiver)
    await sent_invoice(gql, tenant)
    await relay(runtime)
    dispatcher = webhook_dispatcher(runtime)
    # when the dispatcher runs until it got through
    await until(lambda: len(receiver.requests) >= 3, dispatcher)
    # then the same event (same id, same body) was sent three times, each signed
    ids = {request.headers["Portico-Event-Id"] for request in receiver.requests}
    assert len(ids) == 1
    assert len({request.body for request in receiver.requests}) == 1
    data = await gql.data(DELIVERIES, {"id": created["webhook"]["id"]}, token=tenant.admin)
    (delivery,) = data["webhookDeliveries"]["nodes"]
    assert delivery["status"] == "SUCCEEDED"
    codes = [attempt["statusCode"] for attempt in delivery["attempts"]]
    assert codes == [500, 429, 200]
    first, second, _third = delivery["attempts"]
    assert first["nextRetryAt"] is not None
    assert first["error"] == "HTTP 500"
    assert second["nextRetryAt"] is not None


async def test_a_final_4xx_is_not_retried(runtime, tenant, gql, receiver):
    receiver.statuses.extend([400])
    created, _ = await registered(gql, tenant, receiver)
    await sent_invoice(gql, tenant)
    await relay(runtime)
    dispatcher = webhook_dispatcher(runtime)
    await dispatcher.run_once()
    await asyncio.sleep(RETRY_SECONDS * 4)
    await dispatcher.run_once(now=utcnow() + timedelta(hours=1))
    assert len(receiver.requests) == 1
    data = await gql.data(DELIVERIES, {"id": created["webhook"]["id"]}, token=tenant.admin)
    (delivery,) = data["webhookDeliveries"]["nodes"]
    assert (delivery["status"], delivery["nextAttemptAt"]) == ("FAILED", None)
    (attempt,) = delivery["attempts"]
    assert (attempt["statusCode"], attempt["nextRetryAt"]) == (400, None)
    # when an admin redelivers it, it is sent once more, with the same event id
    await gql.data(REDELIVER, {"id": delivery["id"]}, token=tenant.admin)
    await dispatcher.run_once()
    assert len(receiver.requests) == 2
    assert (
        receiver.requests[0].headers["Portico-Event-Id"]
        == receiver.requests[1].headers["Portico-Event-Id"]
    )
    data = await gql.data(DELIVERIES, {"id": created["webhook"]["id"]}, token=tenant.admin)
    assert data["webhookDeliveries"]["nodes"][0]["status"] == "SUCCEEDED"


async def test_deliveries_survive_a_restart(runtime, tenant, gql, receiver):
    # given deliveries created by one dispatcher whose endpoint was down
    receiver.statuses.extend([503])
    await registered(gql, tenant, receiver)
    await sent_invoice(gql, tenant)
    await relay(runtime)
    first = webhook_dispatcher(runtime)
    await first.create_deliveries()
    # one pass at a fixed time: the retry, due 50 ms after the attempt, is not due yet
    # however long the attempt took on a loaded machine
    await first.send_due(now=utcnow())
    assert len(receiver.requests) == 1
    # when a new process's dispatcher starts (the loop, as the server's lifespan runs it)
    restarted = webhook_dispatcher(runtime)
    await restarted.start()
    try:
        for _ in range(500):
            if len(receiver.requests) >= 2:
                break
            await asyncio.sleep(0.02)
    finally:
        await restarted.stop()
    # then the delivery left pending went out, once
    assert len(receiver.requests) == 2
    (delivery,) = await deliveries(runtime)
    assert delivery.status == "SUCCEEDED"
