"""The activity timeline: what happened, who did it, and to what."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from auth.policy import Permission
from models.activity import Activity as ActivityRow
from models.enums import ActorKind
from resolvers import activity as resolvers
from resolvers.common import parse_optional_id
from resolvers.context import Info
from schema.fields import field, id_field
from schema.pagination import Connection
from services.activity import ActivityFilter

if TYPE_CHECKING:
    from schema.clients import Client

strawberry.enum(ActorKind, description="Who caused an activity entry.")


@strawberry.type(description="One fact recorded with an entry, e.g. the invoice number.")
class ActivityDetail:
    key: str = strawberry.field(description="What the value is, e.g. `number` or `amount`.")
    value: str = strawberry.field(description="The value, as text.")


@strawberry.type(
    description="Something that happened (an invoice sent, viewed, paid, voided, a quote "
    "approved ...), with who did it. Contacts see only the entries of their own client "
    "that are meant for them."
)
class Activity:
    id: strawberry.ID = id_field()
    verb: str = field("What happened, as `<subject>.<event>`, e.g. `invoice.sent`.")
    subject_type: str = field("The kind of thing it happened to, e.g. `invoice`, `quote`.")
    actor_kind: ActorKind = field("STAFF, CONTACT, PARTNER (an API token) or SYSTEM.")
    created_at: datetime = field("When it happened.")
    visible_to_client: bool = field(
        "Whether the client's contacts see this entry.", permission=Permission.INTERNAL_READ
    )

    @field("Id of the thing it happened to (it may since be hidden from the caller).")
    def subject_id(self, root: strawberry.Parent[ActivityRow]) -> strawberry.ID | None:
        return None if root.subject_id is None else strawberry.ID(str(root.subject_id))

    @field("Who did it: a staff user's or contact's name, an API token's name, or \"System\".")
    async def actor_name(self, info: Info, root: strawberry.Parent[ActivityRow]) -> str:
        return await resolvers.actor_name(info, root)

    @field(
        "Facts recorded with the entry that the caller may read, by key.",
        permission=Permission.ACTIVITY_READ,
    )
    def details(self, info: Info, root: strawberry.Parent[ActivityRow]) -> list[ActivityDetail]:
        shown = resolvers.details(info, root)
        return [ActivityDetail(key=key, value=value) for key, value in shown.items()]

    @field("The client it concerns, if any.", permission=Permission.CLIENTS_READ)
    async def client(
        self, info: Info, root: strawberry.Parent[ActivityRow]
    ) -> Annotated[Client, strawberry.lazy("schema.clients")] | None:
        return await resolvers.activity_client(info, root)  # type: ignore[return-value]


@strawberry.type
class ActivityQuery:
    @field(
        "The activity timeline, newest first: staff see their account's, contacts their "
        "own client's entries meant for them.",
        permission=Permission.ACTIVITY_READ,
    )
    async def activities(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        subject_type: str | None = None,
        subject_id: strawberry.ID | None = None,
        client_id: strawberry.ID | None = None,
    ) -> Connection[Activity]:
        filters = ActivityFilter(
            subject_type=subject_type,
            subject_id=parse_optional_id(subject_id, field="subjectId"),
            client_id=parse_optional_id(client_id, field="clientId"),
        )
        return await resolvers.list_activities(info, first=first, after=after, filters=filters)  # type: ignore[return-value]
