"""Access helpers: every read of a row that a request names goes through here.

Each ``*_scope`` returns the conditions that limit a table to what the principal may
see; each ``access_*`` loads one row by id inside that scope. A row outside the scope
answers :class:`NotFound`, exactly like a row that does not exist, so ids cannot be probed.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, false, or_
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.policy import Permission
from auth.principals import (
    Anonymous,
    AuthenticatedPrincipal,
    ContactPrincipal,
    PartnerPrincipal,
    Principal,
    StaffPrincipal,
)
from auth.profiles import profile_for
from models.accounts import Account, StaffUser
from models.activity import Activity
from models.auth import ApiToken
from models.auto_bill import InvoiceAutoBill
from models.clients import Client, Contact
from models.credits import Credit, CreditApplication
from models.documents import Document
from models.enums import (
    CreditStatus,
    InvoiceStatus,
    Module,
    QuoteStatus,
    RecurringStatus,
    TaskVisibility,
)
from models.invoices import Invoice, InvoiceLine
from models.payment_methods import SavedPaymentMethod
from models.payments import (
    SETTLED_STATUSES,
    Payment,
    PaymentAllocation,
    PaymentDispute,
    PaymentRefund,
)
from models.prepayments import RecurringPrepayment
from models.projects import Project, Task, TaskComment
from models.quotes import Quote, QuoteLine
from models.recurring import RecurringInvoice, RecurringInvoiceLine
from models.subscriptions import Subscription, SubscriptionPlan
from models.support import SupportTicket, TicketMessage
from models.time_logs import TimeLog
from services.constant_in import none_of, one_of
from services.errors import Forbidden, NotFound, Unauthenticated

RowT = TypeVar("RowT", bound=SQLModel)
Conditions = list[ColumnElement[bool]]

HIDDEN_INVOICE_STATUSES = (InvoiceStatus.DRAFT, InvoiceStatus.VOID)
HIDDEN_QUOTE_STATUSES = (QuoteStatus.DRAFT,)


def require_authenticated(principal: Principal) -> AuthenticatedPrincipal:
    if isinstance(principal, Anonymous):
        raise Unauthenticated()
    return principal


def require_staff(principal: Principal) -> StaffPrincipal:
    if isinstance(principal, StaffPrincipal):
        return principal
    if isinstance(principal, Anonymous):
        raise Unauthenticated()
    raise Forbidden()


def _tenant(model: Any, principal: Principal) -> Conditions:
    if isinstance(principal, Anonymous):
        return [false()]
    return [model.account_id == principal.account_id]


def _own_client(model: Any, principal: Principal) -> Conditions:
    conditions = _tenant(model, principal)
    if isinstance(principal, ContactPrincipal):
        conditions.append(model.client_id == principal.client_id)
    return conditions


def account_scope(principal: Principal) -> Conditions:
    """The caller's own account (its settings, branding and time zone), for every
    authenticated caller; anonymous callers none (they read branding by slug)."""
    if isinstance(principal, Anonymous):
        return [false()]
    return [col(Account.id) == principal.account_id]


def client_scope(principal: Principal) -> Conditions:
    conditions = _tenant(Client, principal)
    if isinstance(principal, ContactPrincipal):
        conditions.append(col(Client.id) == principal.client_id)
    return conditions


def contact_scope(principal: Principal) -> Conditions:
    return _own_client(Contact, principal)


def staff_user_scope(principal: Principal) -> Conditions:
    if not isinstance(principal, StaffPrincipal):
        return [false()]
    return _tenant(StaffUser, principal)


def staff_name_scope(principal: Principal) -> Conditions:
    """The staff users whose display *name* the caller may read: those of its account,
    for any caller of the account (a contact reads who commented on a task). Only names
    are read in this scope; whole staff rows are :func:`staff_user_scope`'s."""
    return _tenant(StaffUser, principal)


def api_token_scope(principal: Principal) -> Conditions:
    """Staff: their account's API tokens (the timeline names who acted). A partner: its
    own token only. Contacts and anonymous callers: none."""
    if isinstance(principal, StaffPrincipal):
        return _tenant(ApiToken, principal)
    if isinstance(principal, PartnerPrincipal):
        return [*_tenant(ApiToken, principal), col(ApiToken.id) == principal.token_id]
    return [false()]


