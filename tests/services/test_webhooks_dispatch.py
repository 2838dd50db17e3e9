"""Creating deliveries: exactly once per endpoint and event, also with several
dispatchers at once; only what the token may see, pruned to its query; endpoints
disabled when they fail for the retry window or lose their token."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from models.activity import Activity
from models.mail import MailMessage
from models.types import utcnow
from models.webhooks import Webhook, WebhookAttempt, WebhookDelivery
from server.webhooks import webhook_dispatcher
from services.config import Settings
from services.db import create_engine
from services.runtime import Runtime
from tests.portal.helpers import make_client
from tests.schema.test_invoices import create_invoice, send_invoice
from tests.server.webhook_helpers import (
    WEBHOOKS,
    Receiver,
    create_webhook,
    deliveries,
    partner_token,
    webhook_settings,
)

VOID = "mutation($id: ID!) { voidInvoice(id: $id) { id } }"
REVOKE = "mutation($id: ID!) { revokeApiToken(id: $id) { id } }"


@pytest.fixture
def settings(backend) -> Settings:
    return webhook_settings(backend.url, webhook_retry_seconds=0.01)


@pytest.fixture
def receiver():
    receiving = Receiver()
    yield receiving
    receiving.close()


async def registered(gql, tenant, url, query=None):
    token = await partner_token(gql, tenant.admin)
    fields = {} if query is None else {"query": query}
    body = await create_webhook(gql, tenant.admin, token["id"], url, **fields)
    assert "errors" not in body, body
    return body["data"]["createWebhook"]["webhook"], token


async def test_two_dispatchers_create_each_delivery_exactly_once(
    runtime, tenant, gql, receiver, backend, settings
):
    # given two endpoints and many sent invoices (each a draft first: not for partners)
    first, _ = await registered(gql, tenant, receiver.url)
    second, _ = await registered(gql, tenant, receiver.url)
    client = await make_client(gql, tenant.admin)
    for _ in range(12):
        invoice = await create_invoice(gql, tenant.admin, client["id"])
        await send_invoice(gql, tenant.admin, invoice["id"])
    await runtime.events.relay_once()
    # when two instances (each its own engine and dispatcher) create deliveries at once
    other = Runtime.build(settings, create_engine(backend.url, **backend.engine_kwargs))
    try:
        ours, theirs = webhook_dispatcher(runtime), webhook_dispatcher(other)
        await asyncio.gather(*(d.create_deliveries() for d in (ours, theirs, ours, theirs)))
        await asyncio.gather(ours.create_deliveries(), theirs.create_deliveries())
    finally:
        await other.engine.dispose()
    # then each endpoint has exactly one delivery per sent event, in sequence order
    rows = await deliveries(runtime)
    for webhook in (first, second):
        mine = [row for row in rows if str(row.webhook_id) == webhook["id"]]
        assert len(mine) == 12
        assert len({row.sequence for row in mine}) == 12
        assert {row.kind for row in mine} == {"invoice.sent"}
        assert len({row.event_id for row in mine}) == 12
    async with runtime.sessions() as session:
        cursors = {w.last_sequence for w in (await session.exec(select(Webhook))).all()}
    assert cursors == {max(row.sequence for row in rows)}


async def test_a_partner_gets_no_drafts_or_voids_and_only_the_fields_it_asked_for(
    runtime, tenant, gql, receiver
):
    # given an endpoint asking for two invoice fields only
    query = "subscription { invoiceChanged { kind invoice { number status } } }"
    await registered(gql, tenant, receiver.url, query)
    client = await make_client(gql, tenant.admin)
    # when a draft is created and voided, and another invoice is created and sent
    draft = await create_invoice(gql, tenant.admin, client["id"])
    await gql.data(VOID, {"id": draft["id"]}, token=tenant.admin)
    invoice = await create_invoice(gql, tenant.admin, client["id"])
    sent = await send_invoice(gql, tenant.admin, invoice["id"])
    await runtime.events.relay_once()
    await webhook_dispatcher(runtime).run_once()
    # then only the sending arrived, with exactly the fields selected
    (request,) = receiver.requests
    assert request.json["type"] == "invoice.sent"
    assert request.json["data"] == {
        "invoiceChanged": {"kind": "SENT", "invoice": {"number": sent["number"], "status": "SENT"}}
    }


async def test_a_client_narrowed_endpoint_gets_that_clients_invoices_only(
    runtime, tenant, gql, receiver
):
    ours = await make_client(gql, tenant.admin)
    theirs = await make_client(
        gql,
        tenant.admin,
        name="Other Ltd",
        contacts=[{"email": "o@other.test", "firstName": "O", "role": "BILLING"}],
    )
    query = f'subscription {{ invoiceChanged(clientId: "{ours["id"]}") {{ invoice {{ id }} }} }}'
    webhook, _ = await registered(gql, tenant, receiver.url, query)
    assert webhook["clientId"] == ours["id"]
    for client in (theirs, ours):
        invoice = await create_invoice(gql, tenant.admin, client["id"])
        await send_invoice(gql, tenant.admin, invoice["id"])
    await runtime.events.relay_once()
    await webhook_dispatcher(runtime).run_once()
    (request,) = receiver.requests
    assert request.json["data"]["invoiceChanged"]["invoice"]["id"] == invoice["id"]


async def test_an_endpoint_failing_for_three_days_is_disabled_and_admins_are_mailed(
    runtime, tenant, gql, receiver
):
    # given an endpoint that always fails, with a delivery tried once
    receiver.statuses.extend([500] * 10)
    webhook, _ = await registered(gql, tenant, receiver.url)
    client = await make_client(gql, tenant.admin)
    invoice = await create_invoice(gql, tenant.admin, client["id"])
    await send_invoice(gql, tenant.admin, invoice["id"])
    await runtime.events.relay_once()
    dispatcher = webhook_dispatcher(runtime)
    await dispatcher.create_deliveries()
    await dispatcher.send_due(now=utcnow())  # one round: the retry is not due yet
    assert len(receiver.requests) == 1
    # when that first failure was three days ago (and the delivery as old)
    long_ago = utcnow() - timedelta(days=3, minutes=1)
    async with runtime.sessions() as session:
        await session.exec(update(WebhookAttempt).values(attempted_at=long_ago))
        await session.exec(update(WebhookDelivery).values(created_at=long_ago))
        await session.commit()
    # and the retry fails too
    await dispatcher.run_once(now=utcnow() + timedelta(minutes=5))
    assert len(receiver.requests) == 2
    # then the endpoint is off, says why, and every admin was mailed
    (listed,) = (await gql.data(WEBHOOKS, token=tenant.admin))["webhooks"]
    assert listed["enabled"] is False
    assert "failed since" in listed["disabledReason"]
    async with runtime.sessions() as session:
        mails = (
            await session.exec(
                select(MailMessage).where(MailMessage.template == "webhook_disabled")
            )
        ).all()
        entries = (
            await session.exec(select(Activity).where(col(Activity.verb) == "webhook.disabled"))
        ).all()
        (delivery,) = (await session.exec(select(WebhookDelivery))).all()
    assert sorted(mail.to_address for mail in mails) == ["admin@acme.test", "owner@acme.test"]
    assert receiver.url in mails[0].text_body
    assert len(entries) == 1
    assert delivery.status == "FAILED"  # past the retry window: given up
    # and nothing more is sent to it
    await dispatcher.run_once(now=utcnow() + timedelta(hours=7))
    assert len(receiver.requests) == 2
    assert webhook["id"] == str(delivery.webhook_id)


async def test_a_success_in_between_keeps_the_endpoint_on(runtime, tenant, gql, receiver):
    receiver.statuses.extend([500, 200, 500])
    await registered(gql, tenant, receiver.url)
    client = await make_client(gql, tenant.admin)
    for _ in range(2):
        invoice = await create_invoice(gql, tenant.admin, client["id"])
        await send_invoice(gql, tenant.admin, invoice["id"])
    await runtime.events.relay_once()
    dispatcher = webhook_dispatcher(runtime)
    await dispatcher.create_deliveries()
    await dispatcher.send_due(now=utcnow())  # both tried once: 500, 200
    assert len(receiver.requests) == 2
    long_ago = utcnow() - timedelta(days=4)
    async with runtime.sessions() as session:
        await session.exec(
            update(WebhookAttempt)
            .where(~col(WebhookAttempt.succeeded))
            .values(attempted_at=long_ago)
        )
        await session.commit()
    await dispatcher.run_once(now=utcnow() + timedelta(minutes=5))  # the retry: 500
    (listed,) = (await gql.data(WEBHOOKS, token=tenant.admin))["webhooks"]
    assert listed["enabled"] is True  # failing only since the last success, moments ago


async def test_a_revoked_token_turns_its_endpoint_off(runtime, tenant, gql, receiver):
    _webhook, token = await registered(gql, tenant, receiver.url)
    await gql.data(REVOKE, {"id": token["id"]}, token=tenant.admin)
    client = await make_client(gql, tenant.admin)
    invoice = await create_invoice(gql, tenant.admin, client["id"])
    await send_invoice(gql, tenant.admin, invoice["id"])
    await runtime.events.relay_once()
    await webhook_dispatcher(runtime).run_once()
    assert receiver.requests == []
    (listed,) = (await gql.data(WEBHOOKS, token=tenant.admin))["webhooks"]
    assert listed["enabled"] is False
    assert "revoked" in listed["disabledReason"]
    assert await deliveries(runtime) == []


async def test_an_endpoint_turned_off_gets_nothing_of_that_time(runtime, tenant, gql, receiver):
    webhook, _ = await registered(gql, tenant, receiver.url)
    update_doc = """
    mutation($id: ID!, $on: Boolean!) { updateWebhook(id: $id, input: { enabled: $on }) { id } }
    """
    await gql.data(update_doc, {"id": webhook["id"], "on": False}, token=tenant.admin)
    client = await make_client(gql, tenant.admin)
    missed = await create_invoice(gql, tenant.admin, client["id"])
    await send_invoice(gql, tenant.admin, missed["id"])
    await runtime.events.relay_once()
    dispatcher = webhook_dispatcher(runtime)
    await dispatcher.run_once()
    await gql.data(update_doc, {"id": webhook["id"], "on": True}, token=tenant.admin)
    later = await create_invoice(gql, tenant.admin, client["id"])
    await send_invoice(gql, tenant.admin, later["id"])
    await runtime.events.relay_once()
    await dispatcher.run_once()
    (request,) = receiver.requests
    assert json.loads(request.body)["data"]["invoiceChanged"]["invoice"]["id"] == later["id"]
