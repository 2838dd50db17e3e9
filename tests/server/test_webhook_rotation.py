"""Webhook upkeep: rotating an endpoint's secret without a gap (both secrets sign for
the overlap), pruning finished deliveries after the events' retention, and deliveries
made as soon as their events are numbered rather than at the next poll."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from models.types import utcnow
from models.webhooks import WebhookDelivery
from server.webhooks import webhook_dispatcher
from services.config import Settings
from tests.schema.test_invoices import create_invoice, send_invoice
from tests.server.test_webhook_delivery import registered, relay, sent_invoice
from tests.server.webhook_helpers import Receiver, deliveries, verify, webhook_settings

ROTATE = """
mutation($id: ID!, $secret: String, $hours: Int!) {
  rotateWebhookSecret(id: $id, secret: $secret, expireCurrentInHours: $hours) {
    secret webhook { id previousSecretExpiresAt }
  }
}
"""
SECRET_B = "whsec_the-new-secret-0123456789"


@pytest.fixture
def settings(backend) -> Settings:
    return webhook_settings(
        backend.url,
        webhook_retry_seconds=30,  # a refused delivery waits: not retried within a pass
        webhook_poll_seconds=60,  # long: only a kick can explain a prompt delivery
        event_poll_seconds=60,
    )


@pytest.fixture
def receiver():
    receiving = Receiver()
    yield receiving
    receiving.close()


async def rotate(gql, tenant, webhook_id, hours, secret=None):
    return await gql(
        ROTATE, {"id": webhook_id, "secret": secret, "hours": hours}, token=tenant.admin
    )


async def test_a_rotated_secret_signs_beside_the_old_one_until_the_overlap_ends(
    runtime, tenant, gql, receiver
):
    # given an endpoint with secret A
    created, _token = await registered(gql, tenant, receiver)
    old = created["secret"]
    # when the admin rotates it, keeping A for 24 hours
    before = utcnow()
    body = await rotate(gql, tenant, created["webhook"]["id"], 24)
    rotated = body["data"]["rotateWebhookSecret"]
    new = rotated["secret"]
    # then a new secret is answered, once, with when A stops signing
    assert new != old
    assert new.startswith("whsec_")
    expires = datetime.fromisoformat(rotated["webhook"]["previousSecretExpiresAt"])
    assert before + timedelta(hours=24) <= expires <= utcnow() + timedelta(hours=24)
    # and a delivery during the overlap verifies with either secret
    client, _invoice = await sent_invoice(gql, tenant)
    await relay(runtime)
    dispatcher = webhook_dispatcher(runtime)
    await dispatcher.run_once()
    (during,) = receiver.requests
    header = during.headers["Portico-Signature"]
    assert header.count("v1=") == 2
    assert verify(new, header, during.body)
    assert verify(old, header, during.body)
    # and one attempted after the overlap verifies with the new secret only
    receiver.statuses.append(503)
    invoice = await create_invoice(gql, tenant.admin, client["id"])
    await send_invoice(gql, tenant.admin, invoice["id"])
    await relay(runtime)
    await dispatcher.run_once()  # refused: retried later
    await dispatcher.run_once(now=utcnow() + timedelta(hours=25))
    after = receiver.requests[-1]
    assert after.json["data"]["invoiceChanged"]["invoice"]["id"] == invoice["id"]
    assert after.headers["Portico-Signature"].count("v1=") == 1
    assert verify(new, after.headers["Portico-Signature"], after.body)
    assert not verify(old, after.headers["Portico-Signature"], after.body)


async def test_a_rotation_without_overlap_ends_the_old_secret_at_once(
    runtime, tenant, gql, receiver
):
    created, _token = await registered(gql, tenant, receiver)
    old = created["secret"]
    body = await rotate(gql, tenant, created["webhook"]["id"], 0, secret=SECRET_B)
    assert body["data"]["rotateWebhookSecret"]["secret"] == SECRET_B
    assert body["data"]["rotateWebhookSecret"]["webhook"]["previousSecretExpiresAt"] is None
    await sent_invoice(gql, tenant)
    await relay(runtime)
    await webhook_dispatcher(runtime).run_once()
    (request,) = receiver.requests
    assert verify(SECRET_B, request.headers["Portico-Signature"], request.body)
    assert not verify(old, request.headers["Portico-Signature"], request.body)


@pytest.mark.parametrize(
    ("hours", "secret", "field"),
    [
        (169, None, "expireCurrentInHours"),
        (-1, None, "expireCurrentInHours"),
        (24, "short", "secret"),
    ],
)
async def test_bad_rotations_are_refused_and_change_nothing(
    runtime, tenant, gql, receiver, hours, secret, field
):
    created, _token = await registered(gql, tenant, receiver)
    body = await rotate(gql, tenant, created["webhook"]["id"], hours, secret=secret)
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == field
    await sent_invoice(gql, tenant)
    await relay(runtime)
    await webhook_dispatcher(runtime).run_once()
    (request,) = receiver.requests
    assert request.headers["Portico-Signature"].count("v1=") == 1
    assert verify(created["secret"], request.headers["Portico-Signature"], request.body)


async def test_the_current_secret_cannot_be_rotated_to_itself(runtime, tenant, gql, receiver):
    created, _token = await registered(gql, tenant, receiver)
    body = await rotate(gql, tenant, created["webhook"]["id"], 24, secret=created["secret"])
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_finished_deliveries_are_pruned_after_retention_and_due_ones_kept(
    runtime, tenant, gql, receiver
):
    # given two deliveries, one accepted and one refused (due again later)
    await registered(gql, tenant, receiver)
    receiver.statuses.extend([200, 503])
    client, _first = await sent_invoice(gql, tenant)
    second = await create_invoice(gql, tenant.admin, client["id"])
    await send_invoice(gql, tenant.admin, second["id"])
    await relay(runtime)
    dispatcher = webhook_dispatcher(runtime)
    await dispatcher.run_once()
    assert sorted(d.status for d in await deliveries(runtime)) == ["PENDING", "SUCCEEDED"]
    # when both are older than the retention (30 days) and the dispatcher prunes
    async with runtime.sessions() as session:
        await session.exec(update(WebhookDelivery).values(created_at=utcnow() - timedelta(days=31)))
        await session.commit()
    assert await dispatcher.prune() == 1
    # then the finished one is gone (with its attempt) and the due one is kept
    (kept,) = await deliveries(runtime)
    assert kept.status == "PENDING"
    assert await dispatcher.prune() == 0


async def test_a_committed_event_is_delivered_without_waiting_for_the_poll(
    runtime, tenant, gql, receiver
):
    # given the broker and the dispatcher running as in a server, both polling rarely
    await runtime.events.start()
    dispatcher = webhook_dispatcher(runtime)
    await dispatcher.start()
    try:
        await registered(gql, tenant, receiver)
        await asyncio.sleep(0.3)  # the pass the registration kicked is over
        # when an invoice is sent
        await sent_invoice(gql, tenant)
        # then the delivery arrives at once: the relay's numbering kicks the dispatcher
        for _ in range(250):
            if receiver.requests:
                break
            await asyncio.sleep(0.02)
    finally:
        await dispatcher.stop()
        await runtime.events.stop()
    (request,) = receiver.requests
    assert request.json["type"] == "invoice.sent"


async def test_fifteen_concurrent_rotations_leave_one_current_and_one_previous_secret(
    runtime, tenant, gql, receiver
):
    # given an endpoint, rotated 15 times at once (each keeping the current one a day)
    created, _token = await registered(gql, tenant, receiver)
    webhook_id = created["webhook"]["id"]
    bodies = await asyncio.gather(*(rotate(gql, tenant, webhook_id, 24) for _ in range(15)))
    # then every rotation answered its own new secret (one after the other, none lost)
    answered = [body["data"]["rotateWebhookSecret"]["secret"] for body in bodies]
    assert all("errors" not in body for body in bodies)
    assert len(set(answered)) == 15
    # and a delivery is signed by exactly two of the secrets ever issued: the last
    # rotation's and the one it replaced
    await sent_invoice(gql, tenant)
    await relay(runtime)
    await webhook_dispatcher(runtime).run_once()
    (request,) = receiver.requests
    header = request.headers["Portico-Signature"]
    issued = [created["secret"], *answered]
    signing = [secret for secret in issued if verify(secret, header, request.body)]
    assert len(signing) == 2
    assert header.count("v1=") == 2
