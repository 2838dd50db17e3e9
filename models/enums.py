"""Every enumeration the data model stores. Values are stored as their names."""

from __future__ import annotations

from enum import StrEnum


class StaffRole(StrEnum):
    OWNER = "OWNER"
    ADMIN = "ADMIN"
    MANAGER = "MANAGER"
    MEMBER = "MEMBER"


class ContactRole(StrEnum):
    BILLING = "BILLING"
    COLLABORATOR = "COLLABORATOR"
    VIEWER = "VIEWER"


class Module(StrEnum):
    CLIENT_PORTAL = "CLIENT_PORTAL"
    INVOICES = "INVOICES"
    QUOTES = "QUOTES"
    RECURRING_INVOICES = "RECURRING_INVOICES"
    PAYMENTS = "PAYMENTS"
    CREDITS = "CREDITS"
    SUBSCRIPTIONS = "SUBSCRIPTIONS"
    PAYMENT_METHODS = "PAYMENT_METHODS"
    STATEMENTS = "STATEMENTS"
    DOCUMENTS = "DOCUMENTS"
    PROJECTS = "PROJECTS"
    TASKS = "TASKS"
    TIME_LOGS = "TIME_LOGS"
    SUPPORT_TICKETS = "SUPPORT_TICKETS"


class InvoiceStatus(StrEnum):
    DRAFT = "DRAFT"
    SENT = "SENT"
    VIEWED = "VIEWED"
    PARTIAL = "PARTIAL"
    PAID = "PAID"
    VOID = "VOID"


class PaidState(StrEnum):
    UNPAID = "UNPAID"
    PARTIAL = "PARTIAL"
    PAID = "PAID"
    VOID = "VOID"


class QuoteStatus(StrEnum):
    DRAFT = "DRAFT"
    SENT = "SENT"
    VIEWED = "VIEWED"
    APPROVED = "APPROVED"
    DECLINED = "DECLINED"
    EXPIRED = "EXPIRED"
    CONVERTED = "CONVERTED"


class QuoteKind(StrEnum):
    ESTIMATE = "ESTIMATE"
    PROPOSAL = "PROPOSAL"


class PaymentMethodKind(StrEnum):
    """How a payment arrived."""

    CASH = "CASH"
    BANK_TRANSFER = "BANK_TRANSFER"
    CHECK = "CHECK"
    CARD = "CARD"
    OTHER = "OTHER"


class PaymentStatus(StrEnum):
    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    """The provider accepted it and is still clearing it (bank debits)."""
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    """Never charged: replaced by a newer attempt, or canceled at the provider."""
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    REFUNDED = "REFUNDED"
    DISPUTED = "DISPUTED"
    """The payer disputed the card charge with their bank; it still counts on its
    invoices until the dispute is lost."""
    CHARGED_BACK = "CHARGED_BACK"
    """A dispute was lost: the bank took the money back, the payment no longer counts and
    its invoices owe what it had paid."""


class RefundStatus(StrEnum):
    """A refund asked of the payment provider (Stripe): it moves money only once
    SUCCEEDED."""

    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class CreditStatus(StrEnum):
    OPEN = "OPEN"
    APPLIED = "APPLIED"
    VOID = "VOID"


class Frequency(StrEnum):
    WEEKLY = "WEEKLY"
    TWO_WEEKS = "TWO_WEEKS"
    MONTHLY = "MONTHLY"
    TWO_MONTHS = "TWO_MONTHS"
    THREE_MONTHS = "THREE_MONTHS"
    SIX_MONTHS = "SIX_MONTHS"
    YEARLY = "YEARLY"


class AutoBill(StrEnum):
    OFF = "OFF"
    ALWAYS = "ALWAYS"
    OPT_IN = "OPT_IN"
    OPT_OUT = "OPT_OUT"


