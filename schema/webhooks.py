"""Partner webhooks: endpoints an account admin registers for an API token, their
deliveries and each attempt (:mod:`services.webhooks`), and the documents that shape
their bodies.

A webhook document is one ``subscription { invoiceChanged { ... } }`` operation without
variables; ``invoiceChanged(clientId: "…")`` narrows the endpoint to one client, and
``after`` has no meaning here (the endpoint keeps its own place in the stream). It must
validate against the profile schema of the endpoint's API token, so it selects only what
the token may read: a field the token may not see is refused at registration as an
unknown field. ``server.webhooks`` executes it for each event.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from graphql import (
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    StringValueNode,
    parse,
    validate,
)

from auth.policy import Permission
from auth.principals import PartnerPrincipal
from models.auth import ApiToken
from models.webhooks import Webhook as WebhookRow
from models.webhooks import WebhookAttempt as WebhookAttemptRow
from models.webhooks import WebhookDeliveryStatus
from resolvers import webhooks as resolvers
from resolvers.context import Info
from resolvers.webhooks import DeliveryView
from schema.fields import field, id_field, mutation
from schema.pagination import Connection
from services.errors import BadInput, NotFound
from services.event_log.reading import format_cursor
from services.webhooks.endpoints import CheckedQuery, QueryChecker

if TYPE_CHECKING:
    from schema.account_settings import ApiClient
    from schema.registry import ProfileSchema, SchemaRegistry

_ADMIN = Permission.ACCOUNT_ADMIN

ROOT_FIELD = "invoiceChanged"
QUERY_MAX_LENGTH = 20_000


def check_query(schema: ProfileSchema, query: str, *, max_tokens: int) -> CheckedQuery:
    """``query`` if it is a webhook document valid on ``schema``, else
    :class:`BadInput` with graphql-core's message."""
    if len(query) > QUERY_MAX_LENGTH:
        raise BadInput(f"A webhook query has at most {QUERY_MAX_LENGTH} characters.", field="query")
    try:
        document = parse(query, no_location=True, max_lexical_tokens=max_tokens)
    except GraphQLError as error:
        raise BadInput(error.message, field="query") from error
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].operation is not OperationType.SUBSCRIPTION:
        raise BadInput(
            "A webhook query is one `subscription { invoiceChanged { ... } }` operation.",
            field="query",
        )
    operation = operations[0]
    if operation.variable_definitions:
        raise BadInput("A webhook query takes no variables.", field="query")
    if schema.subscription is None:
        raise BadInput("The API token may not subscribe to events.", field="query")
    errors = validate(schema._schema, document)
    if errors:
        schema.remove_field_suggestion(errors[0])
        raise BadInput(errors[0].message, field="query")
    selections = operation.selection_set.selections
    root = selections[0] if len(selections) == 1 else None
    if not isinstance(root, FieldNode) or root.name.value != ROOT_FIELD:
        raise BadInput(f"A webhook query selects `{ROOT_FIELD}` (directly).", field="query")
    client_id = None
    for argument in root.arguments or ():
        if argument.name.value == "after":
            raise BadInput(
                "A webhook keeps its own place in the stream: no `after`.", field="query"
            )
        if argument.name.value == "clientId":
            if not isinstance(argument.value, StringValueNode):
                raise BadInput("`clientId` is a literal id here.", field="query")
            try:
                client_id = uuid.UUID(argument.value.value)
            except ValueError as error:
                raise BadInput("`clientId` is not a valid id.", field="query") from error
    return CheckedQuery(query=query, client_id=client_id)


def webhook_query_checker(info: Info) -> QueryChecker:
    """Checks a webhook document against the token's own profile schema, with the app's
    schemas and limits (the request context carries the registry: this module is part of
    the root types the registry assembles, so it does not import it)."""
    registry: SchemaRegistry = info.context.schemas

    def check(principal: PartnerPrincipal, query: str) -> CheckedQuery:
        schema = registry.for_principal(principal)
        return check_query(schema, query, max_tokens=registry.limits.max_tokens)

    return check


strawberry.enum(WebhookDeliveryStatus, description="Where a webhook delivery stands.")