def invoice_scope(principal: Principal) -> Conditions:
    """Contacts and partners never see drafts or voided invoices."""
    conditions = _own_client(Invoice, principal)
    if isinstance(principal, ContactPrincipal | PartnerPrincipal):
        conditions.append(none_of(col(Invoice.status), HIDDEN_INVOICE_STATUSES))
    return conditions


def quote_scope(principal: Principal) -> Conditions:
    conditions = _own_client(Quote, principal)
    if isinstance(principal, ContactPrincipal | PartnerPrincipal):
        conditions.append(none_of(col(Quote.status), HIDDEN_QUOTE_STATUSES))
    return conditions


def payment_scope(principal: Principal) -> Conditions:
    return _own_client(Payment, principal)


# Rows that are only read below their parent (lines, allocations, applications,
# comments) are scoped to the caller's account: the parent was read in its own scope
# first, so the caller sees the children of the parents it sees.


def invoice_line_scope(principal: Principal) -> Conditions:
    """The lines of the account's invoices, read below an invoice in :func:`invoice_scope`."""
    return _tenant(InvoiceLine, principal)


def quote_line_scope(principal: Principal) -> Conditions:
    """The lines of the account's quotes, read below a quote in :func:`quote_scope`."""
    return _tenant(QuoteLine, principal)


def payment_allocation_scope(principal: Principal) -> Conditions:
    """The account's payment allocations, read below a payment in :func:`payment_scope`:
    a payment shows its whole split, a pending one its planned split."""
    return _tenant(PaymentAllocation, principal)


def payment_refund_scope(principal: Principal) -> Conditions:
    """The account's refunds, read below a payment in :func:`payment_scope`."""
    return _tenant(PaymentRefund, principal)


def payment_dispute_scope(principal: Principal) -> Conditions:
    """The account's disputes, read below a payment in :func:`payment_scope`."""
    return _tenant(PaymentDispute, principal)


def settled_allocation_scope(principal: Principal) -> Conditions:
    """The allocations of the account's received (settled) payments only, as read below
    an invoice in :func:`invoice_scope`: a pending portal payment's planned split is not
    (yet) money on the invoice."""

    settled = select(Payment.id).where(
        *_tenant(Payment, principal), one_of(col(Payment.status), SETTLED_STATUSES)
    )
    return [*_tenant(PaymentAllocation, principal), col(PaymentAllocation.payment_id).in_(settled)]


async def _access(
    session: AsyncSession,
    model: type[RowT],
    conditions: Conditions,
    row_id: uuid.UUID,
    what: str,
    *,
    lock: bool = False,
) -> RowT:
    """One row in scope; ``lock`` takes a row lock (PostgreSQL ``FOR UPDATE``) for a
    change that reads before it writes."""
    statement = select(model).where(model.id == row_id, *conditions)  # type: ignore[attr-defined]
    if lock:
        statement = statement.with_for_update()
    row = (await session.exec(statement)).one_or_none()
    if row is None:
        raise NotFound(what)
    return row


async def access_client(
    session: AsyncSession, principal: Principal, client_id: uuid.UUID, *, lock: bool = False
) -> Client:
    return await _access(session, Client, client_scope(principal), client_id, "Client", lock=lock)


async def access_contact(
    session: AsyncSession, principal: Principal, contact_id: uuid.UUID, *, lock: bool = False
) -> Contact:
    return await _access(
        session, Contact, contact_scope(principal), contact_id, "Contact", lock=lock
    )


async def access_invoice(
    session: AsyncSession, principal: Principal, invoice_id: uuid.UUID, *, lock: bool = False
) -> Invoice:
    return await _access(
        session, Invoice, invoice_scope(principal), invoice_id, "Invoice", lock=lock
    )


async def access_quote(
    session: AsyncSession, principal: Principal, quote_id: uuid.UUID, *, lock: bool = False
) -> Quote:
    return await _access(session, Quote, quote_scope(principal), quote_id, "Quote", lock=lock)


