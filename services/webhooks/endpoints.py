"""Registering, changing and removing webhook endpoints, and reading their deliveries
(account admins; every read scoped to the actor's account).

An endpoint belongs to an API token and reads with its permissions: the token must be
live and hold ``events:subscribe`` and ``invoices:read`` (with the INVOICES module on),
and the endpoint's document must validate against the token's profile schema — checked
here through a :class:`QueryChecker` (the schema is above this layer). The secret is
returned once, by :func:`create_webhook`; nothing else ever reads it out. The document
is registered for the account's partner tokens (:mod:`services.persisted_documents`) when
the endpoint is created or its document changed.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.policy import Permission
from auth.principals import PartnerPrincipal, StaffPrincipal
from auth.profiles import profile_for
from models.auth import ApiToken
from models.enums import Module
from models.types import utcnow
from models.webhooks import Webhook, WebhookAttempt, WebhookDelivery, WebhookDeliveryStatus
from services.errors import BadInput, Conflict, NotFound, Unauthenticated
from services.event_log.reading import last_sequence
from services.events import webhooks as webhook_events
from services.pagination import Page, paginate
from services.persisted_documents import register_document
from services.sessions import partner_principal
from services.unit_of_work import UnitOfWork, after_commit
from services.webhooks.signing import (
    SECRET_MAX_LENGTH,
    SECRET_MIN_LENGTH,
    new_secret,
    secret_box,
)
from services.webhooks.urls import check_url

if TYPE_CHECKING:
    from services.runtime import Runtime


@dataclass(frozen=True, slots=True)
class CheckedQuery:
    """A webhook document that validated for a token: its text, and the client its
    ``invoiceChanged(clientId:)`` narrows to (if any)."""

    query: str
    client_id: uuid.UUID | None = None


class QueryChecker(Protocol):
    def __call__(self, principal: PartnerPrincipal, query: str) -> CheckedQuery:
        """The document checked for ``principal``'s profile schema, or
        :class:`~services.errors.BadInput` (``field="query"``) saying what is wrong."""


def _kick_dispatcher(runtime: Runtime) -> None:
    if runtime.webhooks is not None:
        runtime.webhooks.kick()


def kick_after_commit(session: AsyncSession) -> None:
    after_commit(session, "webhooks", _kick_dispatcher)


async def token_principal(
    session: AsyncSession, actor: StaffPrincipal, token_id: uuid.UUID
) -> tuple[ApiToken, PartnerPrincipal]:
    """The actor's account's live token ``token_id`` and its principal, if it may carry
    a webhook."""
    token = (
        await session.exec(
            select(ApiToken).where(
                col(ApiToken.id) == token_id, col(ApiToken.account_id) == actor.account_id
            )
        )
    ).first()
    if token is None:
        raise NotFound("API token")
    try:
        principal = await partner_principal(session, token)
    except Unauthenticated as error:
        raise BadInput("This API token is revoked or expired.", field="apiTokenId") from error
    profile = profile_for(principal)
    if not (
        profile.allows(Permission.EVENTS_SUBSCRIBE, None)
        and profile.allows(Permission.INVOICES_READ, Module.INVOICES)
    ):
        raise BadInput(
            "The API token needs the events:subscribe and invoices:read scopes "
            "(and the INVOICES module on) to carry a webhook.",
            field="apiTokenId",
        )
    return token, principal


def check_secret(secret: str) -> str:
    if not (SECRET_MIN_LENGTH <= len(secret) <= SECRET_MAX_LENGTH) or not all(
        "!" <= char <= "~" for char in secret
    ):
        raise BadInput(
            f"A secret is {SECRET_MIN_LENGTH} to {SECRET_MAX_LENGTH} printable ASCII "
            "characters, without spaces; leave it out to have one generated.",
            field="secret",
        )
    return secret


async def create_webhook(
    *,
    work: UnitOfWork,
    actor: StaffPrincipal,
    api_token_id: uuid.UUID,
    url: str,
    query: str,
    secret: str | None,
    check_query: QueryChecker,
) -> tuple[Webhook, str]:
    """The new endpoint and its secret (the only time it is readable). It receives the
    events after this moment."""
    session = work.session
    token, principal = await token_principal(session, actor, api_token_id)
    checked = check_query(principal, query)
    target = await check_url(url, work.runtime.settings)
    secret = new_secret() if secret is None else check_secret(secret)
    webhook = Webhook(
        account_id=actor.account_id,
        api_token_id=token.id,
        url=target.url,
        query=checked.query,
        client_id=checked.client_id,
        secret=secret_box(work.runtime.settings.secret_key.get_secret_value()).seal(secret),
        last_sequence=await last_sequence(session, actor.account_id),
        created_by_id=actor.user_id,
    )
    session.add(webhook)
    await session.flush()
    webhook_events.webhook_created(session, webhook, actor, api_client=token.name)
    await _register(session, actor, checked.query)
    return webhook, secret


def _checked_already(document: str) -> None:
    """A webhook's document validated on its token's schema, a part of every partner's."""


