"""Recording what happened: the activity timeline and the event outbox.

Action functions call :func:`record` in the same transaction as the change they make,
so a state change and its record commit (or roll back) together. Reading the timeline
goes through :func:`services.access.activity_scope` (:func:`list_activities`), and only
the :func:`shown_details` of an entry leave the server.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import ContactPrincipal, PartnerPrincipal, Principal, StaffPrincipal
from models.activity import Activity, EventTopic, Verb
from models.enums import ActorKind
from models.events import OutboxEvent
from services.access import activity_scope
from services.event_log.broker import kick_after_commit
from services.pagination import Page, paginate


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
    verb: Verb,
    subject_id: uuid.UUID | None,
    client_id: uuid.UUID | None = None,
    details: dict[str, Any] | None = None,
    visible_to_client: bool = True,
    event_topic: EventTopic | None = None,
    subject_status: str | None = None,
) -> Activity:
    """Add an activity entry about ``verb``'s subject type and, when ``event_topic`` is
    given, an outbox event of kind ``verb``, numbered after commit
    (:mod:`services.event_log`) for subscribers (``invoiceChanged``) and webhooks, with
    the subject's status then (``subject_status``). Detail keys are snake_case; the
    values JSON (amounts as strings)."""
    actor_kind, actor_id = actor_of(actor)
    activity = Activity(
        account_id=account_id,
        client_id=client_id,
        subject_type=verb.subject_type,
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
                subject_status=subject_status,
            )
        )
        kick_after_commit(session)
    return activity


# --- reading the timeline ---------------------------------------------------------------

CLIENT_DETAIL_KEYS = frozenset(
    {
        "number",
        "amount",
        "currency",
        "reason",
        "credit",
        "source",
        "quote_number",
        "period",
        # projects, shared tasks and the client's own tickets
        "name",
        "title",
        "status",
        "previous_status",
        "subject",
        "priority",
    }
)
"""Detail keys a contact (or partner) is shown; anything else an action recorded stays
on the server. Add a key here when a client-visible entry should show it."""

SECRET_DETAIL_MARKERS = ("token", "secret", "password", "hash", "key")
"""Staff see every detail except keys that look like credentials."""


@dataclass(slots=True)
class ActivityFilter:
    subject_type: str | None = None
    subject_id: uuid.UUID | None = None
    client_id: uuid.UUID | None = None


async def list_activities(
    *,
    session: AsyncSession,
    principal: Principal,
    filters: ActivityFilter,
    first: int | None,
    after: str | None,
) -> Page[Activity]:
    """The caller's timeline, newest first."""
    statement = select(Activity).where(*activity_scope(principal))
    if filters.subject_type is not None:
        statement = statement.where(Activity.subject_type == filters.subject_type)
    if filters.subject_id is not None:
        statement = statement.where(Activity.subject_id == filters.subject_id)
    if filters.client_id is not None:
        statement = statement.where(Activity.client_id == filters.client_id)
    return await paginate(session, statement, Activity, first=first, after=after)


def shown_details(entry: Activity, principal: Principal) -> dict[str, str]:
    """The details of ``entry`` that ``principal`` may read, as text (lists joined with
    ", ", booleans as ``true``/``false``), sorted by key."""
    staff = isinstance(principal, StaffPrincipal)
    shown: dict[str, str] = {}
    for key, value in sorted((entry.details or {}).items()):
        if staff:
            if any(marker in key.lower() for marker in SECRET_DETAIL_MARKERS):
                continue
        elif key not in CLIENT_DETAIL_KEYS:
            continue
        if value is None:
            continue
        if isinstance(value, bool):
            shown[key] = "true" if value else "false"
        elif isinstance(value, list | tuple):
            shown[key] = ", ".join(str(item) for item in value)
        else:
            shown[key] = str(value)
    return shown
