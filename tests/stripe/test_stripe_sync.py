"""``portico stripe-sync`` (issue 12, item 3): the events missed while the server was
down, listed from a real localstripe (``GET /v1/events`` through the official library)
and handled through the same store-once path as the webhooks — the sync on both
databases, the command itself in its own process on SQLite (the PostgreSQL tests run in
a schema of their own, which the command's ``PORTICO_DATABASE_URL`` cannot name)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.stripe_gateway.sync import sync_accounts
from tests.conftest import SECRET
from tests.stripe.helpers import PAY, intent_of
from tests.stripe.test_card_payments import paying, status_of, stored_events

ROOT = Path(__file__).resolve().parents[2]


async def stripe_sync(settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTICO_")}
    env |= {
        "PORTICO_ENVIRONMENT": "test",
        "PORTICO_SECRET_KEY": SECRET,
        "PORTICO_DATABASE_URL": settings.database_url,
        "PORTICO_STRIPE_API_BASE": settings.stripe_api_base,
        "PORTICO_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "server.cli", "stripe-sync", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def charged_while_nobody_listened(gql, runtime, tenant, localstripe) -> str:
    _client, contact, invoice = await paying(gql, runtime, tenant)
    started = (await gql.data(PAY, {"invoiceIds": [invoice]}, token=contact))["payInvoices"]
    assert localstripe.confirm(intent_of(started["clientSecret"]), "ok").status_code == 200
    payment_id: str = started["payment"]["id"]
    assert await status_of(gql, tenant, payment_id) == "PENDING"
    return payment_id


async def test_the_sync_applies_a_payment_whose_webhook_never_came_once(
    gql, tenant, runtime, localstripe
):
    payment_id = await charged_while_nobody_listened(gql, runtime, tenant, localstripe)
    (report,) = await sync_accounts(runtime)
    assert report.outcomes["applied"] == 1
    assert await status_of(gql, tenant, payment_id) == "COMPLETED"
    (again,) = await sync_accounts(runtime)
    assert "applied" not in again.outcomes
    assert again.outcomes["duplicate"] == report.listed
    assert await status_of(gql, tenant, payment_id) == "COMPLETED"


async def test_the_stripe_sync_command(gql, tenant, runtime, settings, backend, localstripe):
    if backend.name == "postgres":
        pytest.skip("the command connects by URL only; the sync itself runs on both above")
    # given a card payment Stripe charged while no Portico was listening
    payment_id = await charged_while_nobody_listened(gql, runtime, tenant, localstripe)
    started = {"payment": {"id": payment_id}}
    # when the sync runs
    ran = await stripe_sync(settings)
    # then the payment is applied, through the event Stripe kept
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("acme: "), ran.stdout
    assert "1 applied" in ran.stdout
    assert await status_of(gql, tenant, started["payment"]["id"]) == "COMPLETED"
    stored = {event.type: event.outcome for event in await stored_events(runtime)}
    assert stored["payment_intent.succeeded"] == "applied"
    # and running it again changes nothing
    again = await stripe_sync(settings, "--account", "acme")
    assert again.returncode == 0, again.stderr
    assert "applied" not in again.stdout
    assert "duplicate" in again.stdout
    assert await status_of(gql, tenant, started["payment"]["id"]) == "COMPLETED"


async def test_stripe_sync_names_an_account_without_stripe(settings, runtime, backend, localstripe):
    if backend.name == "postgres":
        pytest.skip("the command connects by URL only")
    ran = await stripe_sync(settings, "--account", "nobody")
    assert ran.returncode == 2
    assert "No such account with Stripe connected." in ran.stdout
    bad = await stripe_sync(settings, "--since", "yesterday")
    assert bad.returncode == 2
    assert "is not an ISO date" in bad.stderr
