"""The events of partner webhook endpoints; one recorder each (:mod:`services.events`).

========================  =====================================  ===========================
verb                      when                                   details
========================  =====================================  ===========================
``webhook.created``       staff register an endpoint             ``host``, ``api_client``
                                                                 (the token's name)
``webhook.updated``       staff change it (URL, query, on/off)   ``changed`` (sorted)
``webhook.disabled``      the system turns it off: failing for   ``host``, ``reason``
                          the retry window, its token revoked,
                          or its query no longer valid
``webhook.deleted``       staff remove it                        ``host``
========================  =====================================  ===========================

Shown to the client: nothing; endpoints are the business's integrations. These events do
not go to the outbox. No detail names the URL's path or query (it may carry a partner's
credential), only its host; never the secret.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import StaffPrincipal
from models.activity import Verb
from models.webhooks import Webhook
from services import activity


def _record(
    session: AsyncSession,
    verb: Verb,
    webhook: Webhook,
    actor: StaffPrincipal | None,
    details: dict[str, Any],
) -> None:
    activity.record(
        session,
        account_id=webhook.account_id,
        actor=actor,
        verb=verb,
        subject_id=webhook.id,
        details=details,
        visible_to_client=False,
    )


def _host(webhook: Webhook) -> str:
    return urlsplit(webhook.url).hostname or ""


def webhook_created(
    session: AsyncSession, webhook: Webhook, actor: StaffPrincipal, *, api_client: str
) -> None:
    """``api_client``: the name of the API token whose permissions the endpoint has."""
    _record(
        session,
        Verb.WEBHOOK_CREATED,
        webhook,
        actor,
        {"host": _host(webhook), "api_client": api_client},
    )


def webhook_updated(
    session: AsyncSession, webhook: Webhook, actor: StaffPrincipal, *, changed: Iterable[str]
) -> None:
    _record(session, Verb.WEBHOOK_UPDATED, webhook, actor, {"changed": sorted(changed)})


def webhook_disabled(session: AsyncSession, webhook: Webhook, *, reason: str) -> None:
    """By the system (staff turning an endpoint off is ``webhook.updated``)."""
    _record(
        session, Verb.WEBHOOK_DISABLED, webhook, None, {"host": _host(webhook), "reason": reason}
    )


def webhook_deleted(session: AsyncSession, webhook: Webhook, actor: StaffPrincipal) -> None:
    _record(session, Verb.WEBHOOK_DELETED, webhook, actor, {"host": _host(webhook)})
