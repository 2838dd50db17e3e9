"""Recurring invoices: reading the schedules, and the contact's auto-bill choice."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import ContactPrincipal, Principal
from models.enums import AutoBill, RecurringStatus
from models.recurring import RecurringInvoice
from models.types import utcnow
from services import activity
from services.access import access_recurring_invoice, recurring_invoice_scope
from services.errors import Conflict, Forbidden
from services.pagination import Page, paginate

CLIENT_CHOICE_POLICIES = (AutoBill.OPT_IN, AutoBill.OPT_OUT)
"""The auto-bill policies under which the client's own choice counts."""


@dataclass(slots=True)
class RecurringInvoiceFilter:
    client_id: uuid.UUID | None = None
    statuses: list[RecurringStatus] = field(default_factory=list)


async def list_recurring_invoices(
    *,
    session: AsyncSession,
    principal: Principal,
    filters: RecurringInvoiceFilter,
    first: int | None,
    after: str | None,
) -> Page[RecurringInvoice]:
    statement = select(RecurringInvoice).where(*recurring_invoice_scope(principal))
    if filters.client_id is not None:
        statement = statement.where(RecurringInvoice.client_id == filters.client_id)
    if filters.statuses:
        statement = statement.where(
            RecurringInvoice.status.in_(filters.statuses)  # type: ignore[attr-defined]
        )
    return await paginate(session, statement, RecurringInvoice, first=first, after=after)


def client_may_choose_auto_bill(recurring: RecurringInvoice) -> bool:
    """Whether the client's contact may switch automatic billing on or off."""
    return (
        recurring.auto_bill in CLIENT_CHOICE_POLICIES
        and recurring.status is not RecurringStatus.COMPLETED
    )


async def set_auto_bill(
    *,
    session: AsyncSession,
    actor: ContactPrincipal,
    recurring_invoice_id: uuid.UUID,
    enabled: bool,
) -> RecurringInvoice:
    """The contact's choice to have each issued invoice charged automatically. Only
    schedules whose policy is ``OPT_IN`` or ``OPT_OUT`` leave the choice to the client;
    choosing what is already chosen changes (and records) nothing."""
    if actor.read_only:
        raise Forbidden()
    recurring = await access_recurring_invoice(session, actor, recurring_invoice_id, lock=True)
    if recurring.auto_bill not in CLIENT_CHOICE_POLICIES:
        raise Conflict("Automatic billing of this recurring invoice is set by the business.")
    if recurring.status is RecurringStatus.COMPLETED:
        raise Conflict("This recurring invoice has completed its schedule.")
    if recurring.auto_bill_enabled == enabled:
        return recurring
    recurring.auto_bill_enabled = enabled
    recurring.updated_at = utcnow()
    activity.record(
        session,
        account_id=actor.account_id,
        actor=actor,
        verb="recurring_invoice.auto_bill_changed",
        subject_type="recurring_invoice",
        subject_id=recurring.id,
        client_id=recurring.client_id,
        details={"enabled": enabled},
    )
    return recurring
