"""The events of a recurring invoice's schedule, one recorder each (:mod:`services.events`).

========================================  =====================  =========================
verb                                      when                   details
========================================  =====================  =========================
``recurring_invoice.created``             staff draft it         none
``recurring_invoice.updated``             staff edit it          none
``recurring_invoice.started``             staff start it         ``next_send_date``
``recurring_invoice.paused``              staff pause it, or     ``reason`` when the
                                          the scheduler (its     system paused it
                                          client was archived)   (``client_archived``)
``recurring_invoice.resumed``             staff resume it        ``next_send_date``
``recurring_invoice.deleted``             staff delete a draft   none
``recurring_invoice.completed``           its last cycle was     none
                                          issued
``recurring_invoice.generated``           the scheduler issued   ``number``,
                                          one period's invoice   ``recurring_invoice_id``,
                                                                 ``period``,
                                                                 ``invoice_id``,
                                                                 ``charge_automatically``
``recurring_invoice.auto_bill_changed``   a contact switches     ``enabled``
                                          automatic billing
========================================  =====================  =========================

Dates are ISO strings. Shown to the client: the schedule's life once it has started
(started, paused, resumed, completed, the contact's auto-bill choice), never while it is a
draft; a staff edit stays internal, and so does ``generated`` (the issued invoice's own
``invoice.created`` and ``invoice.sent`` show it). These events do not go to the outbox.
"""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import ContactPrincipal, Principal, StaffPrincipal
from models.activity import Verb
from models.enums import RecurringStatus
from models.invoices import Invoice
from models.recurring import RecurringInvoice
from services import activity


def _record(
    session: AsyncSession,
    verb: Verb,
    recurring: RecurringInvoice,
    actor: Principal | None,
    details: dict[str, Any] | None = None,
    *,
    internal: bool = False,
) -> None:
    activity.record(
        session,
        account_id=recurring.account_id,
        actor=actor,
        verb=verb,
        subject_id=recurring.id,
        client_id=recurring.client_id,
        details=details,
        visible_to_client=not internal and recurring.status is not RecurringStatus.DRAFT,
    )


def _next_send_date(recurring: RecurringInvoice) -> dict[str, Any]:
    next_send_date = recurring.next_send_date
    return {"next_send_date": next_send_date.isoformat() if next_send_date else None}


def created(session: AsyncSession, recurring: RecurringInvoice, actor: StaffPrincipal) -> None:
    _record(session, Verb.RECURRING_INVOICE_CREATED, recurring, actor)


def updated(session: AsyncSession, recurring: RecurringInvoice, actor: StaffPrincipal) -> None:
    _record(session, Verb.RECURRING_INVOICE_UPDATED, recurring, actor, internal=True)


def started(session: AsyncSession, recurring: RecurringInvoice, actor: StaffPrincipal) -> None:
    _record(session, Verb.RECURRING_INVOICE_STARTED, recurring, actor, _next_send_date(recurring))


def paused(
    session: AsyncSession,
    recurring: RecurringInvoice,
    actor: Principal | None,
    *,
    reason: str | None = None,
) -> None:
    """By staff, or by the system (``actor`` ``None``) with its ``reason``."""
    details = {"reason": reason} if reason else None
    _record(session, Verb.RECURRING_INVOICE_PAUSED, recurring, actor, details)


def resumed(session: AsyncSession, recurring: RecurringInvoice, actor: StaffPrincipal) -> None:
    _record(session, Verb.RECURRING_INVOICE_RESUMED, recurring, actor, _next_send_date(recurring))


def deleted(session: AsyncSession, recurring: RecurringInvoice, actor: StaffPrincipal) -> None:
    """Recorded before the row is deleted (only a draft can be)."""
    _record(session, Verb.RECURRING_INVOICE_DELETED, recurring, actor)


def completed(session: AsyncSession, recurring: RecurringInvoice) -> None:
    """By the system, when issuing the last cycle."""
    _record(session, Verb.RECURRING_INVOICE_COMPLETED, recurring, None)


def generated(
    session: AsyncSession,
    recurring: RecurringInvoice,
    invoice: Invoice,
    *,
    charge_automatically: bool,
) -> None:
    """By the system: ``invoice`` was issued for its period."""
    period = invoice.recurring_period
    _record(
        session,
        Verb.RECURRING_INVOICE_GENERATED,
        recurring,
        None,
        {
            "number": invoice.number,
            "recurring_invoice_id": str(recurring.id),
            "period": period.isoformat() if period else None,
            "invoice_id": str(invoice.id),
            "charge_automatically": charge_automatically,
        },
        internal=True,
    )


def auto_bill_changed(
    session: AsyncSession, recurring: RecurringInvoice, actor: ContactPrincipal
) -> None:
    """The contact's choice, read from the schedule."""
    _record(
        session,
        Verb.RECURRING_INVOICE_AUTO_BILL_CHANGED,
        recurring,
        actor,
        {"enabled": recurring.auto_bill_enabled},
    )
