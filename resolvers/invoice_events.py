"""``invoiceChanged``: a subscriber's invoice events, from its cursor on, each checked
against the subscriber as it is now.

The stream comes from the broker (:mod:`services.event_log.broker`): replayed from the
log after ``after``, then live, each event once. For each event the subscriber is
re-read (revoked: the stream ends ``UNAUTHENTICATED``; profile changed, e.g. the
client's INVOICES module turned off: it ends ``FORBIDDEN``, to be opened again on the new
schema) and the invoice must be in its row scope (a contact never receives a draft, a
void or another client's invoice). Every answer is shared by the subscribers asking the
same question, and the GraphQL result by those with the same profile, scope and
selection (:class:`schema.event_execution.SharedEventExecutor`).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import datetime

from auth.principals import AuthenticatedPrincipal
from auth.profiles import Profile, profile_for
from models.invoices import Invoice
from resolvers.common import caller, parse_optional_id
from resolvers.context import Info
from services.errors import Forbidden, Unauthenticated
from services.event_log.audience import (
    addressed,
    credential_key,
    current_principal,
    invoice_visible,
    scope_key,
)
from services.event_log.delivered import DeliveredEvent, Delivery
from services.event_log.direct import Forwarder, document_key
from services.event_log.reading import check_cursor, format_cursor, parse_cursor
from services.runtime import Runtime


@dataclass(slots=True, frozen=True)
class InvoiceChange(Delivery):
    """One event as the subscriber's GraphQL ``InvoiceEvent``."""

    @property
    def cursor(self) -> str:
        return format_cursor(self.event.sequence)

    @property
    def kind(self) -> str:
        return self.event.kind

    @property
    def occurred_at(self) -> datetime:
        return self.event.occurred_at

    @property
    def invoice_id(self) -> uuid.UUID:
        return self.event.subject_id


async def invoice_of(info: Info, change: InvoiceChange) -> Invoice:
    invoice = await info.context.loaders.invoice_by_id.load(change.invoice_id)
    if invoice is None:  # deleted since: the event said what happened, the row is gone
        raise Forbidden("This invoice is no longer available.")
    return invoice


async def invoice_changed(
    info: Info, *, after: str | None, client_id: str | None
) -> AsyncGenerator[InvoiceChange, None]:
    principal = caller(info)
    runtime = info.context.runtime
    only_client = parse_optional_id(client_id, field="clientId")
    cursor = parse_cursor(after) if after is not None else None
    if cursor is not None:
        async with runtime.sessions() as session:
            await check_cursor(session, principal.account_id, cursor)
    subscribed = profile_for(principal)
    raw = info._raw_info
    forwarder = Forwarder.for_operation(
        lambda: document_key(raw.operation, raw.fragments, raw.variable_values)
    )
    async with runtime.events.listen(principal.account_id) as listener:

        async def prime(event: DeliveredEvent) -> None:
            if addressed(event, principal, only_client):
                await _change_for(runtime, event, principal)

        listener.primer = (("audience", credential_key(principal), only_client), prime)
        try:
            async for event in listener.events(cursor):
                if not addressed(event, principal, only_client):
                    continue
                now, change = await _change_for(runtime, event, principal)
                if now is None:
                    raise Unauthenticated("Your access has ended.")
                if now is not subscribed and now != subscribed:
                    raise Forbidden(
                        "Your access changed: subscribe again to receive what you may see now."
                    )
                if change is None:
                    continue
                if forwarder is not None and await forwarder.forward(event, change.share_key):
                    continue  # the same frame as its group's, sent without the pipeline
                yield change
                if forwarder is not None:
                    forwarder.settle()
        finally:
            if forwarder is not None:
                forwarder.settle()


async def _change_for(
    runtime: Runtime, event: DeliveredEvent, principal: AuthenticatedPrincipal
) -> tuple[Profile | None, InvoiceChange | None]:
    """The credential's profile as it reads now (``None``: it no longer authenticates)
    and the event as its subscribers receive it (``None``: not in their row scope) —
    read once per credential and event, and the same :class:`InvoiceChange` handed to
    every subscription of that credential."""

    async def read() -> tuple[Profile | None, InvoiceChange | None]:
        async with runtime.sessions() as session:
            current = await current_principal(session, principal)
        if current is None:
            return None, None
        profile = profile_for(current)
        if not await _visible(runtime, event, current):
            return profile, None
        return profile, InvoiceChange(event, current, (profile, scope_key(current)), runtime)

    return await event.once(("audience", credential_key(principal)), read)


async def _visible(
    runtime: Runtime, event: DeliveredEvent, principal: AuthenticatedPrincipal
) -> bool:
    async def read() -> bool:
        async with runtime.sessions() as session:
            return await invoice_visible(session, principal, event.subject_id)

    return await event.once(("visible", scope_key(principal)), read)
