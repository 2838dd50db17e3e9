"""The events of an invoice's life, one recorder each (:mod:`services.events`).

Each recorder is the only way its event is recorded: one activity entry and one outbox
event of topic ``invoice`` whose ``kind`` is the entry's verb, with the same details.
Partners receive these kinds (README, "Partner events"); the details are snake_case:

=============================  ========================  ================================
kind                           when                      details
=============================  ========================  ================================
``invoice.created``            staff draft it, or it is  ``number`` (none for a draft),
                               converted from a quote    ``source`` (``staff``, ``quote``,
                               / issued by a schedule    ``schedule``, ``subscription``);
                               or a subscription         from a quote
                                                         ``quote_id``, ``quote_number``;
                                                         from a schedule
                                                         ``recurring_invoice_id``,
                                                         ``period``
``invoice.updated``            staff edit it             ``number``
``invoice.sent``               it becomes SENT, or is    ``number``, ``source``
                               sent again                (``send``, ``mark_sent``,
                                                         ``quote``, ``schedule``,
                                                         ``subscription``)
``invoice.viewed``             a contact first opens it  ``number``
``invoice.payment_applied``    a payment's or credit's   ``number``, ``amount``,
                               share is put on it        ``balance``, and ``payment_id``
                                                         or ``credit_id``
``invoice.paid``               that share settles it     ``number``, ``amount`` (the
                                                         invoice's total)
``invoice.refunded``           a refund takes money      ``number``, ``amount``,
                               back from it              ``balance``, ``payment_id``
``invoice.payment_reversed``   a lost card dispute       ``number``, ``amount``,
                               (chargeback) takes a      ``balance``, ``payment_id``,
                               payment's money back      ``reason`` (``dispute_lost``)
``invoice.voided``             it is voided              ``number``
``invoice.overdue``            it passes its due date    ``number``, ``due_date``,
                               unpaid (issue 11)         ``balance``
=============================  ========================  ================================

Amounts are decimal strings. Shown to the client: an entry is on the client's timeline
when the client can see the invoice then, so never while it is a draft; a staff edit
(``invoice.updated``) stays internal, a voided draft too.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import Principal
from models.activity import EventTopic, Verb
from models.enums import InvoiceStatus
from models.invoices import Invoice
from models.quotes import Quote
from services import activity


class InvoiceOrigin(StrEnum):
    """Where an invoice came from (``invoice.created``'s ``source``)."""

    STAFF = "staff"
    """Drafted by staff (``createInvoice``); shown to the client once sent."""
    QUOTE = "quote"
    """An approved quote converted into a sent invoice."""
    SCHEDULE = "schedule"
    """Issued by the recurring scheduler."""
    SUBSCRIPTION = "subscription"
    """Issued for a subscription: a billing period, or a plan change's difference."""


class IssueSource(StrEnum):
    """How an invoice became SENT (``invoice.sent``'s ``source``)."""

    SEND = "send"
    """``sendInvoice``: mailed to the client's contacts with their links."""
    MARK_SENT = "mark_sent"
    """``markInvoiceSent``: delivered outside Portico, nothing mailed."""
    QUOTE = "quote"
    """Converted from a quote the client just approved in the portal: nothing mailed."""
    SCHEDULE = "schedule"
    """The recurring scheduler: mailed like a sent invoice."""
    SUBSCRIPTION = "subscription"
    """A subscription's period or plan change: mailed like a sent invoice."""

    @property
    def mails(self) -> bool:
        return self in (IssueSource.SEND, IssueSource.SCHEDULE, IssueSource.SUBSCRIPTION)

    @property
    def origin(self) -> InvoiceOrigin | None:
        """The origin of an invoice created and issued at once by this source."""
        return {
            IssueSource.QUOTE: InvoiceOrigin.QUOTE,
            IssueSource.SCHEDULE: InvoiceOrigin.SCHEDULE,
            IssueSource.SUBSCRIPTION: InvoiceOrigin.SUBSCRIPTION,
        }.get(self)


def _record(
    session: AsyncSession,
    verb: Verb,
    invoice: Invoice,
    actor: Principal | None,
    details: dict[str, Any],
    *,
    shown: bool | None = None,
) -> None:
    activity.record(
        session,
        account_id=invoice.account_id,
        actor=actor,
        verb=verb,
        subject_id=invoice.id,
        client_id=invoice.client_id,
        details={"number": invoice.number, **details},
        visible_to_client=invoice.status is not InvoiceStatus.DRAFT if shown is None else shown,
        event_topic=EventTopic.INVOICE,
        subject_status=invoice.status.value,
    )


def created(
    session: AsyncSession,
    invoice: Invoice,
    actor: Principal | None,
    origin: InvoiceOrigin,
    *,
    quote: Quote | None = None,
) -> None:
    """A new invoice; one made by a quote or a schedule is shown to the client at once
    (it is issued in the same transaction), a staff draft is not. ``quote``: the quote
    it was converted from; a schedule's invoice names its schedule and period itself."""
    details: dict[str, Any] = {"source": origin.value}
    if quote is not None:
        details |= {"quote_id": str(quote.id), "quote_number": quote.number}
    if origin is InvoiceOrigin.SCHEDULE and invoice.recurring_period is not None:
        details |= {
            "recurring_invoice_id": str(invoice.recurring_invoice_id),
            "period": invoice.recurring_period.isoformat(),
        }
    _record(
        session,
        Verb.INVOICE_CREATED,
        invoice,
        actor,
        details,
        shown=origin is not InvoiceOrigin.STAFF,
    )


def updated(session: AsyncSession, invoice: Invoice, actor: Principal) -> None:
    """Staff changed the invoice (internal: the client sees the result, not the edit)."""
    _record(session, Verb.INVOICE_UPDATED, invoice, actor, {}, shown=False)


def sent(
    session: AsyncSession, invoice: Invoice, actor: Principal | None, source: IssueSource
) -> None:
    _record(session, Verb.INVOICE_SENT, invoice, actor, {"source": source.value})


def viewed(session: AsyncSession, invoice: Invoice, actor: Principal) -> None:
    _record(session, Verb.INVOICE_VIEWED, invoice, actor, {})


def money_applied(
    session: AsyncSession,
    invoice: Invoice,
    actor: Principal | None,
    *,
    amount: str,
    payment_id: uuid.UUID | None = None,
    credit_id: uuid.UUID | None = None,
) -> None:
    """A payment's or credit's share was put on the invoice; when that settles it,
    ``invoice.paid`` follows."""
    source = {"payment_id": str(payment_id)} if payment_id else {"credit_id": str(credit_id)}
    _record(
        session,
        Verb.INVOICE_PAYMENT_APPLIED,
        invoice,
        actor,
        {"amount": amount, "balance": str(invoice.balance), **source},
    )
    if invoice.status is InvoiceStatus.PAID:
        _record(session, Verb.INVOICE_PAID, invoice, actor, {"amount": str(invoice.total)})


def refunded(
    session: AsyncSession,
    invoice: Invoice,
    actor: Principal | None,
    *,
    amount: str,
    payment_id: uuid.UUID,
) -> None:
    _record(
        session,
        Verb.INVOICE_REFUNDED,
        invoice,
        actor,
        {"amount": amount, "balance": str(invoice.balance), "payment_id": str(payment_id)},
    )


def payment_reversed(
    session: AsyncSession, invoice: Invoice, *, amount: str, payment_id: uuid.UUID, reason: str
) -> None:
    """By the system, on the provider's word: the payer's bank took the money back."""
    _record(
        session,
        Verb.INVOICE_PAYMENT_REVERSED,
        invoice,
        None,
        {
            "amount": amount,
            "balance": str(invoice.balance),
            "payment_id": str(payment_id),
            "reason": reason,
        },
    )


def voided(session: AsyncSession, invoice: Invoice, actor: Principal, *, was_shown: bool) -> None:
    """Voided; shown when the client could see the invoice before (it was not a draft)."""
    _record(session, Verb.INVOICE_VOIDED, invoice, actor, {}, shown=was_shown)


def overdue(session: AsyncSession, invoice: Invoice) -> None:
    """The scheduler saw the invoice pass its due date unpaid (:mod:`services.overdue`)."""
    due_date = invoice.due_date.isoformat() if invoice.due_date else None
    _record(
        session,
        Verb.INVOICE_OVERDUE,
        invoice,
        None,
        {"due_date": due_date, "balance": str(invoice.balance)},
    )
