"""Recording what happened: the activity timeline and the event outbox.

Action functions call :func:`record` in the same transaction as the change they make,
so a state change and its record commit (or roll back) together.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import ContactPrincipal, PartnerPrincipal, Principal, StaffPrincipal
from models.activity import Activity
from models.enums import ActorKind
from models.events import OutboxEvent


def actor_of(principal: Principal | None) -> tuple[ActorKind, uuid.UUID | None]:
    if isinstance(principal, StaffPrincipal):
        return ActorKind.STAFF, principal.user_id
    if isinstance(principal, ContactPrincipal):
        if principal.viewer_staff_id is not None:
            return ActorKind.STAFF, principal.viewer_staff_id
        return ActorKind.CONTACT, principal.contact_id
    if isinstance(principal, PartnerPrincipal):
        return ActorKind.PARTNER, principal.token_id
    return ActorKind.SYSTEM, None


def record(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    actor: Principal | None,
    verb: str,
    subject_type: str,
    subject_id: uuid.UUID | None,
    client_id: uuid.UUID | None = None,
    details: dict[str, Any] | None = None,
    visible_to_client: bool = True,
    event_topic: str | None = None,
) -> Activity:
    """Add an activity entry and, when ``event_topic`` is given, an outbox event that
    subscribers (``invoiceChanged``) read by position."""
    actor_kind, actor_id = actor_of(actor)
    activity = Activity(
        account_id=account_id,
        client_id=client_id,
        subject_type=subject_type,
        subject_id=subject_id,
        verb=verb,
        actor_kind=actor_kind,
        actor_id=actor_id,
        details=details or {},
        visible_to_client=visible_to_client,
    )
    session.add(activity)
    if event_topic is not None and subject_id is not None:
        session.add(
            OutboxEvent(
                account_id=account_id,
                topic=event_topic,
                kind=verb,
                subject_id=subject_id,
                client_id=client_id,
                payload=details or {},
            )
        )
    return activity