async def _register(session: AsyncSession, actor: StaffPrincipal, query: str) -> None:
    """Register the webhook's document for the account's partner tokens, so an account
    that requires registered documents lists every document its tokens run (and keeps it
    while the webhook uses it)."""
    await register_document(
        session=session,
        actor=actor,
        document=query,
        name=None,
        check=_checked_already,
        webhook=True,
    )


async def access_webhook(
    session: AsyncSession, actor: StaffPrincipal, webhook_id: uuid.UUID, *, lock: bool = False
) -> Webhook:
    statement = select(Webhook).where(
        col(Webhook.id) == webhook_id, col(Webhook.account_id) == actor.account_id
    )
    if lock:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    webhook = (await session.exec(statement)).first()
    if webhook is None:
        raise NotFound("Webhook")
    return webhook


async def update_webhook(
    *,
    work: UnitOfWork,
    actor: StaffPrincipal,
    webhook_id: uuid.UUID,
    url: str | None = None,
    query: str | None = None,
    enabled: bool | None = None,
    check_query: QueryChecker,
) -> Webhook:
    """Change the URL, the document or whether the endpoint is on. Turned back on, it
    receives the events from then on (those of the time it was off are not sent)."""
    session = work.session
    webhook = await access_webhook(session, actor, webhook_id, lock=True)
    changed: list[str] = []
    if url is not None:
        webhook.url = (await check_url(url, work.runtime.settings)).url
        changed.append("url")
    if query is not None or enabled:
        _token, principal = await token_principal(session, actor, webhook.api_token_id)
        checked = check_query(principal, webhook.query if query is None else query)
        if query is not None:
            webhook.query, webhook.client_id = checked.query, checked.client_id
            changed.append("query")
            await _register(session, actor, checked.query)
    if enabled is not None and enabled != webhook.enabled:
        webhook.enabled = enabled
        changed.append("enabled")
        if enabled:
            webhook.last_sequence = await last_sequence(session, webhook.account_id)
            webhook.disabled_at = webhook.disabled_reason = None
        else:
            webhook.disabled_at = utcnow()
            webhook.disabled_reason = "Turned off by staff."
    if changed:
        webhook.updated_at = utcnow()
        session.add(webhook)
        webhook_events.webhook_updated(session, webhook, actor, changed=changed)
        kick_after_commit(session)
    return webhook


MAX_OVERLAP = timedelta(days=7)


