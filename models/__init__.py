"""The data model. Importing this package registers every table on ``SQLModel.metadata``."""

from sqlalchemy import MetaData
from sqlmodel import SQLModel

from models.accounts import Account, StaffUser
from models.activity import Activity
from models.auth import ApiToken, AuthSession
from models.auto_bill import InvoiceAutoBill
from models.clients import Client, Contact
from models.credits import Credit, CreditApplication
from models.documents import Document
from models.enums import (
    ActorKind,
    AutoBill,
    AutoBillStatus,
    ContactRole,
    CreditStatus,
    Frequency,
    InvoiceStatus,
    LinkPurpose,
    MailStatus,
    Module,
    PaidState,
    PaymentMethodKind,
    PaymentStatus,
    PlanInterval,
    ProjectStatus,
    QuoteKind,
    QuoteStatus,
    RecurringStatus,
    RefundStatus,
    SessionKind,
    StaffRole,
    SubscriptionStatus,
    TaskStatus,
    TaskVisibility,
    TicketPriority,
    TicketStatus,
)
from models.events import EventStream, OutboxEvent
from models.follows import Follow
from models.invoices import Invoice, InvoiceLine
from models.mail import MailMessage
from models.payment_methods import SavedPaymentMethod
from models.payments import Payment, PaymentAllocation, PaymentDispute, PaymentRefund
from models.persisted_queries import PersistedQuery
from models.portal import PortalLink
from models.prepayments import RecurringPrepayment
from models.projects import Project, Task, TaskComment
from models.quotes import Quote, QuoteLine
from models.recurring import RecurringInvoice, RecurringInvoiceLine
from models.stripe import StripeEvent
from models.subscriptions import Subscription, SubscriptionInvoice, SubscriptionPlan
from models.support import SupportTicket, TicketMessage
from models.time_logs import TimeLog
from models.webhooks import Webhook, WebhookAttempt, WebhookDelivery, WebhookDeliveryStatus


def metadata() -> MetaData:
    """The metadata holding every table (for ``create_all`` and Alembic)."""
    return SQLModel.metadata


__all__ = [
    "Account",
    "Activity",
    "ActorKind",
    "ApiToken",
    "AuthSession",
    "AutoBill",
    "AutoBillStatus",
    "Client",
    "Contact",
    "ContactRole",
    "Credit",
    "CreditApplication",
    "CreditStatus",
    "Document",
    "EventStream",
    "Follow",
    "Frequency",
    "Invoice",
    "InvoiceAutoBill",
    "InvoiceLine",
    "InvoiceStatus",
    "LinkPurpose",
    "MailMessage",
    "MailStatus",
    "Module",
    "OutboxEvent",
    "PaidState",
    "Payment",
    "PaymentAllocation",
    "PaymentDispute",
    "PaymentMethodKind",
    "PaymentRefund",
    "PaymentStatus",
    "PersistedQuery",
    "PlanInterval",
    "PortalLink",
    "Project",
    "ProjectStatus",
    "Quote",
    "QuoteKind",
    "QuoteLine",
    "QuoteStatus",
    "RecurringInvoice",
    "RecurringInvoiceLine",
    "RecurringPrepayment",
    "RecurringStatus",
    "RefundStatus",
    "SavedPaymentMethod",
    "SessionKind",
    "StaffRole",
    "StaffUser",
    "StripeEvent",
    "Subscription",
    "SubscriptionInvoice",
    "SubscriptionPlan",
    "SubscriptionStatus",
    "SupportTicket",
    "Task",
    "TaskComment",
    "TaskStatus",
    "TaskVisibility",
    "TicketMessage",
    "TicketPriority",
    "TicketStatus",
    "TimeLog",
    "Webhook",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookDeliveryStatus",
    "metadata",
]