async def access_payment(
    session: AsyncSession, principal: Principal, payment_id: uuid.UUID, *, lock: bool = False
) -> Payment:
    return await _access(
        session, Payment, payment_scope(principal), payment_id, "Payment", lock=lock
    )


# --- credits, recurring invoices, subscriptions, payment methods ---------------------

HIDDEN_CREDIT_STATUSES = (CreditStatus.VOID,)
HIDDEN_RECURRING_STATUSES = (RecurringStatus.DRAFT,)


def credit_scope(principal: Principal) -> Conditions:
    """Contacts and partners never see voided credits."""
    conditions = _own_client(Credit, principal)
    if isinstance(principal, ContactPrincipal | PartnerPrincipal):
        conditions.append(Credit.status.not_in(HIDDEN_CREDIT_STATUSES))  # type: ignore[attr-defined]
    return conditions


def recurring_invoice_scope(principal: Principal) -> Conditions:
    """Contacts and partners never see draft schedules."""
    conditions = _own_client(RecurringInvoice, principal)
    if isinstance(principal, ContactPrincipal | PartnerPrincipal):
        conditions.append(
            RecurringInvoice.status.not_in(HIDDEN_RECURRING_STATUSES)  # type: ignore[attr-defined]
        )
    return conditions


def subscription_scope(principal: Principal) -> Conditions:
    return _own_client(Subscription, principal)


def credit_application_scope(principal: Principal) -> Conditions:
    """The account's credit applications, read below a credit in :func:`credit_scope`."""
    return _tenant(CreditApplication, principal)


def recurring_invoice_line_scope(principal: Principal) -> Conditions:
    """The lines of the account's recurring invoices, read below a schedule in
    :func:`recurring_invoice_scope`."""
    return _tenant(RecurringInvoiceLine, principal)


def plan_scope(principal: Principal) -> Conditions:
    """Plans are the account's price list: every caller of the account may read them."""
    return _tenant(SubscriptionPlan, principal)


def prepayment_scope(principal: Principal) -> Conditions:
    return _own_client(RecurringPrepayment, principal)


def payment_method_scope(principal: Principal) -> Conditions:
    return _own_client(SavedPaymentMethod, principal)


def auto_bill_scope(principal: Principal) -> Conditions:
    """An invoice's automatic charge, read below the invoice in :func:`invoice_scope`."""
    return _own_client(InvoiceAutoBill, principal)


# --- projects, tasks, documents, time logs -------------------------------------------


def project_scope(principal: Principal) -> Conditions:
    return _own_client(Project, principal)


SHARED_TASK_VISIBILITIES = (TaskVisibility.CLIENT_VISIBLE, TaskVisibility.CLIENT_EDITABLE)


def task_scope(principal: Principal) -> Conditions:
    """Contacts see only the tasks shared with their client (never INTERNAL ones);
    partners, like the contacts of every client of the account, only shared tasks too."""
    conditions = _own_client(Task, principal)
    if isinstance(principal, ContactPrincipal | PartnerPrincipal):
        conditions.append(one_of(col(Task.visibility), SHARED_TASK_VISIBILITIES))
    return conditions


def task_comment_scope(principal: Principal) -> Conditions:
    """The comments on the account's tasks, read below a task in :func:`task_scope` (so a
    contact reads the comments of shared tasks only)."""
    return _tenant(TaskComment, principal)


def document_scope(principal: Principal) -> Conditions:
    """Contacts see their client's documents that are shared in the portal or that a
    contact of their client uploaded. Partners see what the contacts of the account's
    clients see: a client's documents shared in the portal or uploaded by one of that
    client's contacts; never internal or account-wide files."""
    conditions = _own_client(Document, principal)
    if isinstance(principal, ContactPrincipal | PartnerPrincipal):
        conditions.append(col(Document.client_id).is_not(None))
        conditions.append(
            or_(
                Document.visible_in_portal.is_(True),  # type: ignore[attr-defined]
                Document.uploaded_by_client.is_(True),  # type: ignore[attr-defined]
            )
        )
    return conditions


