"""Partner events: the ``invoiceChanged`` subscription and the event type it streams."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import strawberry

from auth.policy import Permission
from models.activity import Verb
from models.enums import Module
from resolvers import invoice_events as resolvers
from resolvers.context import Info
from schema.directives import Requires

if TYPE_CHECKING:
    from schema.invoices import Invoice


@strawberry.enum(description="What happened to an invoice (as a webhook `kind`: `invoice.sent`).")
class InvoiceEventKind(StrEnum):
    CREATED = Verb.INVOICE_CREATED.value
    UPDATED = Verb.INVOICE_UPDATED.value
    SENT = Verb.INVOICE_SENT.value
    VIEWED = Verb.INVOICE_VIEWED.value
    PAYMENT_APPLIED = Verb.INVOICE_PAYMENT_APPLIED.value
    PAID = Verb.INVOICE_PAID.value
    REFUNDED = Verb.INVOICE_REFUNDED.value
    PAYMENT_REVERSED = Verb.INVOICE_PAYMENT_REVERSED.value
    VOIDED = Verb.INVOICE_VOIDED.value
    OVERDUE = Verb.INVOICE_OVERDUE.value


def _kind(root: resolvers.InvoiceChange) -> InvoiceEventKind:
    return InvoiceEventKind(root.kind)


@strawberry.type(description="Something that happened to an invoice.")
class InvoiceEvent:
    cursor: str = strawberry.field(
        description="Where this event is in the account's stream: pass it as `after` to "
        "resume after it (kept `event_retention_days`, default 30 days)."
    )
    kind: InvoiceEventKind = strawberry.field(description="What happened.", resolver=_kind)
    occurred_at: datetime = strawberry.field(description="When it happened (UTC).")

    @strawberry.field(description="The invoice as it is now (when the event is delivered).")
    async def invoice(self, info: Info) -> Annotated[Invoice, strawberry.lazy("schema.invoices")]:
        return await resolvers.invoice_of(info, self)  # type: ignore[arg-type,return-value]


_SUBSCRIBE = [
    Requires(permission=Permission.EVENTS_SUBSCRIBE),
    Requires(permission=Permission.INVOICES_READ, module=Module.INVOICES),
]


@strawberry.type
class InvoiceEventSubscription:
    @strawberry.subscription(
        description="Invoice events after `after` (a `cursor` you received; omitted: from "
        "now), in order, each once, then live. Contacts receive their own client's sent "
        "invoices only; `clientId` narrows to one client.",
        directives=_SUBSCRIBE,
    )
    async def invoice_changed(
        self, info: Info, after: str | None = None, client_id: strawberry.ID | None = None
    ) -> AsyncGenerator[InvoiceEvent, None]:
        async for change in resolvers.invoice_changed(info, after=after, client_id=client_id):
            yield change  # type: ignore[misc]