def _optional_id(value: Any) -> strawberry.ID | None:
    return None if value is None else strawberry.ID(str(value))


@strawberry.type(description="An endpoint receiving the account's invoice events, signed.")
class Webhook:
    id: strawberry.ID = id_field()
    url: str = field("Where deliveries are POSTed.")
    query: str = field(
        "The `subscription { invoiceChanged { ... } }` document shaping each body, run "
        "with the permissions of the endpoint's API token."
    )
    enabled: bool = field("Whether events are sent to it.")
    client_id: strawberry.ID | None = field(
        "The client it is narrowed to (`invoiceChanged(clientId:)` in the query).",
        resolver=lambda root: _optional_id(root.client_id),
    )
    previous_secret_expires_at: datetime | None = field(
        "After `rotateWebhookSecret`: until when deliveries are signed with the previous "
        "secret too (a second `v1` in `Portico-Signature`)."
    )
    disabled_at: datetime | None = field("When it was turned off.")
    disabled_reason: str | None = field("Why it was turned off.")
    created_at: datetime = field("When it was registered.")
    updated_at: datetime = field("When it was last changed.")

    @field("The API token whose permissions it has.", permission=_ADMIN)
    async def api_client(
        self, info: Info
    ) -> Annotated[ApiClient, strawberry.lazy("schema.account_settings")]:
        row = await info.context.session.get(ApiToken, self.api_token_id)  # type: ignore[attr-defined]
        if row is None:  # pragma: no cover - the endpoint goes with its token
            raise NotFound("API token")
        return row  # type: ignore[return-value]

    @classmethod
    def is_type_of(cls, obj: Any, _info: Any) -> bool:
        return isinstance(obj, WebhookRow | Webhook)


@strawberry.type(description="One HTTP request made for a delivery.")
class WebhookAttempt:
    attempted_at: datetime = field("When the request was made (UTC).")
    succeeded: bool = field("Whether the endpoint answered 2xx.")
    status_code: int | None = field("The endpoint's HTTP status (none: no answer).")
    duration_ms: int = field("How long the request took, in milliseconds.")
    error: str | None = field("What went wrong (timeout, refused address, HTTP status).")
    next_retry_at: datetime | None = field(
        "When the delivery is tried again after this attempt (none: no retry)."
    )

    @classmethod
    def is_type_of(cls, obj: Any, _info: Any) -> bool:
        return isinstance(obj, WebhookAttemptRow | WebhookAttempt)


def _of(name: str) -> Any:
    return lambda root: getattr(root.delivery, name)


@strawberry.type(description="One event sent to one endpoint, with every attempt.")
class WebhookDelivery:
    id: strawberry.ID = field(
        "Unique, opaque identifier (pass it to `redeliverWebhook`).",
        resolver=lambda root: strawberry.ID(str(root.delivery.id)),
    )
    event_id: str = field(
        "The event's id, as in the body and the `Portico-Event-Id` header.",
        resolver=_of("event_id"),
    )
    kind: str = field("The event's kind (`invoice.sent`).", resolver=_of("kind"))
    cursor: str = field(
        "The event's place in the account's stream (as `invoiceChanged`'s `cursor`).",
        resolver=lambda root: format_cursor(root.delivery.sequence),
    )
    status: WebhookDeliveryStatus = field("Where it stands.", resolver=_of("status"))
    body: str = field("The JSON body sent (the same on every attempt).", resolver=_of("body"))
    next_attempt_at: datetime | None = field(
        "When the next attempt is due (none: delivered or given up).",
        resolver=_of("next_attempt_at"),
    )
    created_at: datetime = field("When the event was queued for it.", resolver=_of("created_at"))

    attempts: list[WebhookAttempt] = field(
        "The attempts, oldest first.", permission=_ADMIN, resolver=lambda root: root.attempts
    )

    @classmethod
    def is_type_of(cls, obj: Any, _info: Any) -> bool:
        return isinstance(obj, DeliveryView | WebhookDelivery)