async def rotate_webhook_secret(
    *,
    work: UnitOfWork,
    actor: StaffPrincipal,
    webhook_id: uuid.UUID,
    secret: str | None,
    keep_current_for: timedelta,
) -> tuple[Webhook, str]:
    """A new signing secret (answered this once). The current one goes on signing beside
    it for ``keep_current_for`` (at most a week; zero: it stops at once), so a receiver
    can switch to the new secret without refusing a delivery; a rotation during the
    overlap ends the older secret's."""
    if not timedelta(0) <= keep_current_for <= MAX_OVERLAP:
        raise BadInput(
            "The current secret can keep signing for 0 to 168 hours.",
            field="expireCurrentInHours",
        )
    session = work.session
    webhook = await access_webhook(session, actor, webhook_id, lock=True)
    secret = new_secret() if secret is None else check_secret(secret)
    box = secret_box(work.runtime.settings.secret_key.get_secret_value())
    if hmac.compare_digest(box.open(webhook.secret).encode(), secret.encode()):
        raise BadInput("The new secret must differ from the current one.", field="secret")
    now = utcnow()
    if keep_current_for:
        webhook.previous_secret = webhook.secret
        webhook.previous_secret_expires_at = now + keep_current_for
    else:
        webhook.previous_secret = webhook.previous_secret_expires_at = None
    webhook.secret = box.seal(secret)
    webhook.updated_at = now
    session.add(webhook)
    webhook_events.webhook_updated(session, webhook, actor, changed=["secret"])
    return webhook, secret


async def delete_webhook(
    *, session: AsyncSession, actor: StaffPrincipal, webhook_id: uuid.UUID
) -> Webhook:
    """Remove the endpoint with its deliveries; nothing more is sent to it."""
    webhook = await access_webhook(session, actor, webhook_id, lock=True)
    webhook_events.webhook_deleted(session, webhook, actor)
    await session.delete(webhook)
    await session.flush()
    return webhook


async def list_webhooks(*, session: AsyncSession, actor: StaffPrincipal) -> list[Webhook]:
    """The account's endpoints, newest first."""
    statement = (
        select(Webhook)
        .where(col(Webhook.account_id) == actor.account_id)
        .order_by(col(Webhook.created_at).desc(), col(Webhook.id).desc())
    )
    return list((await session.exec(statement)).all())


async def list_deliveries(
    *,
    session: AsyncSession,
    actor: StaffPrincipal,
    webhook_id: uuid.UUID,
    first: int | None,
    after: str | None,
) -> Page[WebhookDelivery]:
    """The endpoint's deliveries, newest first."""
    webhook = await access_webhook(session, actor, webhook_id)
    statement = select(WebhookDelivery).where(col(WebhookDelivery.webhook_id) == webhook.id)
    return await paginate(session, statement, WebhookDelivery, first=first, after=after)


async def attempts_of(
    session: AsyncSession, delivery_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[WebhookAttempt]]:
    """Each delivery's attempts, oldest first (one query for a page of deliveries)."""
    found: dict[uuid.UUID, list[WebhookAttempt]] = {key: [] for key in delivery_ids}
    if not delivery_ids:
        return found
    rows = (
        await session.exec(
            select(WebhookAttempt)
            .where(col(WebhookAttempt.delivery_id).in_(delivery_ids))
            .order_by(col(WebhookAttempt.attempted_at), col(WebhookAttempt.id))
        )
    ).all()
    for row in rows:
        found[row.delivery_id].append(row)
    return found


async def redeliver(
    *, session: AsyncSession, actor: StaffPrincipal, delivery_id: uuid.UUID
) -> WebhookDelivery:
    """Send the delivery again now (whatever became of it): one more attempt, the same
    event id and body; retried as usual if it fails within the retry window."""
    delivery = (
        await session.exec(
            select(WebhookDelivery)
            .where(
                col(WebhookDelivery.id) == delivery_id,
                col(WebhookDelivery.account_id) == actor.account_id,
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).first()
    if delivery is None:
        raise NotFound("Webhook delivery")
    webhook = await access_webhook(session, actor, delivery.webhook_id)
    if not webhook.enabled:
        raise Conflict("This webhook is turned off: turn it on to send deliveries again.")
    delivery.status = WebhookDeliveryStatus.PENDING
    delivery.next_attempt_at = utcnow()
    session.add(delivery)
    kick_after_commit(session)
    return delivery