def time_log_scope(principal: Principal) -> Conditions:
    """Contacts see the time logged on their client's projects (time logs carry no
    client of their own); partners, like the contacts of every client, the time logged
    on the account's client projects. A log's task is read through :func:`task_scope`,
    so an unshared task stays hidden behind it."""
    conditions = _tenant(TimeLog, principal)
    if isinstance(principal, ContactPrincipal | PartnerPrincipal):
        client_projects = select(Project.id).where(*_own_client(Project, principal))
        conditions.append(TimeLog.project_id.in_(client_projects))  # type: ignore[attr-defined]
    return conditions


def support_ticket_scope(principal: Principal) -> Conditions:
    """Contacts see their own client's tickets, never another client's; partners none
    (no scope reads tickets)."""
    if isinstance(principal, PartnerPrincipal):
        return [false()]
    return _own_client(SupportTicket, principal)


def ticket_message_scope(principal: Principal) -> Conditions:
    """The messages of the account's tickets, read below a ticket in
    :func:`support_ticket_scope`; contacts never read internal notes."""
    conditions = _tenant(TicketMessage, principal)
    if not isinstance(principal, StaffPrincipal):
        conditions.append(col(TicketMessage.internal).is_(False))
    return conditions


async def access_credit(
    session: AsyncSession, principal: Principal, credit_id: uuid.UUID, *, lock: bool = False
) -> Credit:
    return await _access(session, Credit, credit_scope(principal), credit_id, "Credit", lock=lock)


async def access_recurring_invoice(
    session: AsyncSession,
    principal: Principal,
    recurring_invoice_id: uuid.UUID,
    *,
    lock: bool = False,
) -> RecurringInvoice:
    return await _access(
        session,
        RecurringInvoice,
        recurring_invoice_scope(principal),
        recurring_invoice_id,
        "Recurring invoice",
        lock=lock,
    )


async def access_subscription(
    session: AsyncSession,
    principal: Principal,
    subscription_id: uuid.UUID,
    *,
    lock: bool = False,
) -> Subscription:
    return await _access(
        session,
        Subscription,
        subscription_scope(principal),
        subscription_id,
        "Subscription",
        lock=lock,
    )


async def access_plan(
    session: AsyncSession, principal: Principal, plan_id: uuid.UUID, *, lock: bool = False
) -> SubscriptionPlan:
    return await _access(
        session, SubscriptionPlan, plan_scope(principal), plan_id, "Subscription plan", lock=lock
    )


async def access_recurring_prepayment(
    session: AsyncSession, principal: Principal, prepayment_id: uuid.UUID, *, lock: bool = False
) -> RecurringPrepayment:
    return await _access(
        session,
        RecurringPrepayment,
        prepayment_scope(principal),
        prepayment_id,
        "Recurring pre-payment",
        lock=lock,
    )


async def access_payment_method(
    session: AsyncSession,
    principal: Principal,
    payment_method_id: uuid.UUID,
    *,
    lock: bool = False,
) -> SavedPaymentMethod:
    return await _access(
        session,
        SavedPaymentMethod,
        payment_method_scope(principal),
        payment_method_id,
        "Payment method",
        lock=lock,
    )


async def access_project(
    session: AsyncSession, principal: Principal, project_id: uuid.UUID, *, lock: bool = False
) -> Project:
    return await _access(
        session, Project, project_scope(principal), project_id, "Project", lock=lock
    )


async def access_task(
    session: AsyncSession, principal: Principal, task_id: uuid.UUID, *, lock: bool = False
) -> Task:
    return await _access(session, Task, task_scope(principal), task_id, "Task", lock=lock)


async def access_support_ticket(
    session: AsyncSession, principal: Principal, ticket_id: uuid.UUID, *, lock: bool = False
) -> SupportTicket:
    return await _access(
        session,
        SupportTicket,
        support_ticket_scope(principal),
        ticket_id,
        "Support ticket",
        lock=lock,
    )


