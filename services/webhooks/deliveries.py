"""Deliveries: created exactly once per endpoint and event, claimed, tried, retried.

**Creation.** Each endpoint keeps its cursor in the account's event stream
(``Webhook.last_sequence``). :func:`create_deliveries` reads the events after it, in
sequence order, keeps those the endpoint's token may see (the same rules as
``invoiceChanged``: :mod:`services.event_log.audience`), renders each one's body, and — in
one transaction — inserts the delivery rows and moves the cursor past the events read.
A crash before the commit leaves both untouched; after it, both are done: no event is
lost or delivered twice across restarts. Several instances may run it at once:

- PostgreSQL: the endpoint row is claimed with ``FOR UPDATE SKIP LOCKED`` for the whole
  transaction (another instance skips it meanwhile), so each batch is rendered once;
- SQLite (one write lock, held by a write transaction from its start): the bodies are
  rendered outside any transaction, then the rows are written only if the cursor is
  still where the reading started (compare-and-set); otherwise the batch is dropped and
  read again. The unique ``(webhook_id, sequence)`` key backs both.

**Attempts.** A due delivery (``PENDING``, ``next_attempt_at`` passed, endpoint enabled)
is claimed by moving ``next_attempt_at`` a lease ahead in a short transaction
(PostgreSQL: ``FOR UPDATE SKIP LOCKED``), sent outside any transaction, and its outcome
recorded as a :class:`~models.webhooks.WebhookAttempt`. A crash mid-send leaves the
delivery due again once the lease ends. Retries back off exponentially
(``webhook_retry_seconds`` doubling, at most ``webhook_retry_max_seconds``) until
``webhook_retry_window_hours`` after the delivery was created; a 4xx other than 408 and
429 is final at once. An endpoint whose attempts have all failed for the retry window
is disabled and the account's admins are mailed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import orjson
import structlog
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import PartnerPrincipal
from auth.secret_box import SecretBox
from models.accounts import Account, StaffUser
from models.activity import EventTopic
from models.auth import ApiToken
from models.enums import StaffRole
from models.events import EventStream, OutboxEvent
from models.types import utcnow
from models.webhooks import Webhook, WebhookAttempt, WebhookDelivery, WebhookDeliveryStatus
from services.config import Settings
from services.db import serialises_writers
from services.errors import BadInput, Unauthenticated
from services.event_log.audience import invoice_visible, scope_key, shown_then
from services.event_log.delivered import DeliveredEvent
from services.event_log.reading import events_after
from services.events import webhooks as webhook_events
from services.sessions import partner_principal
from services.unit_of_work import UnitOfWork, unit_of_work
from services.webhooks.sender import Outcome
from services.webhooks.signing import secret_box

if TYPE_CHECKING:
    from services.runtime import Runtime

log = structlog.get_logger("portico.webhooks")

BATCH = 100
"""Events read per endpoint and transaction."""
RETRYABLE_4XX = frozenset({408, 429})


class PayloadRenderer(Protocol):
    """Executes an endpoint's ``subscription { invoiceChanged { ... } }`` document for one
    event (``server.webhooks``: the profile schema is above this layer)."""

    async def __call__(
        self, *, event: DeliveredEvent, principal: PartnerPrincipal, query: str
    ) -> dict[str, Any]:
        """The GraphQL result, ``{"data": ...}`` (with ``"errors"`` if any); raises
        :class:`~services.errors.BadInput` when the document no longer validates for the
        principal (its scopes or the account's modules changed)."""


def event_id(account_id: uuid.UUID, sequence: int) -> str:
    """The event's id in bodies and ``Portico-Event-Id``: the same on every attempt."""
    return f"{account_id}:{sequence}"


def body_of(event: DeliveredEvent, result: dict[str, Any]) -> str:
    body: dict[str, Any] = {
        "id": event_id(event.account_id, event.sequence),
        "type": event.kind,
        "created": int(event.occurred_at.timestamp()),
        "data": result.get("data"),
    }
    if result.get("errors"):
        body["errors"] = result["errors"]
    return orjson.dumps(body).decode()


# --- creating deliveries ----------------------------------------------------------------


@dataclass(slots=True)
class _Plan:
    through: int
    deliveries: list[WebhookDelivery] = field(default_factory=list)
    disable: str | None = None


SharedEvents = dict[tuple[uuid.UUID, int], DeliveredEvent]
"""One :class:`DeliveredEvent` per event in a pass, so endpoints with the same token
profile and document share one execution (:meth:`DeliveredEvent.once`)."""


async def endpoints_behind(session: AsyncSession) -> list[uuid.UUID]:
    """The enabled endpoints whose account's stream has moved past their cursor."""
    statement = (
        select(Webhook.id)
        .join(EventStream, col(EventStream.account_id) == col(Webhook.account_id))
        .where(col(Webhook.enabled), col(Webhook.last_sequence) < col(EventStream.last_sequence))
        .order_by(col(Webhook.created_at), col(Webhook.id))
    )
    return list((await session.exec(statement)).all())


async def create_deliveries(
    runtime: Runtime,
    render: PayloadRenderer,
    webhook_id: uuid.UUID,
    *,
    shared: SharedEvents | None = None,
) -> bool:
    """Create the deliveries of the next batch of events after the endpoint's cursor;
    ``True`` if the cursor moved (call again for the next batch)."""
    events = shared if shared is not None else {}
    if serialises_writers(runtime.sessions):
        async with runtime.sessions() as session:
            webhook = await _enabled(session, webhook_id)
            if webhook is None:
                return False
            start = webhook.last_sequence
            plan = await _plan(runtime, session, render, webhook, events)
        if plan is None:
            return False
        async with unit_of_work(runtime) as work:
            current = await _enabled(work.session, webhook_id, at=start)
            if current is None:  # another dispatcher moved it first: read again
                return False
            await _apply(work, current, plan)
        return True
    async with unit_of_work(runtime) as work:
        webhook = await _enabled(work.session, webhook_id, lock=True)
        if webhook is None:  # disabled, gone, or being advanced by another instance
            return False
        plan = await _plan(runtime, work.session, render, webhook, events)
        if plan is None:
            return False
        await _apply(work, webhook, plan)
    return True


async def _enabled(
    session: AsyncSession, webhook_id: uuid.UUID, *, at: int | None = None, lock: bool = False
) -> Webhook | None:
    statement = select(Webhook).where(col(Webhook.id) == webhook_id, col(Webhook.enabled))
    if at is not None:
        statement = statement.where(col(Webhook.last_sequence) == at)
    if lock:
        statement = statement.with_for_update(skip_locked=True)
    return (await session.exec(statement.execution_options(populate_existing=True))).first()


async def _plan(
    runtime: Runtime,
    session: AsyncSession,
    render: PayloadRenderer,
    webhook: Webhook,
    shared: SharedEvents,
) -> _Plan | None:
    rows = await events_after(session, webhook.account_id, webhook.last_sequence, limit=BATCH)
    if not rows:
        return None
    plan = _Plan(through=webhook.last_sequence)
    try:
        principal = await partner_principal(
            session, await session.get(ApiToken, webhook.api_token_id)
        )
    except Unauthenticated:
        plan.disable = "Its API token was revoked or has expired."
        return plan
    now = utcnow()
    for row in rows:
        event = _shared_event(shared, row)
        if await _addressed(runtime, webhook, event, principal):
            try:
                result = await render(event=event, principal=principal, query=webhook.query)
            except BadInput as error:
                plan.disable = f"Its query is no longer valid for its API token: {error.message}"
                return plan
            plan.deliveries.append(
                WebhookDelivery(
                    account_id=webhook.account_id,
                    webhook_id=webhook.id,
                    sequence=event.sequence,
                    event_id=event_id(event.account_id, event.sequence),
                    kind=event.kind,
                    body=body_of(event, result),
                    next_attempt_at=now,
                )
            )
        plan.through = event.sequence
    return plan


def _shared_event(shared: SharedEvents, row: OutboxEvent) -> DeliveredEvent:
    key = (row.account_id, int(row.sequence or 0))
    event = shared.get(key)
    if event is None:
        event = shared[key] = DeliveredEvent.of(row)
    return event


async def _addressed(
    runtime: Runtime, webhook: Webhook, event: DeliveredEvent, principal: PartnerPrincipal
) -> bool:
    """Whether the endpoint receives ``event``: an invoice event of its client (if it
    narrowed to one), that its token could see then and can see now."""
    if event.topic != EventTopic.INVOICE or not shown_then(principal, event):
        return False
    if webhook.client_id is not None and event.client_id != webhook.client_id:
        return False

    async def read() -> bool:
        async with runtime.sessions() as session:
            return await invoice_visible(session, principal, event.subject_id)

    return await event.once(("visible", scope_key(principal)), read)


async def _apply(work: UnitOfWork, webhook: Webhook, plan: _Plan) -> None:
    for delivery in plan.deliveries:
        work.session.add(delivery)
    webhook.last_sequence = plan.through
    work.session.add(webhook)
    if plan.disable is not None:
        await disable(work, webhook, reason=plan.disable)
    await work.session.flush()
    if plan.deliveries:
        log.info(
            "webhook_deliveries_created", webhook_id=str(webhook.id), count=len(plan.deliveries)
        )


async def disable(work: UnitOfWork, webhook: Webhook, *, reason: str) -> None:
    """Turn the endpoint off (the system's doing), record it and mail the account's
    admins."""
    webhook.enabled = False
    webhook.disabled_at = utcnow()
    webhook.disabled_reason = reason[:300]
    work.session.add(webhook)
    webhook_events.webhook_disabled(work.session, webhook, reason=reason)
    account = await work.session.get(Account, webhook.account_id)
    admins = (
        await work.session.exec(
            select(StaffUser).where(
                col(StaffUser.account_id) == webhook.account_id,
                col(StaffUser.is_active),
                col(StaffUser.role).in_([StaffRole.OWNER, StaffRole.ADMIN]),
            )
        )
    ).all()
    for admin in admins:
        await work.runtime.mailer.queue(
            work.session,
            account=account,
            to=admin.email,
            template="webhook_disabled",
            context={
                "contact_name": admin.name,
                "url": webhook.url,
                "reason": reason,
                "link": f"{work.runtime.settings.public_base_url}/graphql",
            },
        )
    log.warning("webhook_disabled", webhook_id=str(webhook.id), reason=reason)


# --- attempts ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery claimed for one attempt, with what sending it needs."""

    delivery_id: uuid.UUID
    webhook_id: uuid.UUID
    url: str
    secrets: tuple[str, ...]
    """The endpoint's secret, and the previous one while it still signs."""
    event_id: str
    body: str


def lease(settings: Settings) -> timedelta:
    """How long a claimed delivery is not due again (longer than any attempt takes)."""
    return timedelta(seconds=settings.webhook_timeout_seconds * 3 + 30)


async def claim_due(runtime: Runtime, *, now: datetime, limit: int = 20) -> list[Claimed]:
    async with unit_of_work(runtime) as work:
        rows = (
            await work.session.exec(
                select(WebhookDelivery, Webhook)
                .join(Webhook, col(Webhook.id) == col(WebhookDelivery.webhook_id))
                .where(
                    col(WebhookDelivery.status) == WebhookDeliveryStatus.PENDING,
                    col(WebhookDelivery.next_attempt_at) <= now,
                    col(Webhook.enabled),
                )
                .order_by(col(WebhookDelivery.next_attempt_at), col(WebhookDelivery.sequence))
                .limit(limit)
                .with_for_update(skip_locked=True, of=WebhookDelivery)
                .execution_options(populate_existing=True)
            )
        ).all()
        until = now + lease(runtime.settings)
        box = secret_box(runtime.settings.secret_key.get_secret_value())
        claimed = []
        for delivery, webhook in rows:
            delivery.next_attempt_at = until
            work.session.add(delivery)
            claimed.append(
                Claimed(
                    delivery.id,
                    webhook.id,
                    webhook.url,
                    signing_secrets(webhook, box, now),
                    delivery.event_id,
                    delivery.body,
                )
            )
    return claimed


def signing_secrets(webhook: Webhook, box: SecretBox, now: datetime) -> tuple[str, ...]:
    current = box.open(webhook.secret)
    expires = webhook.previous_secret_expires_at
    if webhook.previous_secret is None or expires is None or expires <= now:
        return (current,)
    return (current, box.open(webhook.previous_secret))


def retry_delay(settings: Settings, attempts: int) -> timedelta:
    """The pause after failed attempt number ``attempts`` (1, 2, ...)."""
    seconds = settings.webhook_retry_seconds * 2 ** min(attempts - 1, 40)
    return timedelta(seconds=min(seconds, settings.webhook_retry_max_seconds))


def retryable(outcome: Outcome) -> bool:
    code = outcome.status_code
    return code is None or not (400 <= code < 500) or code in RETRYABLE_4XX


async def record_attempt(
    runtime: Runtime, claimed: Claimed, outcome: Outcome, *, now: datetime | None = None
) -> WebhookAttempt | None:
    """Record the attempt's outcome on the delivery; schedule the retry or give up; and
    disable an endpoint failing for the whole retry window. ``None`` when the delivery
    is gone (its endpoint deleted meanwhile)."""
    moment = now or utcnow()
    settings = runtime.settings
    async with unit_of_work(runtime) as work:
        session = work.session
        delivery = (
            await session.exec(
                select(WebhookDelivery)
                .where(col(WebhookDelivery.id) == claimed.delivery_id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).first()
        if delivery is None:
            return None
        delivery.attempts += 1
        attempt = WebhookAttempt(
            account_id=delivery.account_id,
            webhook_id=delivery.webhook_id,
            delivery_id=delivery.id,
            attempted_at=moment,
            succeeded=outcome.succeeded,
            status_code=outcome.status_code,
            duration_ms=outcome.duration_ms,
            error=outcome.error[:500] if outcome.error else None,
        )
        if outcome.succeeded:
            delivery.status = WebhookDeliveryStatus.SUCCEEDED
            delivery.next_attempt_at = None
        else:
            retry_at = moment + retry_delay(settings, delivery.attempts)
            window = timedelta(hours=settings.webhook_retry_window_hours)
            if retryable(outcome) and retry_at <= delivery.created_at + window:
                delivery.next_attempt_at = attempt.next_retry_at = retry_at
            else:
                delivery.status = WebhookDeliveryStatus.FAILED
                delivery.next_attempt_at = None
        session.add(delivery)
        session.add(attempt)
        await session.flush()
        log.info(
            "webhook_attempt",
            delivery_id=str(delivery.id),
            status_code=outcome.status_code,
            error=outcome.error,
            next_retry_at=attempt.next_retry_at.isoformat() if attempt.next_retry_at else None,
        )
        if not outcome.succeeded:
            await _disable_if_failing(work, delivery.webhook_id, moment)
    return attempt


async def failing_since(session: AsyncSession, webhook_id: uuid.UUID) -> datetime | None:
    """The first failed attempt after the endpoint's last successful one (``None``: its
    last attempt succeeded, or it has none)."""
    last_success = (
        await session.exec(
            select(func.max(WebhookAttempt.attempted_at)).where(
                col(WebhookAttempt.webhook_id) == webhook_id, col(WebhookAttempt.succeeded)
            )
        )
    ).one()
    failed = select(func.min(WebhookAttempt.attempted_at)).where(
        col(WebhookAttempt.webhook_id) == webhook_id, ~col(WebhookAttempt.succeeded)
    )
    if last_success is not None:
        failed = failed.where(col(WebhookAttempt.attempted_at) > last_success)
    first: datetime | None = (await session.exec(failed)).one()
    return first


async def _disable_if_failing(work: UnitOfWork, webhook_id: uuid.UUID, now: datetime) -> None:
    window = timedelta(hours=work.runtime.settings.webhook_retry_window_hours)
    since = await failing_since(work.session, webhook_id)
    if since is None or now - since < window:
        return
    webhook = (
        await work.session.exec(
            select(Webhook)
            .where(col(Webhook.id) == webhook_id, col(Webhook.enabled))
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).first()
    if webhook is not None:
        hours = work.runtime.settings.webhook_retry_window_hours
        await disable(
            work,
            webhook,
            reason=f"Every delivery has failed since {since:%Y-%m-%d %H:%M} UTC "
            f"({hours:g} hours or more).",
        )


async def next_due(session: AsyncSession) -> datetime | None:
    """When the earliest pending delivery of an enabled endpoint is due."""
    due: datetime | None = (
        await session.exec(
            select(func.min(WebhookDelivery.next_attempt_at))
            .join(Webhook, col(Webhook.id) == col(WebhookDelivery.webhook_id))
            .where(
                col(WebhookDelivery.status) == WebhookDeliveryStatus.PENDING, col(Webhook.enabled)
            )
        )
    ).one()
    return due
