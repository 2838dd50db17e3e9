"""``portico stripe-sync``: the Stripe events missed while the server was down.

Stripe keeps an account's events for 30 days and lists them through the API
(``GET /v1/events``, by the official library): for each connected account, the events
created since a window back (72 hours by default, Stripe's own retry horizon) — or since
the last one Portico stored, when that is older (the server was down longer) — go
through the same store-once path as the webhooks (:func:`.webhooks.handle_event`):
an event already handled is a duplicate and changes nothing, so running it again, or
while webhooks arrive, is safe. The events come from Stripe over the account's own secret
key, so no signature is needed.

An event that cannot be handled yet (:class:`.charges.NotYet`) or fails is counted and
left for the next run (or Stripe's retry); the others still run.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import stripe
import structlog
from sqlmodel import col, func, select

from models.accounts import Account
from models.stripe import StripeEvent
from models.types import utcnow
from services.errors import PaymentProviderError
from services.runtime import Runtime
from services.stripe_gateway.charges import NotYet
from services.stripe_gateway.connection import connected
from services.stripe_gateway.webhooks import handle_event

log = structlog.get_logger("portico.stripe")

DEFAULT_WINDOW = timedelta(hours=72)
RETENTION = timedelta(days=30)
"""How far back Stripe lists events."""


@dataclass(slots=True)
class SyncReport:
    account_id: uuid.UUID
    slug: str
    since: datetime
    outcomes: Counter[str] = field(default_factory=Counter)
    deferred: int = 0
    failed: int = 0

    @property
    def listed(self) -> int:
        return sum(self.outcomes.values()) + self.deferred + self.failed


async def sync_accounts(
    runtime: Runtime,
    *,
    slug: str | None = None,
    since: datetime | None = None,
    window: timedelta = DEFAULT_WINDOW,
) -> list[SyncReport]:
    """Catch up every connected account (or the one named by ``slug``)."""
    async with runtime.sessions() as session:
        statement = select(Account).where(col(Account.stripe_secret_key).is_not(None))
        if slug is not None:
            statement = statement.where(col(Account.slug) == slug)
        accounts = list((await session.exec(statement.order_by(col(Account.slug)))).all())
    return [
        await sync_account(runtime, account, since=since, window=window) for account in accounts
    ]


async def sync_account(
    runtime: Runtime,
    account: Account,
    *,
    since: datetime | None = None,
    window: timedelta = DEFAULT_WINDOW,
) -> SyncReport:
    gateway = connected(runtime.settings, account)
    start = since or await _start(runtime, account.id, window)
    start = max(start, utcnow() - RETENTION)
    report = SyncReport(account_id=account.id, slug=account.slug, since=start)
    try:
        page = await gateway.client.v1.events.list_async(
            params={"created": {"gt": int(start.timestamp())}, "limit": 100}
        )
        events = [event.to_dict() async for event in page.auto_paging_iter()]
    except stripe.StripeError as error:
        raise PaymentProviderError(
            f"Stripe could not list the events of {account.slug} ({type(error).__name__})."
        ) from error
    for event in sorted(events, key=lambda e: int(e.get("created") or 0)):
        await _one(runtime, account.id, event, report)
    log.info(
        "stripe_sync",
        account_id=str(account.id),
        since=start.isoformat(),
        listed=report.listed,
        deferred=report.deferred,
        failed=report.failed,
    )
    return report


async def _start(runtime: Runtime, account_id: uuid.UUID, window: timedelta) -> datetime:
    """The window back from now, or the last stored event when that is older."""
    async with runtime.sessions() as session:
        last = (
            await session.exec(
                select(func.max(StripeEvent.stripe_created)).where(
                    col(StripeEvent.account_id) == account_id
                )
            )
        ).one()
    start = utcnow() - window
    if isinstance(last, datetime):
        last = last if last.tzinfo else last.replace(tzinfo=UTC)
        start = min(start, last)
    return start


async def _one(
    runtime: Runtime, account_id: uuid.UUID, event: dict[str, Any], report: SyncReport
) -> None:
    try:
        outcome = await handle_event(runtime, account_id, event)
    except NotYet as error:
        report.deferred += 1
        log.info("stripe_sync_deferred", event_id=event.get("id"), reason=error.message)
    except Exception:
        report.failed += 1
        log.exception("stripe_sync_failed", event_id=event.get("id"))
    else:
        report.outcomes[outcome.split(":")[0]] += 1
