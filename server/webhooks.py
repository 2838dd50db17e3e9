"""The webhook dispatcher of this server process, on the server's profile schemas."""

from __future__ import annotations

from schema.registry import SchemaRegistry
from schema.webhook_payloads import WebhookPayloads
from services.runtime import Runtime
from services.webhooks.dispatcher import WebhookDispatcher


def webhook_dispatcher(
    runtime: Runtime, registry: SchemaRegistry | None = None
) -> WebhookDispatcher:
    """A dispatcher rendering bodies on ``registry`` (default: one from the settings),
    set as ``runtime.webhooks`` so that changes can wake it."""
    schemas = registry or SchemaRegistry.from_settings(runtime.settings)
    dispatcher = WebhookDispatcher(runtime, WebhookPayloads(runtime, schemas))
    runtime.webhooks = dispatcher
    return dispatcher