@strawberry.type(
    description="A webhook endpoint and its new signing secret (`createWebhook`, "
    "`rotateWebhookSecret`)."
)
class CreateWebhookPayload:
    webhook: Webhook = field("The endpoint.", permission=_ADMIN)
    secret: str = strawberry.field(
        description="The signing secret: shown this once (verify `Portico-Signature` with it)."
    )


@strawberry.input(description="A webhook endpoint to register.")
class CreateWebhookInput:
    api_token_id: strawberry.ID = strawberry.field(
        description="The API token whose permissions deliveries are read with (it needs "
        "`events:subscribe` and `invoices:read`)."
    )
    url: str = strawberry.field(
        description="Where to POST: https, a public address, port 443 or 80."
    )
    query: str = strawberry.field(
        description="A `subscription { invoiceChanged { ... } }` document: each body's `data`."
    )
    secret: str | None = strawberry.field(
        default=None, description="The signing secret (16-200 characters); default: generated."
    )


@strawberry.input(description="Changes to a webhook endpoint; fields left out keep their value.")
class UpdateWebhookInput:
    url: str | None = strawberry.field(default=None, description="Where to POST.")
    query: str | None = strawberry.field(default=None, description="The document.")
    enabled: bool | None = strawberry.field(
        default=None,
        description="On or off; turned back on, it receives the events from then on.",
    )


@strawberry.type
class WebhookQuery:
    @field("The account's webhook endpoints, newest first.", permission=_ADMIN)
    async def webhooks(self, info: Info) -> list[Webhook]:
        return await resolvers.webhook_list(info)  # type: ignore[return-value]

    @field("An endpoint's deliveries, newest first, each with its attempts.", permission=_ADMIN)
    async def webhook_deliveries(
        self,
        info: Info,
        webhook_id: strawberry.ID,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[WebhookDelivery]:
        return await resolvers.webhook_deliveries(info, webhook_id, first, after)  # type: ignore[return-value]


@strawberry.type
class WebhookMutation:
    @mutation(
        "Register a webhook endpoint for an API token; answers its secret, once.",
        permission=_ADMIN,
    )
    async def create_webhook(self, info: Info, input: CreateWebhookInput) -> CreateWebhookPayload:
        row, secret = await resolvers.create_webhook(
            info,
            api_token_id=input.api_token_id,
            url=input.url,
            query=input.query,
            secret=input.secret,
            check_query=webhook_query_checker(info),
        )
        return CreateWebhookPayload(webhook=row, secret=secret)  # type: ignore[arg-type]

    @mutation("Change a webhook endpoint, or turn it on or off.", permission=_ADMIN)
    async def update_webhook(
        self, info: Info, id: strawberry.ID, input: UpdateWebhookInput
    ) -> Webhook:
        return await resolvers.update_webhook(  # type: ignore[return-value]
            info,
            id,
            url=input.url,
            query=input.query,
            enabled=input.enabled,
            check_query=webhook_query_checker(info),
        )

    @mutation(
        "Give a webhook endpoint a new signing secret, answered this once; the current one "
        "keeps signing beside it for `expireCurrentInHours` (0-168), so the receiver can "
        "switch without refusing a delivery.",
        permission=_ADMIN,
    )
    async def rotate_webhook_secret(
        self,
        info: Info,
        id: strawberry.ID,
        secret: str | None = None,
        expire_current_in_hours: int = 24,
    ) -> CreateWebhookPayload:
        row, new_secret = await resolvers.rotate_webhook_secret(
            info, id, secret=secret, expire_current_in_hours=expire_current_in_hours
        )
        return CreateWebhookPayload(webhook=row, secret=new_secret)  # type: ignore[arg-type]

    @mutation("Remove a webhook endpoint and its deliveries.", permission=_ADMIN)
    async def delete_webhook(self, info: Info, id: strawberry.ID) -> Webhook:
        return await resolvers.delete_webhook(info, id)  # type: ignore[return-value]

    @mutation("Send a delivery again now (its id from `webhookDeliveries`).", permission=_ADMIN)
    async def redeliver_webhook(self, info: Info, id: strawberry.ID) -> WebhookDelivery:
        return await resolvers.redeliver_webhook(info, id)  # type: ignore[return-value]