async def access_time_log(
    session: AsyncSession, principal: Principal, time_log_id: uuid.UUID, *, lock: bool = False
) -> TimeLog:
    return await _access(
        session, TimeLog, time_log_scope(principal), time_log_id, "Time log", lock=lock
    )


async def access_document(
    session: AsyncSession, principal: Principal, document_id: uuid.UUID, *, lock: bool = False
) -> Document:
    return await _access(
        session, Document, document_scope(principal), document_id, "Document", lock=lock
    )


# --- activity ---------------------------------------------------------------------------

ACTIVITY_SUBJECTS: dict[str, tuple[Permission, Module | None]] = {
    "invoice": (Permission.INVOICES_READ, Module.INVOICES),
    "quote": (Permission.QUOTES_READ, Module.QUOTES),
    "payment": (Permission.PAYMENTS_READ, Module.PAYMENTS),
    "credit": (Permission.CREDITS_READ, Module.CREDITS),
    "recurring_invoice": (Permission.RECURRING_READ, Module.RECURRING_INVOICES),
    "subscription": (Permission.SUBSCRIPTIONS_READ, Module.SUBSCRIPTIONS),
    "recurring_prepayment": (Permission.PAYMENTS_READ, Module.PAYMENTS),
    "payment_method": (Permission.PAYMENT_METHODS_READ, Module.PAYMENT_METHODS),
    "statement": (Permission.STATEMENTS_READ, Module.STATEMENTS),
    "project": (Permission.PROJECTS_READ, Module.PROJECTS),
    "task": (Permission.TASKS_READ, Module.TASKS),
    "task_comment": (Permission.TASKS_READ, Module.TASKS),
    "document": (Permission.DOCUMENTS_READ, Module.DOCUMENTS),
    "time_log": (Permission.TIME_LOGS_READ, Module.TIME_LOGS),
    "support_ticket": (Permission.TICKETS_READ, Module.SUPPORT_TICKETS),
    "client": (Permission.CLIENTS_READ, None),
    "contact": (Permission.CLIENTS_READ, None),
    "staff_user": (Permission.STAFF_READ, None),
    "api_token": (Permission.ACCOUNT_ADMIN, None),
    "account": (Permission.ACCOUNT_ADMIN, None),
}
"""What reading an activity entry needs, by its ``subject_type``: the permission (and
module) that reading the subject itself needs, so the timeline shows nobody more than
the rest of the schema does (a COLLABORATOR contact or a MEMBER sees no money)."""


def activity_scope(principal: Principal) -> Conditions:
    """Staff: their account's entries about subjects their role may read (entries of an
    unlisted subject type are staff-only). Contacts: their client's ``visible_to_client``
    entries about subjects their role and modules allow, never about a draft invoice or
    quote or a task that is INTERNAL now. Partners: like a contact, across the account."""
    conditions = _own_client(Activity, principal)
    if isinstance(principal, Anonymous):
        return conditions
    profile = profile_for(principal)
    allowed = [
        subject
        for subject, (permission, module) in ACTIVITY_SUBJECTS.items()
        if profile.allows(permission, module)
    ]
    subject_type = col(Activity.subject_type)
    if isinstance(principal, StaffPrincipal):
        conditions.append(
            or_(subject_type.in_(allowed), subject_type.not_in(list(ACTIVITY_SUBJECTS)))
        )
        return conditions
    drafts = [
        (
            "invoice",
            select(Invoice.id).where(
                *_tenant(Invoice, principal), Invoice.status == InvoiceStatus.DRAFT
            ),
        ),
        (
            "quote",
            select(Quote.id).where(*_tenant(Quote, principal), Quote.status == QuoteStatus.DRAFT),
        ),
        (
            "task",
            select(Task.id).where(
                *_tenant(Task, principal), Task.visibility == TaskVisibility.INTERNAL
            ),
        ),
    ]
    conditions.append(col(Activity.visible_to_client).is_(True))
    conditions.append(subject_type.in_(allowed))
    for kind, ids in drafts:
        conditions.append(or_(subject_type != kind, col(Activity.subject_id).not_in(ids)))
    return conditions
