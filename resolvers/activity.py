"""The activity timeline: GraphQL arguments -> scoped reads -> rows and display names."""

from __future__ import annotations

import uuid

from auth.principals import StaffPrincipal
from models.activity import Activity
from models.enums import ActorKind
from resolvers.common import caller
from resolvers.context import Info
from resolvers.views import ClientView
from services import activity
from services.pagination import Page

SYSTEM_NAME = "System"
API_NAME = "API"


async def list_activities(
    info: Info, *, first: int | None, after: str | None, filters: activity.ActivityFilter
) -> Page[Activity]:
    return await activity.list_activities(
        session=info.context.session,
        principal=caller(info),
        filters=filters,
        first=first,
        after=after,
    )


async def subject_activity(info: Info, subject_type: str, subject_id: uuid.UUID) -> list[Activity]:
    """One subject's timeline, oldest first (batched across subjects by a loader)."""
    rows = await info.context.loaders.activities_by_subject_id.load(subject_id)
    return [row for row in rows if row.subject_type == subject_type]


async def actor_name(info: Info, entry: Activity) -> str:
    """Who acted, as the caller may name them: a staff user's or contact's name, the API
    token's name (contacts read "API"), or "System"."""
    loaders = info.context.loaders
    if entry.actor_id is None or entry.actor_kind is ActorKind.SYSTEM:
        return SYSTEM_NAME
    if entry.actor_kind is ActorKind.STAFF:
        return await loaders.staff_name_by_id.load(entry.actor_id) or "Former staff member"
    if entry.actor_kind is ActorKind.CONTACT:
        contact = await loaders.contact_by_id.load(entry.actor_id)
        if contact is None:
            return "Former contact"
        return contact.display_name
    if not isinstance(info.context.principal, StaffPrincipal):
        return API_NAME
    return await loaders.api_token_name_by_id.load(entry.actor_id) or API_NAME


async def activity_client(info: Info, entry: Activity) -> ClientView | None:
    if entry.client_id is None:
        return None
    return await info.context.loaders.client_by_id.load(entry.client_id)


def details(info: Info, entry: Activity) -> dict[str, str]:
    return activity.shown_details(entry, info.context.principal)