class AutoBillStatus(StrEnum):
    """Where the automatic charge of one invoice is (:mod:`models.auto_bill`)."""

    SCHEDULED = "SCHEDULED"
    """Waiting for its next attempt (``next_attempt_at``)."""
    CHARGING = "CHARGING"
    """An attempt is with Stripe."""
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    """Every attempt failed; no more are made."""
    ACTION_REQUIRED = "ACTION_REQUIRED"
    """The bank asks the client to authenticate (3-D Secure): only the client can pay."""
    CANCELED = "CANCELED"
    """Not needed any more: the invoice was paid otherwise, voided, or auto-billing
    was switched off."""


class RecurringStatus(StrEnum):
    DRAFT = "DRAFT"
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"


class PlanInterval(StrEnum):
    WEEK = "WEEK"
    MONTH = "MONTH"
    YEAR = "YEAR"


class SubscriptionStatus(StrEnum):
    TRIALING = "TRIALING"
    ACTIVE = "ACTIVE"
    PAST_DUE = "PAST_DUE"
    """A period's charge failed: retried on the auto-bill schedule."""
    UNPAID = "UNPAID"
    """Every retry failed and the account keeps such subscriptions: no more periods are
    billed until staff resume it."""
    CANCELED = "CANCELED"
    INCOMPLETE = "INCOMPLETE"


class UnpaidSubscriptionAction(StrEnum):
    """What becomes of a subscription once every retry of a period's charge failed."""

    UNPAID = "UNPAID"
    CANCELED = "CANCELED"


class PartnerDocuments(StrEnum):
    """Which documents the account's partner API tokens may run."""

    ANY = "ANY"
    REGISTERED = "REGISTERED"
    """Only documents an account admin registered (``registerPersistedQuery``)."""


class SubscriptionCharge(StrEnum):
    """Why a subscription issued an invoice."""

    PERIOD = "PERIOD"
    """A billing period, in advance."""
    PLAN_CHANGE = "PLAN_CHANGE"
    """The prorated difference of a plan change."""


class PrepaymentStatus(StrEnum):
    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"
    """Every cycle was charged."""
    CANCELED = "CANCELED"


class ProjectStatus(StrEnum):
    ACTIVE = "ACTIVE"
    ON_HOLD = "ON_HOLD"
    COMPLETED = "COMPLETED"
    ARCHIVED = "ARCHIVED"


class TaskStatus(StrEnum):
    TODO = "TODO"
    IN_PROGRESS = "IN_PROGRESS"
    DONE = "DONE"


class TaskVisibility(StrEnum):
    """Who sees a task: staff only, the client's contacts too, or the contacts may also
    move it on the board (change its status)."""

    INTERNAL = "INTERNAL"
    CLIENT_VISIBLE = "CLIENT_VISIBLE"
    CLIENT_EDITABLE = "CLIENT_EDITABLE"


class TicketStatus(StrEnum):
    OPEN = "OPEN"
    PENDING = "PENDING"
    RESOLVED = "RESOLVED"
    CLOSED = "CLOSED"


class TicketPriority(StrEnum):
    LOW = "LOW"
    NORMAL = "NORMAL"
    HIGH = "HIGH"
    URGENT = "URGENT"


class ActorKind(StrEnum):
    """Who caused an activity entry."""

    STAFF = "STAFF"
    CONTACT = "CONTACT"
    PARTNER = "PARTNER"
    SYSTEM = "SYSTEM"


class SessionKind(StrEnum):
    STAFF = "STAFF"
    CONTACT = "CONTACT"
    VIEW_AS = "VIEW_AS"


class LinkPurpose(StrEnum):
    """What a portal link is for; each purpose signs with its own salt."""

    MAGIC_LINK = "MAGIC_LINK"
    INVITE = "INVITE"
    DASHBOARD = "DASHBOARD"
    DOCUMENT = "DOCUMENT"
    PASSWORD_RESET = "PASSWORD_RESET"
    EMAIL_VERIFICATION = "EMAIL_VERIFICATION"


class MailStatus(StrEnum):
    QUEUED = "QUEUED"
    SENT = "SENT"
    FAILED = "FAILED"
