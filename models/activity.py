"""The activity feed: a record of what happened, shown to staff and (when visible) to
the client's contacts; and its vocabulary: what happened (:class:`Verb`), to what
(:class:`SubjectType`), and which outbox stream carries it (:class:`EventTopic`)."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from models.base import account_fk, created_at_field, enum_field, id_field, list_order_index
from models.enums import ActorKind


class SubjectType(StrEnum):
    ACCOUNT = "account"
    API_TOKEN = "api_token"
    CLIENT = "client"
    CONTACT = "contact"
    CREDIT = "credit"
    DOCUMENT = "document"
    INVOICE = "invoice"
    PAYMENT = "payment"
    PAYMENT_METHOD = "payment_method"
    PERSISTED_QUERY = "persisted_query"
    PROJECT = "project"
    QUOTE = "quote"
    RECURRING_INVOICE = "recurring_invoice"
    RECURRING_PREPAYMENT = "recurring_prepayment"
    SUBSCRIPTION = "subscription"
    SUBSCRIPTION_PLAN = "subscription_plan"
    SUPPORT_TICKET = "support_ticket"
    TASK = "task"
    TIME_LOG = "time_log"
    WEBHOOK = "webhook"


class EventTopic(StrEnum):
    """An outbox stream partners subscribe to (``invoiceChanged`` reads ``invoice``)."""

    INVOICE = "invoice"


class Verb(StrEnum):
    """What happened, as ``<subject type>.<event>``; stored in ``activity.verb`` and, for
    the events partners receive, as the outbox event's ``kind``. A value is a public
    contract once partners see it: add members, never rename one."""

    ACCOUNT_SETTINGS_UPDATED = "account.settings_updated"
    ACCOUNT_STRIPE_CONNECTED = "account.stripe_connected"
    ACCOUNT_STRIPE_DISCONNECTED = "account.stripe_disconnected"
    API_TOKEN_CREATED = "api_token.created"
    API_TOKEN_REVOKED = "api_token.revoked"
    PERSISTED_QUERY_REGISTERED = "persisted_query.registered"
    PERSISTED_QUERY_DELETED = "persisted_query.deleted"
    CLIENT_CREATED = "client.created"
    CLIENT_UPDATED = "client.updated"
    CLIENT_ARCHIVED = "client.archived"
    CLIENT_RESTORED = "client.restored"
    CLIENT_REGISTERED = "client.registered"
    CONTACT_CREATED = "contact.created"
    CONTACT_UPDATED = "contact.updated"
    CONTACT_DELETED = "contact.deleted"
    CONTACT_INVITED = "contact.invited"
    CONTACT_INVITE_ACCEPTED = "contact.invite_accepted"
    CONTACT_PASSWORD_RESET = "contact.password_reset"
    CONTACT_SIGNED_IN = "contact.signed_in"
    CONTACT_ACCESS_REVOKED = "contact.access_revoked"
    CONTACT_DASHBOARD_LINK_CREATED = "contact.dashboard_link_created"
    CONTACT_VIEWED_AS = "contact.viewed_as"
    CREDIT_CREATED = "credit.created"
    CREDIT_APPLIED = "credit.applied"
    DOCUMENT_UPLOADED = "document.uploaded"
    DOCUMENT_UPDATED = "document.updated"
    DOCUMENT_DELETED = "document.deleted"
    INVOICE_CREATED = "invoice.created"
    INVOICE_UPDATED = "invoice.updated"
    INVOICE_SENT = "invoice.sent"
    INVOICE_VIEWED = "invoice.viewed"
    INVOICE_PAYMENT_APPLIED = "invoice.payment_applied"
    INVOICE_PAID = "invoice.paid"
    INVOICE_REFUNDED = "invoice.refunded"
    INVOICE_PAYMENT_REVERSED = "invoice.payment_reversed"
    INVOICE_VOIDED = "invoice.voided"
    INVOICE_OVERDUE = "invoice.overdue"
    PAYMENT_RECORDED = "payment.recorded"
    PAYMENT_APPLIED = "payment.applied"
    PAYMENT_STARTED = "payment.started"
    PAYMENT_COMPLETED = "payment.completed"
    PAYMENT_FAILED = "payment.failed"
    PAYMENT_PROCESSING = "payment.processing"
    PAYMENT_CANCELED = "payment.canceled"
    PAYMENT_REFUNDED = "payment.refunded"
    PAYMENT_AUTO_BILLED = "payment.auto_billed"
    PAYMENT_METHOD_SAVED = "payment_method.saved"
    PAYMENT_METHOD_DEFAULT_SET = "payment_method.default_set"
    PAYMENT_METHOD_REMOVED = "payment_method.removed"
    PAYMENT_REFUND_REQUESTED = "payment.refund_requested"
    PAYMENT_REFUND_FAILED = "payment.refund_failed"
    PAYMENT_DISPUTED = "payment.disputed"
    PAYMENT_DISPUTE_WON = "payment.dispute_won"
    PAYMENT_DISPUTE_LOST = "payment.dispute_lost"
    PROJECT_CREATED = "project.created"
    PROJECT_UPDATED = "project.updated"
    PROJECT_ARCHIVED = "project.archived"
    QUOTE_CREATED = "quote.created"
    QUOTE_SENT = "quote.sent"
    QUOTE_VIEWED = "quote.viewed"
    QUOTE_APPROVED = "quote.approved"
    QUOTE_DECLINED = "quote.declined"
    QUOTE_CONVERTED = "quote.converted"
    RECURRING_INVOICE_CREATED = "recurring_invoice.created"
    RECURRING_INVOICE_UPDATED = "recurring_invoice.updated"
    RECURRING_INVOICE_STARTED = "recurring_invoice.started"
    RECURRING_INVOICE_PAUSED = "recurring_invoice.paused"
    RECURRING_INVOICE_RESUMED = "recurring_invoice.resumed"
    RECURRING_INVOICE_DELETED = "recurring_invoice.deleted"
    RECURRING_INVOICE_COMPLETED = "recurring_invoice.completed"
    RECURRING_INVOICE_GENERATED = "recurring_invoice.generated"
    RECURRING_INVOICE_AUTO_BILL_CHANGED = "recurring_invoice.auto_bill_changed"
    RECURRING_PREPAYMENT_CREATED = "recurring_prepayment.created"
    RECURRING_PREPAYMENT_CHARGED = "recurring_prepayment.charged"
    RECURRING_PREPAYMENT_CANCELED = "recurring_prepayment.canceled"
    RECURRING_PREPAYMENT_COMPLETED = "recurring_prepayment.completed"
    SUBSCRIPTION_PLAN_CREATED = "subscription_plan.created"
    SUBSCRIPTION_PLAN_UPDATED = "subscription_plan.updated"
    SUBSCRIPTION_PLAN_ARCHIVED = "subscription_plan.archived"
    SUBSCRIPTION_CREATED = "subscription.created"
    SUBSCRIPTION_RENEWED = "subscription.renewed"
    SUBSCRIPTION_PLAN_CHANGED = "subscription.plan_changed"
    SUBSCRIPTION_CANCELLATION_SCHEDULED = "subscription.cancellation_scheduled"
    SUBSCRIPTION_CANCELLATION_REQUESTED = "subscription.cancellation_requested"
    SUBSCRIPTION_CANCELED = "subscription.canceled"
    SUBSCRIPTION_PAYMENT_METHOD_CHANGED = "subscription.payment_method_changed"
    SUBSCRIPTION_STATUS_CHANGED = "subscription.status_changed"
    SUPPORT_TICKET_OPENED = "support_ticket.opened"
    SUPPORT_TICKET_REPLIED = "support_ticket.replied"
    SUPPORT_TICKET_UPDATED = "support_ticket.updated"
    SUPPORT_TICKET_CLOSED = "support_ticket.closed"
    SUPPORT_TICKET_FOLLOWED = "support_ticket.followed"
    SUPPORT_TICKET_UNFOLLOWED = "support_ticket.unfollowed"
    TASK_CREATED = "task.created"
    TASK_UPDATED = "task.updated"
    TASK_STATUS_CHANGED = "task.status_changed"
    TASK_COMMENTED = "task.commented"
    TASK_FOLLOWED = "task.followed"
    TASK_UNFOLLOWED = "task.unfollowed"
    TIME_LOG_CREATED = "time_log.created"
    TIME_LOG_UPDATED = "time_log.updated"
    TIME_LOG_DELETED = "time_log.deleted"
    TIME_LOG_INVOICED = "time_log.invoiced"
    WEBHOOK_CREATED = "webhook.created"
    WEBHOOK_UPDATED = "webhook.updated"
    WEBHOOK_DISABLED = "webhook.disabled"
    WEBHOOK_DELETED = "webhook.deleted"

    @property
    def subject_type(self) -> SubjectType:
        return SubjectType(self.value.split(".", 1)[0])


PARTNER_INVOICE_KINDS = (
    Verb.INVOICE_CREATED,
    Verb.INVOICE_UPDATED,
    Verb.INVOICE_SENT,
    Verb.INVOICE_VIEWED,
    Verb.INVOICE_PAYMENT_APPLIED,
    Verb.INVOICE_PAID,
    Verb.INVOICE_REFUNDED,
    Verb.INVOICE_PAYMENT_REVERSED,
    Verb.INVOICE_VOIDED,
    Verb.INVOICE_OVERDUE,
)
"""The kinds of the ``invoice`` outbox stream, in the README's order."""


class Activity(SQLModel, table=True):
    """``verb`` names what happened (e.g. ``invoice.sent``) to the subject
    (``subject_type``, ``subject_id``); ``actor_kind``/``actor_id`` say who did it."""

    __tablename__ = "activity"
    __table_args__ = (list_order_index("activity"),)

    id: uuid.UUID = id_field()
    account_id: uuid.UUID = account_fk()
    client_id: uuid.UUID | None = Field(default=None, foreign_key="client.id", index=True)
    subject_type: str = Field(max_length=40)
    subject_id: uuid.UUID | None = Field(default=None, index=True)
    verb: str = Field(max_length=40)
    actor_kind: ActorKind = enum_field(ActorKind)
    actor_id: uuid.UUID | None = None
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    visible_to_client: bool = True
    created_at: datetime = created_at_field()
