"""Webhook documents on the schema of their API token's profile: checked when an endpoint
is registered, executed for each event it is sent.

A document is one ``subscription { invoiceChanged { ... } }`` operation without
variables; ``invoiceChanged(clientId: "…")`` narrows the endpoint to one client, and
``after`` has no meaning here (the endpoint keeps its own place in the stream). It must
validate against the token's profile schema, so it selects only what the token may read:
a field the token may not see is refused at registration as an unknown field.

Each event's body is the document's result, executed as ``invoiceChanged`` executes for
a subscriber (:class:`schema.event_execution.SharedEventExecutor`): with the token's
principal as it reads at delivery, in the token's row scope, once per event for every
endpoint with the same profile and document.
"""

from __future__ import annotations

import functools
import uuid
from typing import TYPE_CHECKING, Any

from graphql import (
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    StringValueNode,
    parse,
    validate,
)

from auth.principals import PartnerPrincipal
from auth.profiles import profile_for
from resolvers.context import Context
from resolvers.invoice_events import InvoiceChange
from schema.errors import present
from services.errors import BadInput
from services.event_log.audience import scope_key
from services.event_log.delivered import DeliveredEvent
from services.runtime import Runtime
from services.webhooks.endpoints import CheckedQuery

if TYPE_CHECKING:  # the registry builds the root types, which hold the webhook mutations
    from schema.registry import ProfileSchema, SchemaRegistry

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


@functools.cache
def _checking() -> SchemaRegistry:
    """Profile schemas for checking documents at registration (validation only, so the
    default limits do); built on first use, once the root types exist."""
    from schema.registry import SchemaRegistry

    return SchemaRegistry(max_size=32)


def check_webhook_query(principal: PartnerPrincipal, query: str) -> CheckedQuery:
    """A :class:`services.webhooks.endpoints.QueryChecker` for the mutations."""
    registry = _checking()
    return check_query(
        registry.for_principal(principal), query, max_tokens=registry.limits.max_tokens
    )


class WebhookPayloads:
    """A :class:`services.webhooks.deliveries.PayloadRenderer` on the server's schemas."""

    def __init__(self, runtime: Runtime, registry: SchemaRegistry) -> None:
        self.runtime = runtime
        self.registry = registry

    async def __call__(
        self, *, event: DeliveredEvent, principal: PartnerPrincipal, query: str
    ) -> dict[str, Any]:
        schema = self.registry.for_principal(principal)
        check_query(schema, query, max_tokens=self.registry.limits.max_tokens)
        share_key = ("webhook", profile_for(principal), scope_key(principal), query)
        change = InvoiceChange(event, principal, share_key, self.runtime)
        async with self.runtime.sessions() as session:
            context = Context(self.runtime, session, principal=principal, client_address="webhook")
            result = await schema.execute(query, context_value=context, root_value=change)
        errors = [present(error) for error in result.errors or ()]
        refused = next((error for error in errors if error.path is None), None)
        if refused is not None:  # refused before execution (a limit): not for this token
            raise BadInput(refused.message, field="query")
        body: dict[str, Any] = {"data": result.data}
        if errors:
            body["errors"] = [error.formatted for error in errors]
        return body
