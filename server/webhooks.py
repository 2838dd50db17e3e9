"""The webhook dispatcher of this server process, rendering each body on the server's
profile schemas.

Each event's body is the endpoint's document executed as ``invoiceChanged`` executes for
a subscriber (:class:`schema.event_execution.SharedEventExecutor`): with the token's
principal as it reads at delivery, in the token's row scope, once per event for every
endpoint with the same profile and document.
"""

from __future__ import annotations

from typing import Any

from auth.principals import PartnerPrincipal
from auth.profiles import profile_for
from resolvers.context import Context
from resolvers.invoice_events import InvoiceChange
from schema.errors import present
from schema.registry import SchemaRegistry
from schema.webhooks import check_query
from services.errors import BadInput
from services.event_log.audience import scope_key
from services.event_log.delivered import DeliveredEvent
from services.runtime import Runtime
from services.webhooks.dispatcher import WebhookDispatcher


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


def webhook_dispatcher(
    runtime: Runtime, registry: SchemaRegistry | None = None
) -> WebhookDispatcher:
    """A dispatcher rendering bodies on ``registry`` (default: one from the settings),
    set as ``runtime.webhooks`` so that changes can wake it."""
    schemas = registry or SchemaRegistry.from_settings(runtime.settings)
    dispatcher = WebhookDispatcher(runtime, WebhookPayloads(runtime, schemas))
    runtime.webhooks = dispatcher
    runtime.events.when_numbered(dispatcher.kick)
    return dispatcher
